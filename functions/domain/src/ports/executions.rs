//! Executions of the push state machine: started by name (get-or-create), found by push id,
//! described, and read back as the task calls of their history, with those of the upload-flow
//! executions they start.

use std::future::Future;

use serde_json::Value;

use crate::steps::StepError;

/// An execution of the push state machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Execution {
    /// Its ARN.
    pub arn: String,
    /// Whether this call started it (false: it already existed).
    pub started: bool,
}

/// Starts executions of the push state machine by name, get-or-create.
pub trait Executions: Sync {
    /// Starts the execution `name` with `input`, or returns the existing one of that name.
    fn start(
        &self,
        name: &str,
        input: &str,
    ) -> impl Future<Output = Result<Execution, StepError>> + Send;
}

/// Where an execution stands.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionState {
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`.
    pub status: String,
    /// The output, once succeeded.
    pub output: Option<Value>,
    /// The error name, once failed.
    pub error: Option<String>,
    /// The cause, once failed.
    pub cause: Option<String>,
}

impl ExecutionState {
    /// Whether it still runs.
    pub fn running(&self) -> bool {
        self.status == "RUNNING"
    }

    /// Whether it succeeded.
    pub fn succeeded(&self) -> bool {
        self.status == "SUCCEEDED"
    }
}

/// One task call of an execution's history: the ASL state that made it, the id of the
/// work-list node its input names, and how it ended so far. Whatever the functions are
/// called, this is how a call is known.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The Task state (`Upload`, `ImportSnapshotCheck`, ...).
    pub state: String,
    /// The `id` of its input, when it has one.
    pub id: Option<String>,
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

/// Reads the executions of the push state machine.
pub trait ExecutionHistory: Sync {
    /// The ARN of the latest execution of a push (named `<push-id>-<8 hex>`), if one started.
    fn find(&self, push_id: &str)
    -> impl Future<Output = Result<Option<String>, StepError>> + Send;
    /// The execution's status (and output or error).
    fn state(&self, arn: &str) -> impl Future<Output = Result<ExecutionState, StepError>> + Send;
    /// Its task calls so far, in order (`NotFound` for an execution that does not exist).
    fn calls(&self, arn: &str) -> impl Future<Output = Result<Vec<Call>, StepError>> + Send;
    /// The ARN of the upload-flow execution named `name` (a push runs each upload as one).
    fn flow_arn(&self, name: &str) -> String;
}
