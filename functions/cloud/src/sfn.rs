//! AWS Step Functions adapters.

use aws_config::SdkConfig;
use aws_sdk_sfn::Client;
use snafu::IntoError;
use tracing::{info, instrument};
use vmpush_domain::ports::{Execution, Executions};
use vmpush_domain::steps::{ErrorKind, StepError};

use crate::aws::SdkResultExt;

mod error;
pub mod watch;

/// The ARN the execution `name` of the state machine `state_machine_arn` has.
pub(crate) fn execution_arn(state_machine_arn: &str, name: &str) -> String {
    let machine = state_machine_arn.replacen(":stateMachine:", ":execution:", 1);
    format!("{machine}:{name}")
}

/// Starts executions of one state machine, get-or-create by execution name.
#[derive(Debug, Clone)]
pub struct SfnExecutions {
    client: Client,
    state_machine_arn: String,
}

impl SfnExecutions {
    /// Executions of `state_machine_arn`.
    pub fn new(config: &SdkConfig, state_machine_arn: impl Into<String>) -> Self {
        SfnExecutions {
            client: Client::new(config),
            state_machine_arn: state_machine_arn.into(),
        }
    }

    /// The ARN an execution of this state machine has for a name.
    fn execution_arn(&self, name: &str) -> String {
        execution_arn(&self.state_machine_arn, name)
    }

    async fn exists(&self, arn: &str) -> Result<bool, StepError> {
        match self
            .client
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .failure()
        {
            Ok(_) => Ok(true),
            Err(f) if f.kind() == ErrorKind::NotFound => Ok(false),
            Err(f) => Err(error::DescribeExecutionSnafu { arn }.into_error(f).into()),
        }
    }
}

impl Executions for SfnExecutions {
    #[instrument(skip(self, input))]
    async fn start(&self, name: &str, input: &str) -> Result<Execution, StepError> {
        let arn = self.execution_arn(name);
        if self.exists(&arn).await? {
            info!(execution = %arn, "execution exists; not starting another");
            return Ok(Execution {
                arn,
                started: false,
            });
        }
        let started = self
            .client
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(name)
            .input(input)
            .send()
            .await
            .failure();
        match started {
            Ok(out) => {
                info!(execution = %out.execution_arn(), "execution started");
                Ok(Execution {
                    arn: out.execution_arn().to_string(),
                    started: true,
                })
            }
            Err(f) => {
                // A duplicate event won the race: the execution is there, attach to it.
                if f.kind() == ErrorKind::Conflict && self.exists(&arn).await? {
                    return Ok(Execution {
                        arn,
                        started: false,
                    });
                }
                Err(error::StartExecutionSnafu {
                    name,
                    state_machine: &self.state_machine_arn,
                }
                .into_error(f)
                .into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use vmpush_domain::ports::{Execution, Executions};

    use super::*;
    use crate::canned::{always, config, json_error, target};

    const MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:vmpush-push";
    const EXECUTION: &str =
        "arn:aws:states:us-east-1:123456789012:execution:vmpush-push:p1-0a1b2c3d";

    fn described() -> String {
        format!(
            r#"{{"executionArn": "{EXECUTION}", "stateMachineArn": "{MACHINE}", "status": "RUNNING", "startDate": 1.0}}"#
        )
    }

    #[tokio::test]
    async fn each_error_class_is_its_step_error_kind() {
        for (status, code, kind) in [
            (400, "ThrottlingException", ErrorKind::Throttled),
            (500, "InternalServerError", ErrorKind::Transient),
            (400, "StateMachineDoesNotExist", ErrorKind::NotFound),
            (400, "ExecutionLimitExceeded", ErrorKind::Fatal),
        ] {
            let sdk = always(status, &json_error(code)).await;
            let err = SfnExecutions::new(&sdk, MACHINE)
                .start("p1-0a1b2c3d", "{}")
                .await
                .unwrap_err();
            assert_eq!(err.kind, kind, "{code}: {err}");
            assert!(err.message.contains(code), "{err}");
        }
    }

    #[tokio::test]
    async fn a_duplicate_start_attaches_to_the_execution_that_won() {
        // DescribeExecution: missing, then (after StartExecution lost the race) there
        let describes = Arc::new(AtomicUsize::new(0));
        let seen = describes.clone();
        let sdk = config(move |request| match target(request).as_str() {
            "DescribeExecution" if seen.fetch_add(1, Ordering::SeqCst) == 0 => {
                (400, json_error("ExecutionDoesNotExist"))
            }
            "DescribeExecution" => (200, described()),
            "StartExecution" => (400, json_error("ExecutionAlreadyExists")),
            other => panic!("unexpected {other}"),
        })
        .await;
        let execution = SfnExecutions::new(&sdk, MACHINE)
            .start("p1-0a1b2c3d", "{}")
            .await
            .unwrap();
        assert_eq!(
            execution,
            Execution {
                arn: EXECUTION.into(),
                started: false
            }
        );
        assert_eq!(describes.load(Ordering::SeqCst), 2);
    }
}
