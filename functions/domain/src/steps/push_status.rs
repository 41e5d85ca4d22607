//! Where each destination of a running push stands, from the work list and the function calls
//! the state machine has made so far (its execution history): waiting, uploading, importing
//! (with the import's percent), copying, publishing, telling RHSM, done or failed. What
//! `vmpush push` and `vmpush status` display.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::plan::worklist::WorkList;

/// One function call of the execution: which function, its input, and how it ended so far.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The function's name (`vmpush-upload`, ...).
    pub function: String,
    /// Its input.
    pub input: Value,
    /// How it ended, if it did.
    pub end: Option<CallEnd>,
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq)]
pub enum CallEnd {
    /// Its output.
    Succeeded(Value),
    /// Its error name and reason.
    Failed(String),
}

/// The step a destination is at; written (and read back) as its display text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
pub enum Step {
    /// Nothing has started for it yet.
    Waiting,
    /// Its image is being uploaded.
    Uploading,
    /// Its snapshot is being imported (percent, when known).
    Importing(Option<String>),
    /// Its snapshot is being copied to its region.
    Copying,
    /// Its AMI is being registered, shared, published.
    Publishing,
    /// RHSM is being told.
    Rhsm,
    /// Its AMI is out.
    Done(String),
    /// A step failed (the state machine may still retry it).
    Failed(String),
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Waiting => f.write_str("waiting"),
            Step::Uploading => f.write_str("uploading"),
            Step::Importing(Some(percent)) => write!(f, "importing {percent}%"),
            Step::Importing(None) => f.write_str("importing"),
            Step::Copying => f.write_str("copying"),
            Step::Publishing => f.write_str("publishing"),
            Step::Rhsm => f.write_str("RHSM"),
            Step::Done(ami) => write!(f, "done {ami}"),
            Step::Failed(reason) => write!(f, "failed: {reason}"),
        }
    }
}

impl From<Step> for String {
    fn from(step: Step) -> String {
        step.to_string()
    }
}

impl From<String> for Step {
    /// The step its display text names (any other text is a failure's reason).
    fn from(text: String) -> Step {
        match text.as_str() {
            "waiting" => return Step::Waiting,
            "uploading" => return Step::Uploading,
            "importing" => return Step::Importing(None),
            "copying" => return Step::Copying,
            "publishing" => return Step::Publishing,
            "RHSM" => return Step::Rhsm,
            _ => {}
        }
        if let Some(percent) = text
            .strip_prefix("importing ")
            .and_then(|t| t.strip_suffix('%'))
        {
            Step::Importing(Some(percent.to_string()))
        } else if let Some(ami) = text.strip_prefix("done ") {
            Step::Done(ami.to_string())
        } else {
            Step::Failed(text.strip_prefix("failed: ").unwrap_or(&text).to_string())
        }
    }
}

/// One destination's line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// AMI name.
    pub name: String,
    /// Region.
    pub region: String,
    /// Destination label.
    pub destination: String,
    /// Where it stands.
    pub step: Step,
}

/// Where a push stands, as `GET /v1/pushes/{id}` answers and `vmpush status` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushStatus {
    /// The push.
    pub push_id: String,
    /// Its (latest) execution.
    pub execution_arn: String,
    /// The execution's status: `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`.
    pub status: String,
    /// The execution's error name, once failed.
    #[serde(default)]
    pub error: Option<String>,
    /// The execution's cause, once failed.
    #[serde(default)]
    pub cause: Option<String>,
    /// Each destination's step (empty until the work list is resolved).
    #[serde(default)]
    pub progress: Vec<Progress>,
    /// The result document, once the push ended.
    #[serde(default)]
    pub result: Option<Value>,
}

impl PushStatus {
    /// Whether the push still runs.
    pub fn running(&self) -> bool {
        self.status == "RUNNING"
    }
}

/// The latest call of `function` whose input matches.
fn latest<'a>(
    calls: &'a [Call],
    function: &str,
    matches: impl Fn(&Value) -> bool,
) -> Option<&'a Call> {
    calls
        .iter()
        .rev()
        .find(|c| c.function == function && matches(&c.input))
}

/// The output of a call that succeeded with `status` (or without one when `status` is empty).
fn finished<'a>(call: Option<&'a Call>, status: &str) -> Option<&'a Value> {
    match &call?.end {
        Some(CallEnd::Succeeded(out)) if status.is_empty() || out["status"] == status => Some(out),
        _ => None,
    }
}

/// A call that failed, or reported its work failed (an import ending `failed`).
fn failed(call: Option<&Call>) -> Option<Step> {
    match &call?.end {
        Some(CallEnd::Failed(reason)) => Some(Step::Failed(reason.clone())),
        Some(CallEnd::Succeeded(out)) if out["status"] == "failed" => Some(Step::Failed(
            out["message"].as_str().unwrap_or("failed").to_string(),
        )),
        _ => None,
    }
}

/// Every destination's step, in [`WorkList::leaves`] order.
pub fn progress(work: &WorkList, calls: &[Call]) -> Vec<Progress> {
    let mut lines = Vec::new();
    for upload in &work.uploads {
        let uploading = latest(calls, "vmpush-upload", |i| {
            i["source_key"] == upload.source_key.as_str() && i["bucket"] == upload.bucket.as_str()
        });
        let uploaded = finished(uploading, "done");
        for import in &upload.imports {
            let importing = uploaded.and_then(|u| {
                latest(calls, "vmpush-import-snapshot", |i| {
                    i["bucket"] == u["bucket"]
                        && i["key"] == u["key"]
                        && i["billing_codes"] == serde_json::json!(import.billing_codes)
                })
            });
            let imported = finished(importing, "completed");
            for copy in &import.copies {
                let copying = imported.and_then(|m| {
                    latest(calls, "vmpush-copy-regions", |i| {
                        i["snapshot_name"] == m["snapshot_name"]
                            && i["regions"] == serde_json::json!([copy.region])
                    })
                });
                let copied = finished(copying, "completed");
                for d in &copy.destinations {
                    let planned = &d.destination;
                    let name = planned
                        .ami_name
                        .clone()
                        .unwrap_or(planned.image_name.clone());
                    let same = |i: &Value| {
                        i["destination"]["destination"] == planned.destination.as_str()
                            && i["destination"]["region"] == copy.region.as_str()
                            && i["destination"]["ami_name"] == name.as_str()
                    };
                    let publishing = copied.and(latest(calls, "vmpush-publish", same));
                    let published = finished(publishing, "");
                    let telling = published.and(latest(calls, "vmpush-rhsm-update", same));
                    let step = if let Some(out) = finished(telling, "") {
                        Step::Done(out["ami"].as_str().unwrap_or_default().to_string())
                    } else if let Some(f) = failed(telling)
                        .or_else(|| failed(publishing))
                        .or_else(|| failed(copying))
                        .or_else(|| failed(importing))
                        .or_else(|| failed(uploading))
                    {
                        f
                    } else if published.is_some() {
                        Step::Rhsm
                    } else if copied.is_some() {
                        Step::Publishing
                    } else if imported.is_some() {
                        Step::Copying
                    } else if uploaded.is_some() {
                        Step::Importing(
                            importing
                                .and_then(|c| match &c.end {
                                    Some(CallEnd::Succeeded(out)) => out["progress"].as_str(),
                                    _ => None,
                                })
                                .map(str::to_string),
                        )
                    } else if uploading.is_some() {
                        Step::Uploading
                    } else {
                        Step::Waiting
                    };
                    lines.push(Progress {
                        name,
                        region: copy.region.clone(),
                        destination: planned.destination.clone(),
                        step,
                    });
                }
            }
        }
    }
    lines
}

#[cfg(test)]
mod tests;
