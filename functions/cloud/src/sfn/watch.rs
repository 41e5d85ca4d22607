//! Following a push's execution: found by push id, its status, the function calls of its
//! history (for [`vmpush_domain::steps::push_status`]), and its result document once it ended.

use std::collections::HashMap;

use aws_config::SdkConfig;
use aws_sdk_sfn::Client;
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType};
use serde_json::Value;
use vmpush_domain::plan::worklist::WorkList;
use vmpush_domain::ports::ObjectReader;
use vmpush_domain::steps::push_status::{Call, CallEnd, PushStatus, progress};
use vmpush_domain::steps::summarize::TaskFailure;
use vmpush_domain::steps::{ErrorKind, StepError};

use crate::aws::classify;

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
        self.status == ExecutionStatus::Running.as_str()
    }
}

/// The executions of the push state machine.
#[derive(Debug, Clone)]
pub struct PushWatch {
    client: Client,
    state_machine_arn: String,
}

impl PushWatch {
    /// Executions of `state_machine_arn`.
    pub fn new(config: &SdkConfig, state_machine_arn: impl Into<String>) -> Self {
        PushWatch {
            client: Client::new(config),
            state_machine_arn: state_machine_arn.into(),
        }
    }

    /// The latest execution of a push (named `<push-id>-<digest>`), if one started.
    pub async fn find(&self, push_id: &str) -> Result<Option<String>, StepError> {
        let prefix = format!("{push_id}-");
        let mut pages = self
            .client
            .list_executions()
            .state_machine_arn(&self.state_machine_arn)
            .into_paginator()
            .send();
        let mut latest: Option<(i64, String)> = None;
        while let Some(page) = pages.next().await {
            let page = page
                .map_err(|e| classify(&format!("ListExecutions {}", self.state_machine_arn), &e))?;
            for e in page.executions() {
                let tail = e.name().strip_prefix(&prefix);
                if tail.is_some_and(|t| t.len() == 8 && t.bytes().all(|b| b.is_ascii_hexdigit())) {
                    let started = e.start_date().secs();
                    if latest.as_ref().is_none_or(|(s, _)| started >= *s) {
                        latest = Some((started, e.execution_arn().to_string()));
                    }
                }
            }
        }
        Ok(latest.map(|(_, arn)| arn))
    }

    /// The ARN of the execution called `name`.
    pub fn execution_arn(&self, name: &str) -> String {
        let machine = self
            .state_machine_arn
            .replacen(":stateMachine:", ":execution:", 1);
        format!("{machine}:{name}")
    }

    /// The execution's status (and output or error).
    pub async fn state(&self, arn: &str) -> Result<ExecutionState, StepError> {
        let out = self
            .client
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .map_err(|e| classify(&format!("DescribeExecution {arn}"), &e))?;
        Ok(ExecutionState {
            status: out.status().as_str().to_string(),
            output: out.output().and_then(|o| serde_json::from_str(o).ok()),
            error: out.error().map(str::to_string),
            cause: out.cause().map(str::to_string),
        })
    }

    /// The function calls of the execution so far, in order.
    pub async fn calls(&self, arn: &str) -> Result<Vec<Call>, StepError> {
        let mut pages = self
            .client
            .get_execution_history()
            .execution_arn(arn)
            .into_paginator()
            .send();
        let mut calls = Vec::new();
        // event id (scheduled or started) → its call
        let mut by_event: HashMap<i64, usize> = HashMap::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify(&format!("GetExecutionHistory {arn}"), &e))?;
            for event in page.events() {
                let call = by_event.get(&event.previous_event_id()).copied();
                match event.r#type() {
                    HistoryEventType::LambdaFunctionScheduled => {
                        let Some(details) = event.lambda_function_scheduled_event_details() else {
                            continue;
                        };
                        let function = details.resource().rsplit(':').next().unwrap_or_default();
                        by_event.insert(event.id(), calls.len());
                        calls.push(Call {
                            function: function.to_string(),
                            input: details
                                .input()
                                .and_then(|i| serde_json::from_str(i).ok())
                                .unwrap_or(Value::Null),
                            end: None,
                        });
                    }
                    HistoryEventType::LambdaFunctionStarted => {
                        if let Some(i) = call {
                            by_event.insert(event.id(), i);
                        }
                    }
                    HistoryEventType::LambdaFunctionSucceeded => {
                        if let Some(i) = call {
                            let output = event
                                .lambda_function_succeeded_event_details()
                                .and_then(|d| d.output())
                                .and_then(|o| serde_json::from_str(o).ok())
                                .unwrap_or(Value::Null);
                            calls[i].end = Some(CallEnd::Succeeded(output));
                        }
                    }
                    HistoryEventType::LambdaFunctionFailed => {
                        if let Some(i) = call {
                            let details = event.lambda_function_failed_event_details();
                            let failure = TaskFailure {
                                error: details
                                    .and_then(|d| d.error())
                                    .unwrap_or("failed")
                                    .to_string(),
                                cause: details.and_then(|d| d.cause()).map(str::to_string),
                            };
                            calls[i].end = Some(CallEnd::Failed(format!(
                                "{}: {}",
                                failure.error,
                                failure.reason()
                            )));
                        }
                    }
                    HistoryEventType::LambdaFunctionTimedOut => {
                        if let Some(i) = call {
                            calls[i].end = Some(CallEnd::Failed("timed out".into()));
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(calls)
    }
}

impl PushWatch {
    /// Where the push of an execution stands, and its result once it ended (the execution's
    /// output, else the document in the results bucket).
    pub async fn report<R: ObjectReader>(
        &self,
        push_id: &str,
        execution_arn: &str,
        results: &R,
        results_bucket: &str,
    ) -> Result<PushStatus, StepError> {
        let state = self.state(execution_arn).await?;
        let calls = self.calls(execution_arn).await?;
        let work: Option<WorkList> = calls.iter().find_map(|c| match (&c.function[..], &c.end) {
            ("vmpush-resolve-mapping", Some(CallEnd::Succeeded(out))) => {
                serde_json::from_value(out.clone()).ok()
            }
            _ => None,
        });
        let progress = work.map(|w| progress(&w, &calls)).unwrap_or_default();
        let result = match &state.output {
            _ if state.running() => None,
            Some(output) if state.status == ExecutionStatus::Succeeded.as_str() => {
                Some(output.clone())
            }
            _ => {
                let key = format!("results/{push_id}/result.json");
                match results.read_small(results_bucket, &key, 64 << 20).await {
                    Ok(bytes) => serde_json::from_slice(&bytes).ok(),
                    Err(e) if e.kind == ErrorKind::NotFound => None,
                    Err(e) => return Err(e),
                }
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
}
