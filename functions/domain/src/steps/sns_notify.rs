//! The push notification: one SNS message per push (and, when asked, one per failed
//! destination), `MessageStructure=json` with a machine-readable `default` document (push id,
//! workflow, state, per AMI its source sha256 and `regions: {region: {ami, snapshot, state,
//! public}}`, failures with reasons) and a readable `email` summary, plus `MessageAttributes`
//! (`event`, `state`, `workflow`, `product`) for subscription filter policies. A topic that
//! fails does not fail the push: the failure is returned for the result document.

use std::fmt::Write as _;

use serde_json::json;

use crate::payloads::{NotifyInput, NotifyOutput, PushNotice};
use crate::ports::{Attribute, Message, Topic};
use crate::steps::StepError;

/// The readable summary.
pub fn email(notice: &PushNotice) -> String {
    let mut text = format!(
        "Push {} ({}): {}\n",
        notice.push_id, notice.workflow, notice.state
    );
    if let Some(error) = &notice.error {
        let _ = writeln!(text, "\nNothing was pushed: {error}");
    }
    for image in &notice.images {
        let _ = writeln!(
            text,
            "\n{} (sha256 {})",
            image.name,
            image.sha256.as_deref().unwrap_or("unknown")
        );
        for (region, r) in &image.regions {
            let _ = writeln!(
                text,
                "  {region:<16} {:<22} {}{}",
                r.ami.as_deref().unwrap_or("-"),
                r.state,
                if r.public { ", public" } else { "" }
            );
        }
    }
    if !notice.failures.is_empty() {
        text.push_str("\nNot pushed:\n");
        for f in &notice.failures {
            let _ = writeln!(text, "  {} in {}: {}", f.name, f.region, f.reason);
        }
    }
    text
}

fn message(notice: &PushNotice, subject: String) -> Message {
    let mut products: Vec<String> = notice
        .images
        .iter()
        .filter_map(|i| i.product.clone())
        .collect();
    products.sort();
    products.dedup();
    let mut attributes = vec![
        ("event".to_string(), Attribute::Text(notice.event.clone())),
        ("state".to_string(), Attribute::Text(notice.state.clone())),
        (
            "workflow".to_string(),
            Attribute::Text(notice.workflow.clone()),
        ),
    ];
    if !products.is_empty() {
        attributes.push(("product".to_string(), Attribute::List(products)));
    }
    let document = serde_json::to_string(notice).unwrap_or_default();
    Message {
        subject: subject.chars().take(100).collect(),
        body: json!({"default": document, "email": email(notice)}).to_string(),
        attributes,
    }
}

/// The messages of a notice: the push's, then one per failure when asked.
pub fn messages(input: &NotifyInput) -> Vec<Message> {
    let notice = &input.notice;
    let mut all = vec![message(
        notice,
        format!("vmpush: push {} {}", notice.push_id, notice.state),
    )];
    if input.per_failure {
        for failure in &notice.failures {
            let single = PushNotice {
                event: "destination-failed".into(),
                images: notice
                    .images
                    .iter()
                    .filter(|i| i.name == failure.name)
                    .cloned()
                    .collect(),
                failures: vec![failure.clone()],
                ..notice.clone()
            };
            all.push(message(
                &single,
                format!(
                    "vmpush: {} {} in {}",
                    failure.name, failure.state, failure.region
                ),
            ));
        }
    }
    all
}

/// Publishes the messages; throttling and transient errors fail the step (to be retried),
/// any other failure is reported in the output.
pub async fn run<T: Topic>(topic: &T, input: &NotifyInput) -> Result<NotifyOutput, StepError> {
    let mut ids = Vec::new();
    for message in messages(input) {
        match topic.publish(&message).await {
            Ok(id) => ids.push(id),
            Err(e) if e.kind.retryable() => return Err(e),
            Err(e) => {
                return Ok(NotifyOutput {
                    delivered: false,
                    message_ids: ids,
                    error: Some(e.message),
                });
            }
        }
    }
    Ok(NotifyOutput {
        delivered: true,
        message_ids: ids,
        error: None,
    })
}

#[cfg(test)]
mod tests;
