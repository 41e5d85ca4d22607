//! The Step Functions adapters' errors: one variant per call, naming the operation and the
//! execution or state machine, over the [`SdkFailure`] AWS answered; converted to a
//! [`StepError`] once, here.

use snafu::Snafu;
use vmpush_domain::steps::{ErrorKind, StepError};

use crate::aws::{SdkFailure, step_error};

/// A failed Step Functions call.
#[derive(Debug, Snafu)]
#[snafu(visibility(pub(super)))]
pub(super) enum Error {
    #[snafu(display("DescribeExecution {arn}: {source}"))]
    DescribeExecution { arn: String, source: SdkFailure },

    #[snafu(display("StartExecution {name} of {state_machine}: {source}"))]
    StartExecution {
        name: String,
        state_machine: String,
        source: SdkFailure,
    },

    #[snafu(display("ListExecutions {state_machine}: {source}"))]
    ListExecutions {
        state_machine: String,
        source: SdkFailure,
    },

    #[snafu(display("GetExecutionHistory {arn}: {source}"))]
    GetExecutionHistory { arn: String, source: SdkFailure },
}

impl From<Error> for StepError {
    fn from(error: Error) -> Self {
        step_error(&error, ErrorKind::Fatal)
    }
}
