//! Push status: where a push stands, as `GET /pushes/{id}` answers and `vmpush status`
//! shows it.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

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
    /// Region (an Azure destination's account).
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
