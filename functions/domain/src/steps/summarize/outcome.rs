//! What happened to each destination, as the state machine reports it: its results mirror the
//! work-list tree (uploads → imports → copies → destinations), and a failure caught at any
//! level stands for every destination below it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::plan::worklist::WorkList;
use crate::steps::StepError;

/// The step a destination failed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Uploading the image.
    Upload,
    /// Importing it as a snapshot.
    Import,
    /// Copying the snapshot to the region.
    Copy,
    /// Registering, sharing, publishing.
    Publish,
    /// Telling RHSM.
    Rhsm,
}

/// A failed task as a `Catch` records it (`{"Error", "Cause"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskFailure {
    /// The error name (a function's `errorType`, or `States.*`).
    #[serde(rename = "Error")]
    pub error: String,
    /// The cause: a function's `{"errorType", "errorMessage"}` document, or plain text.
    #[serde(rename = "Cause", default)]
    pub cause: Option<String>,
}

impl TaskFailure {
    /// The one-line reason: the message of the function's error body, else the cause, else
    /// the error name.
    pub fn reason(&self) -> String {
        let Some(cause) = self.cause.as_deref().filter(|c| !c.is_empty()) else {
            return self.error.clone();
        };
        let message = serde_json::from_str::<Value>(cause)
            .ok()
            .and_then(|v| v["errorMessage"].as_str().map(str::to_string));
        let Some(message) = message else {
            return cause.to_string();
        };
        serde_json::from_str::<Value>(&message)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_string))
            .unwrap_or(message)
    }
}

/// What happened to one destination of the work list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// The AMI, once registered.
    #[serde(default)]
    pub ami: Option<String>,
    /// The snapshot in the region.
    #[serde(default)]
    pub snapshot: Option<String>,
    /// The sha256 of the source (the upload's).
    #[serde(default)]
    pub sha256: Option<String>,
    /// Whether the AMI is public.
    #[serde(default)]
    pub public: bool,
    /// Where it failed, when it did.
    #[serde(default)]
    pub failed_at: Option<Stage>,
    /// Why, as text.
    #[serde(default)]
    pub error: Option<String>,
    /// Why, as the state machine caught it.
    #[serde(default)]
    pub failure: Option<TaskFailure>,
}

impl Outcome {
    /// Why it failed, if it did.
    pub fn reason(&self) -> Option<String> {
        self.error
            .clone()
            .or_else(|| self.failure.as_ref().map(TaskFailure::reason))
    }
}

/// A level of the work-list tree: a destination, or the children of an upload, import or copy.
enum Node {
    Leaf,
    Branch(Vec<Node>),
}

impl Node {
    fn leaves(&self) -> usize {
        match self {
            Node::Leaf => 1,
            Node::Branch(children) => children.iter().map(Node::leaves).sum(),
        }
    }
}

/// The outcome of every destination, in [`WorkList::leaves`] order, from the state
/// machine's results: an array per level of the tree, or one outcome for a whole subtree.
pub fn spread(work: &WorkList, results: &Value) -> Result<Vec<Outcome>, StepError> {
    let tree = Node::Branch(
        work.uploads
            .iter()
            .map(|u| {
                Node::Branch(
                    u.imports
                        .iter()
                        .map(|i| {
                            Node::Branch(
                                i.copies
                                    .iter()
                                    .map(|c| {
                                        Node::Branch(
                                            c.destinations.iter().map(|_| Node::Leaf).collect(),
                                        )
                                    })
                                    .collect(),
                            )
                        })
                        .collect(),
                )
            })
            .collect(),
    );
    let mut out = Vec::new();
    walk(&tree, results, "outcomes", &mut out)?;
    Ok(out)
}

fn walk(node: &Node, value: &Value, path: &str, out: &mut Vec<Outcome>) -> Result<(), StepError> {
    match (node, value) {
        (Node::Branch(children), Value::Array(items)) => {
            if children.len() != items.len() {
                return Err(StepError::invalid(format!(
                    "summary: {path}: {} entries for {} in the work list",
                    items.len(),
                    children.len()
                )));
            }
            for (i, (child, item)) in children.iter().zip(items).enumerate() {
                walk(child, item, &format!("{path}[{i}]"), out)?;
            }
            Ok(())
        }
        (_, Value::Object(_)) => {
            let outcome: Outcome = serde_json::from_value(value.clone())
                .map_err(|e| StepError::invalid(format!("summary: {path}: {e}")))?;
            out.extend(std::iter::repeat_n(outcome, node.leaves()));
            Ok(())
        }
        (Node::Leaf, _) => Err(StepError::invalid(format!(
            "summary: {path}: expected an outcome object"
        ))),
        (Node::Branch(_), _) => Err(StepError::invalid(format!(
            "summary: {path}: expected a list or an outcome object"
        ))),
    }
}
