//! AWS Step Functions adapters.

use aws_config::SdkConfig;
use aws_sdk_sfn::Client;
use tracing::{info, instrument};
use vmpush_domain::ports::{Execution, Executions};
use vmpush_domain::steps::{ErrorKind, StepError};

use crate::aws::classify;

pub mod watch;

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
        format!(
            "{}:{name}",
            self.state_machine_arn
                .replacen(":stateMachine:", ":execution:", 1)
        )
    }

    async fn exists(&self, arn: &str) -> Result<bool, StepError> {
        match self
            .client
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) => {
                let error = classify(&format!("DescribeExecution {arn}"), &e);
                if error.kind == ErrorKind::NotFound {
                    Ok(false)
                } else {
                    Err(error)
                }
            }
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
            .await;
        match started {
            Ok(out) => {
                info!(execution = %out.execution_arn(), "execution started");
                Ok(Execution {
                    arn: out.execution_arn().to_string(),
                    started: true,
                })
            }
            Err(e) => {
                let error = classify(
                    &format!("StartExecution {name} of {}", self.state_machine_arn),
                    &e,
                );
                // A duplicate event won the race: the execution is there, attach to it.
                if error.kind == ErrorKind::Conflict && self.exists(&arn).await? {
                    return Ok(Execution {
                        arn,
                        started: false,
                    });
                }
                Err(error)
            }
        }
    }
}
