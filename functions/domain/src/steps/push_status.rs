//! Where a push stands (`GET /pushes/{id}`, `vmpush status`): its execution's status, each
//! destination's step while it runs — waiting, uploading, importing (with the import's
//! percent), copying, publishing, telling RHSM, done or failed — and the result document once
//! it ended. Steps are found in the histories of the push's execution and of its uploads'
//! (each upload runs as an execution of its own, named in the work index) by ASL state name
//! and work-list id, whatever the functions are called.

use std::collections::HashMap;

use serde_json::Value;

use crate::payloads::{Progress, PushStatus, Step, WorkIndex, WorkList};
use crate::plan::stored;
use crate::ports::{Call, CallEnd, ExecutionHistory, ObjectReader};
use crate::steps::{ErrorKind, StepError, states};

/// The result documents are read up to this size.
const MAX_RESULT_BYTES: u64 = 64 << 20;

/// The calls of a history by the node they name, in order: a push of 1,000 destinations makes
/// tens of thousands, looked up ten times per destination.
struct ByNode<'a>(HashMap<&'a str, Vec<&'a Call>>);

impl<'a> ByNode<'a> {
    fn of(calls: &'a [Call]) -> Self {
        let mut by_node: HashMap<&str, Vec<&Call>> = HashMap::new();
        for call in calls {
            if let Some(id) = call.id.as_deref() {
                by_node.entry(id).or_default().push(call);
            }
        }
        ByNode(by_node)
    }

    /// The latest call made by one of `states` for the node `id`.
    fn latest(&self, states: &[&str], id: &str) -> Option<&'a Call> {
        self.0
            .get(id)?
            .iter()
            .rev()
            .find(|c| states.contains(&c.state.as_str()))
            .copied()
    }
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

/// The work list's index, from the latest successful `ResolveMapping` call.
pub fn work_index(calls: &[Call]) -> Option<WorkIndex> {
    calls.iter().rev().find_map(|c| match &c.end {
        Some(CallEnd::Succeeded(out)) if c.state == states::RESOLVE_MAPPING => {
            serde_json::from_value(out.clone()).ok()
        }
        _ => None,
    })
}

/// Every destination's step, in [`WorkList::leaves`] order, then the Azure ones'.
pub fn progress(work: &WorkList, calls: &[Call]) -> Vec<Progress> {
    let by_node = ByNode::of(calls);
    let mut lines = Vec::new();
    for upload in &work.uploads {
        let uploading = by_node.latest(&[states::UPLOAD], &upload.id);
        let uploaded = finished(uploading, "done");
        for import in &upload.imports {
            let importing = uploaded.and(by_node.latest(
                &[states::IMPORT_SNAPSHOT, states::IMPORT_SNAPSHOT_CHECK],
                &import.id,
            ));
            let imported = finished(importing, "completed");
            for copy in &import.copies {
                let copying = imported.and(by_node.latest(
                    &[states::COPY_REGIONS, states::COPY_REGIONS_CHECK],
                    &copy.id,
                ));
                let copied = finished(copying, "completed");
                for d in &copy.destinations {
                    let planned = &d.destination;
                    let name = planned
                        .ami_name
                        .clone()
                        .unwrap_or(planned.image_name.clone());
                    let publishing = copied.and(by_node.latest(&[states::PUBLISH], &d.id));
                    let published = finished(publishing, "");
                    let telling = published.and(by_node.latest(&[states::RHSM_UPDATE], &d.id));
                    let told = finished(telling, "");
                    // a public image is released after RHSM knows it
                    let release_due = published.is_some_and(|out| out["release"] == true);
                    let releasing = if release_due {
                        told.and(by_node.latest(&[states::PUBLISH_RELEASE], &d.id))
                    } else {
                        None
                    };
                    // a Marketplace destination becomes a product version after RHSM
                    let version_due = published.is_some_and(|out| out["version"] == true);
                    let versioning = told.and(by_node.latest(
                        &[
                            states::MARKETPLACE_VERSION,
                            states::MARKETPLACE_VERSION_CHECK,
                        ],
                        &d.id,
                    ));
                    let done = if release_due {
                        finished(releasing, "")
                    } else if version_due {
                        finished(versioning, "done")
                    } else {
                        told
                    };
                    let step = if let Some(out) = done {
                        // a version's output names no AMI: the published one is it
                        let ami = out["ami"]
                            .as_str()
                            .or_else(|| published.and_then(|p| p["ami"].as_str()));
                        Step::Done(ami.unwrap_or_default().to_string())
                    } else if let Some(f) = failed(versioning)
                        .or_else(|| failed(releasing))
                        .or_else(|| failed(telling))
                        .or_else(|| failed(publishing))
                        .or_else(|| failed(copying))
                        .or_else(|| failed(importing))
                        .or_else(|| failed(uploading))
                    {
                        f
                    } else if told.is_some() {
                        Step::Publishing
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
    lines.extend(azure_progress(work, &by_node));
    lines
}

/// Every Azure destination's step, in [`WorkList::azure_leaves`] order (`region` is its
/// account; `done` names its disk version).
fn azure_progress(work: &WorkList, by_node: &ByNode) -> Vec<Progress> {
    work.azure_leaves()
        .map(|(upload, _, d)| {
            let uploading = by_node.latest(&[states::AZURE_UPLOAD], &upload.id);
            let uploaded = finished(uploading, "done");
            let publishing = uploaded
                .and(by_node.latest(&[states::AZURE_PUBLISH, states::AZURE_PUBLISH_CHECK], &d.id));
            let step = if let Some(out) = finished(publishing, "done") {
                Step::Done(out["disk_version"].as_str().unwrap_or_default().to_string())
            } else if let Some(f) = failed(publishing).or_else(|| failed(uploading)) {
                f
            } else if publishing.is_some() {
                Step::Publishing
            } else if uploaded.is_some() {
                Step::Waiting
            } else if uploading.is_some() {
                Step::Uploading
            } else {
                Step::Waiting
            };
            Progress {
                name: upload.blob.clone(),
                region: d.destination.account.clone(),
                destination: d.destination.destination.clone(),
                step,
            }
        })
        .collect()
}

/// The calls of an execution, none when it has not started yet.
async fn calls_of<H: ExecutionHistory>(history: &H, arn: &str) -> Result<Vec<Call>, StepError> {
    match history.calls(arn).await {
        Err(e) if e.kind == ErrorKind::NotFound => Ok(Vec::new()),
        other => other,
    }
}

/// Every destination's step: the work list the index names (read from the results bucket)
/// and the calls of the push's execution and of its uploads' executions.
async fn progress_of<H: ExecutionHistory, R: ObjectReader>(
    history: &H,
    results: &R,
    results_bucket: &str,
    mut calls: Vec<Call>,
) -> Result<Vec<Progress>, StepError> {
    let Some(index) = work_index(&calls) else {
        return Ok(Vec::new());
    };
    let work: WorkList = stored::load(results, results_bucket, &index).await?;
    for upload in &index.uploads {
        calls.extend(calls_of(history, &history.flow_arn(&upload.execution)).await?);
    }
    Ok(progress(&work, &calls))
}

/// Where the push of an execution stands, and its result once it ended (the document in the
/// results bucket; the execution's output is only its verdict).
pub async fn report<H: ExecutionHistory, R: ObjectReader>(
    history: &H,
    results: &R,
    results_bucket: &str,
    push_id: &str,
    execution_arn: &str,
) -> Result<PushStatus, StepError> {
    let state = history.state(execution_arn).await?;
    let calls = history.calls(execution_arn).await?;
    let progress = progress_of(history, results, results_bucket, calls).await?;
    let result = if state.running() {
        None
    } else {
        let key = format!("results/{push_id}/result.json");
        match results
            .read_small(results_bucket, &key, MAX_RESULT_BYTES)
            .await
        {
            Ok(bytes) => serde_json::from_slice(&bytes).ok(),
            Err(e) if e.kind == ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        }
    };
    Ok(PushStatus {
        push_id: push_id.to_string(),
        execution_arn: execution_arn.to_string(),
        status: state.status,
        error: state.error,
        cause: state.cause,
        progress,
        result,
    })
}

/// The step: where the push `push_id` stands (its latest execution); `NotFound` when it never
/// started, `InvalidInput` for a malformed id.
pub async fn run<H: ExecutionHistory, R: ObjectReader>(
    history: &H,
    results: &R,
    results_bucket: &str,
    push_id: &str,
) -> Result<PushStatus, StepError> {
    if !crate::inputs::push::valid_push_id(push_id) {
        return Err(StepError::invalid(format!(
            "path: {push_id:?} is not a push id (GET /pushes/{{id}})"
        )));
    }
    let arn = history.find(push_id).await?.ok_or_else(|| {
        StepError::new(ErrorKind::NotFound, format!("push {push_id}: no such push"))
    })?;
    report(history, results, results_bucket, push_id, &arn).await
}

#[cfg(test)]
mod tests;
