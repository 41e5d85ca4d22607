//! The push notification: one SNS message per push (and, when asked, one per failed
//! destination), `MessageStructure=json` with a machine-readable `default` document (push id,
//! workflow, state, per AMI its source sha256 and `regions: {region: {ami, snapshot, state,
//! public}}`, failures with reasons) and a readable `email` summary, plus `MessageAttributes`
//! (`event`, `state`, `workflow`, `product`) for subscription filter policies. A topic that
//! fails does not fail the push: the failure is returned for the result document.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::ports::{Attribute, Message, Topic};
use crate::steps::StepError;

/// One region of an AMI in the notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeRegion {
    /// The AMI, when registered.
    pub ami: Option<String>,
    /// Its snapshot.
    pub snapshot: Option<String>,
    /// `PUSHED`, `NOTPUSHED`, `UPLOADFAILED`, `SKIPPED`.
    pub state: String,
    /// Whether it is public.
    pub public: bool,
}

/// One AMI name (an image in one billing type) in the notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeImage {
    /// AMI name.
    pub name: String,
    /// The staged file.
    pub source: String,
    /// Its sha256.
    pub sha256: Option<String>,
    /// RHSM product (image group), when any.
    pub product: Option<String>,
    /// Billing type.
    pub billing_type: Option<String>,
    /// Per region.
    pub regions: BTreeMap<String, NoticeRegion>,
}

/// A destination that was not pushed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeFailure {
    /// AMI name.
    pub name: String,
    /// Region.
    pub region: String,
    /// The mapping's destination.
    pub destination: String,
    /// Its state.
    pub state: String,
    /// Why.
    pub reason: String,
}

/// The `default` document of the notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushNotice {
    /// `push-finished` (or `destination-failed` for per-failure messages).
    pub event: String,
    /// Push id.
    pub push_id: String,
    /// Workflow.
    pub workflow: String,
    /// `PUSHED` when every destination is, else `FAILED`.
    pub state: String,
    /// Per AMI name.
    pub images: Vec<NoticeImage>,
    /// Destinations not pushed.
    pub failures: Vec<NoticeFailure>,
    /// Why the whole push failed before any destination (bad input), if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The step's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotifyInput {
    /// The push notice.
    pub notice: PushNotice,
    /// Also send one message per failed destination.
    #[serde(default)]
    pub per_failure: bool,
}

/// The step's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyOutput {
    /// Whether every message was published.
    pub delivered: bool,
    /// Ids of the published messages.
    pub message_ids: Vec<String>,
    /// Why publishing failed.
    pub error: Option<String>,
}

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
