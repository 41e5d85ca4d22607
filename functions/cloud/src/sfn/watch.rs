//! Following a push's executions ([`ExecutionHistory`]): found by push id, described, and
//! read back as task calls — each known by the Task state that made it (the
//! `TaskStateEntered` event its `LambdaFunctionScheduled` follows) and the work-list `id` of
//! its input, never by the function's name, which CloudFormation chooses. A push's uploads
//! run as executions of the upload-flow state machine, named `<push state machine>-upload`
//! (as the template names them).

use std::collections::HashMap;

use aws_config::SdkConfig;
use aws_sdk_sfn::Client;
use aws_sdk_sfn::types::{HistoryEvent, HistoryEventType};
use serde_json::Value;
use snafu::ResultExt;
use vmpush_domain::payloads::TaskFailure;
use vmpush_domain::ports::{Call, CallEnd, ExecutionHistory, ExecutionState};
use vmpush_domain::steps::StepError;

use super::error;
use crate::aws::SdkResultExt;

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

    /// The ARN of the execution called `name`.
    pub fn execution_arn(&self, name: &str) -> String {
        super::execution_arn(&self.state_machine_arn, name)
    }

    /// The ARN of the upload-flow state machine: the push one's, `-upload` appended.
    pub fn flow_machine_arn(&self) -> String {
        format!("{}-upload", self.state_machine_arn)
    }
}

/// Whether an execution name is `<push_id>-<8 hex>`.
fn is_execution_of(name: &str, push_id: &str) -> bool {
    name.strip_prefix(push_id)
        .and_then(|t| t.strip_prefix('-'))
        .is_some_and(|t| t.len() == 8 && t.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The task calls of a history, in order: a `LambdaFunctionScheduled` event opens a call
/// named after the `TaskStateEntered` event before it; its started, succeeded, failed and
/// timed-out events (each pointing back at the previous one) end it.
pub(crate) fn calls_of(events: &[HistoryEvent]) -> Vec<Call> {
    let mut calls: Vec<Call> = Vec::new();
    // event id → the Task state it entered
    let mut entered: HashMap<i64, String> = HashMap::new();
    // event id (scheduled or started) → its call
    let mut by_event: HashMap<i64, usize> = HashMap::new();
    for event in events {
        let call = by_event.get(&event.previous_event_id()).copied();
        match event.r#type() {
            HistoryEventType::TaskStateEntered => {
                if let Some(name) = event.state_entered_event_details().map(|d| d.name()) {
                    entered.insert(event.id(), name.to_string());
                }
            }
            HistoryEventType::LambdaFunctionScheduled => {
                let Some(details) = event.lambda_function_scheduled_event_details() else {
                    continue;
                };
                let Some(state) = entered.get(&event.previous_event_id()) else {
                    continue;
                };
                let input: Value = details
                    .input()
                    .and_then(|i| serde_json::from_str(i).ok())
                    .unwrap_or(Value::Null);
                by_event.insert(event.id(), calls.len());
                calls.push(Call {
                    state: state.clone(),
                    id: input["id"].as_str().map(str::to_string),
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
    calls
}

impl ExecutionHistory for PushWatch {
    async fn find(&self, push_id: &str) -> Result<Option<String>, StepError> {
        let mut pages = self
            .client
            .list_executions()
            .state_machine_arn(&self.state_machine_arn)
            .into_paginator()
            .send();
        let mut latest: Option<(i64, String)> = None;
        while let Some(page) = pages.next().await {
            let page = page.failure().context(error::ListExecutionsSnafu {
                state_machine: &self.state_machine_arn,
            })?;
            for e in page.executions() {
                if is_execution_of(e.name(), push_id) {
                    let started = e.start_date().secs();
                    if latest.as_ref().is_none_or(|(s, _)| started >= *s) {
                        latest = Some((started, e.execution_arn().to_string()));
                    }
                }
            }
        }
        Ok(latest.map(|(_, arn)| arn))
    }

    async fn state(&self, arn: &str) -> Result<ExecutionState, StepError> {
        let out = self
            .client
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .failure()
            .context(error::DescribeExecutionSnafu { arn })?;
        Ok(ExecutionState {
            status: out.status().as_str().to_string(),
            output: out.output().and_then(|o| serde_json::from_str(o).ok()),
            error: out.error().map(str::to_string),
            cause: out.cause().map(str::to_string),
        })
    }

    async fn calls(&self, arn: &str) -> Result<Vec<Call>, StepError> {
        let mut pages = self
            .client
            .get_execution_history()
            .execution_arn(arn)
            .into_paginator()
            .send();
        let mut events = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page
                .failure()
                .context(error::GetExecutionHistorySnafu { arn })?;
            events.extend(page.events().iter().cloned());
        }
        Ok(calls_of(&events))
    }

    fn flow_arn(&self, name: &str) -> String {
        super::execution_arn(&self.flow_machine_arn(), name)
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_sfn::types::{
        LambdaFunctionFailedEventDetails, LambdaFunctionScheduledEventDetails,
        LambdaFunctionSucceededEventDetails, StateEnteredEventDetails,
    };
    use aws_smithy_types::DateTime;

    use super::*;

    fn event(
        id: i64,
        previous: i64,
        kind: HistoryEventType,
    ) -> aws_sdk_sfn::types::builders::HistoryEventBuilder {
        HistoryEvent::builder()
            .id(id)
            .previous_event_id(previous)
            .r#type(kind)
            .timestamp(DateTime::from_secs(0))
    }

    fn entered(id: i64, previous: i64, state: &str) -> HistoryEvent {
        event(id, previous, HistoryEventType::TaskStateEntered)
            .state_entered_event_details(
                StateEnteredEventDetails::builder()
                    .name(state)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    }

    fn scheduled(id: i64, previous: i64, function: &str, input: &str) -> HistoryEvent {
        event(id, previous, HistoryEventType::LambdaFunctionScheduled)
            .lambda_function_scheduled_event_details(
                LambdaFunctionScheduledEventDetails::builder()
                    .resource(format!("arn:aws:lambda:us-east-1:1:function:{function}"))
                    .input(input)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    }

    #[test]
    fn calls_are_known_by_state_and_id_whatever_the_function_is_called() {
        let events = [
            entered(2, 1, "Upload"),
            entered(3, 1, "ImportSnapshotCheck"),
            scheduled(4, 2, "vmpush-UploadFunction-3KX9Q2AB12CD", r#"{"id": "up-1", "bucket": "b"}"#),
            scheduled(5, 3, "vmpush-ImportSnapshotFunction-9ZZ", r#"{"id": "im-1"}"#),
            event(6, 4, HistoryEventType::LambdaFunctionStarted).build().unwrap(),
            event(7, 5, HistoryEventType::LambdaFunctionStarted).build().unwrap(),
            event(8, 7, HistoryEventType::LambdaFunctionFailed)
                .lambda_function_failed_event_details(
                    LambdaFunctionFailedEventDetails::builder()
                        .error("Throttled")
                        .cause(r#"{"errorType": "Throttled", "errorMessage": "DescribeImportSnapshotTasks: slow down"}"#)
                        .build(),
                )
                .build()
                .unwrap(),
            event(9, 6, HistoryEventType::LambdaFunctionSucceeded)
                .lambda_function_succeeded_event_details(
                    LambdaFunctionSucceededEventDetails::builder()
                        .output(r#"{"id": "up-1", "status": "done"}"#)
                        .build(),
                )
                .build()
                .unwrap(),
            // a call whose state is unknown (no TaskStateEntered before it) is left out
            scheduled(10, 1, "any-function", r#"{"id": "up-2"}"#),
        ];
        let calls = calls_of(&events);
        assert_eq!(
            calls,
            [
                Call {
                    state: "Upload".into(),
                    id: Some("up-1".into()),
                    end: Some(CallEnd::Succeeded(
                        serde_json::json!({"id": "up-1", "status": "done"})
                    )),
                },
                Call {
                    state: "ImportSnapshotCheck".into(),
                    id: Some("im-1".into()),
                    end: Some(CallEnd::Failed(
                        "Throttled: DescribeImportSnapshotTasks: slow down".into()
                    )),
                },
            ]
        );
    }

    #[test]
    fn executions_of_a_push_are_named_after_it() {
        assert!(is_execution_of("p1-0a1b2c3d", "p1"));
        assert!(!is_execution_of("p1-0a1b2c3", "p1"));
        assert!(!is_execution_of("p1x-0a1b2c3d", "p1"));
        assert!(!is_execution_of("p1-0a1b2c3g", "p1"));
    }

    #[tokio::test]
    async fn an_upload_flow_execution_is_of_the_push_machine_name_with_upload() {
        let config = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let watch = PushWatch::new(
            &config,
            "arn:aws:states:us-east-1:123456789012:stateMachine:vmpush-push",
        );
        assert_eq!(
            watch.flow_arn("up-000000000001-0123456789abcdef"),
            "arn:aws:states:us-east-1:123456789012:execution:vmpush-push-upload:up-000000000001-0123456789abcdef"
        );
    }
}
