//! The push notification: one SNS message per push (and, when asked, one per failed
//! destination), `MessageStructure=json` with a machine-readable `default` document (push id,
//! workflow, state, per AMI its source sha256 and `regions: {region: {ami, snapshot, state,
//! public}}`, failures with reasons) and a readable `email` summary, plus `MessageAttributes`
//! (`event`, `state`, `workflow`, `product`) for subscription filter policies. A topic that
//! fails does not fail the push: the failure is returned for the result document.
//!
//! Each message sent is recorded in the results bucket
//! (`results/<push id>/notified/<sha256 of the message>.json`, with its message id), and a
//! message already recorded for the push is not sent again: a retried step sends only what
//! it had not sent, and a re-run with the same outcome notifies no one twice. (A step that
//! dies between publishing and recording sends that one message again: SNS itself delivers
//! at least once.) The notice is read from the results bucket, where summarize stored it.

use std::fmt::Write as _;

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::payloads::{NotifyInput, NotifyOutput, NotifyRequest, PushNotice};
use crate::ports::{Attribute, Message, ObjectReader, ObjectWriter, Topic};
use crate::steps::{ErrorKind, StepError};

/// Where the messages sent for a push are recorded.
#[derive(Debug)]
pub struct Ledger<'a, O> {
    /// The store.
    pub objects: &'a O,
    /// The results bucket.
    pub bucket: &'a str,
}

/// The record of a message of a push: its key holds the sha256 of everything SNS is sent.
fn record_key(push_id: &str, message: &Message) -> String {
    let mut hasher = Sha256::new();
    hasher.update(message.subject.as_bytes());
    hasher.update([0]);
    hasher.update(message.body.as_bytes());
    for (name, value) in &message.attributes {
        hasher.update([0]);
        hasher.update(name.as_bytes());
        hasher.update(format!("{value:?}").as_bytes());
    }
    format!(
        "results/{push_id}/notified/{}.json",
        crate::hex(&hasher.finalize())
    )
}

impl<O: ObjectReader + ObjectWriter> Ledger<'_, O> {
    /// The id of the message recorded at `key`, if it was sent.
    async fn sent(&self, key: &str) -> Result<Option<String>, StepError> {
        match self.objects.read_small(self.bucket, key, 4096).await {
            Ok(bytes) => Ok(serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| v["message_id"].as_str().map(str::to_string))),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Records that the message of `key` was sent as `id`.
    async fn record(&self, key: &str, id: &str) -> Result<(), StepError> {
        let body = json!({"message_id": id}).to_string().into_bytes();
        self.objects
            .put(self.bucket, key, body, "application/json")
            .await
    }
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
    if !notice.disks.is_empty() {
        text.push_str("\nAzure disk versions:\n");
        for d in &notice.disks {
            let _ = writeln!(
                text,
                "  {}/{} {} on {}: {}",
                d.offer, d.plan, d.disk_version, d.account, d.state
            );
        }
    }
    if !notice.failures.is_empty() {
        text.push_str("\nNot pushed:\n");
        for f in &notice.failures {
            let _ = writeln!(text, "  {} {}: {}", f.name, place(f), f.reason);
        }
    }
    text
}

/// Where a failed destination is: `in <region>`, or `on <offer/plan>` for Azure's.
fn place(failure: &crate::payloads::NoticeFailure) -> String {
    if failure.region.is_empty() {
        format!("on {}", failure.destination)
    } else {
        format!("in {}", failure.region)
    }
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
                disks: notice
                    .disks
                    .iter()
                    .filter(|d| failure.destination == format!("{}/{}", d.offer, d.plan))
                    .cloned()
                    .collect(),
                failures: vec![failure.clone()],
                ..notice.clone()
            };
            all.push(message(
                &single,
                format!(
                    "vmpush: {} {} {}",
                    failure.name,
                    failure.state,
                    place(failure)
                ),
            ));
        }
    }
    all
}

/// Publishes the messages not yet sent for the push, recording each; throttling and
/// transient errors fail the step (to be retried), any other failure is reported in the
/// output.
pub async fn run<T: Topic, O: ObjectReader + ObjectWriter>(
    topic: &T,
    ledger: &Ledger<'_, O>,
    input: &NotifyInput,
) -> Result<NotifyOutput, StepError> {
    let mut ids = Vec::new();
    for message in messages(input) {
        let key = record_key(&input.notice.push_id, &message);
        if let Some(id) = ledger.sent(&key).await? {
            ids.push(id);
            continue;
        }
        match topic.publish(&message).await {
            Ok(id) => {
                ledger.record(&key, &id).await?;
                ids.push(id);
            }
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

/// The notices are read up to this size (SNS takes a message of 256 KiB).
const MAX_NOTICE_BYTES: u64 = 16 << 20;

/// The step as the state machine calls it: the notice stored at `request.notice` of the
/// ledger's bucket, notified as [`run`] does.
pub async fn notify<T: Topic, O: ObjectReader + ObjectWriter>(
    topic: &T,
    ledger: &Ledger<'_, O>,
    request: &NotifyRequest,
) -> Result<NotifyOutput, StepError> {
    let bytes = ledger
        .objects
        .read_small(ledger.bucket, &request.notice, MAX_NOTICE_BYTES)
        .await?;
    let notice: PushNotice = serde_json::from_slice(&bytes).map_err(|e| {
        StepError::invalid(format!(
            "s3://{}/{}: not a push notice: {e}",
            ledger.bucket, request.notice
        ))
    })?;
    let input = NotifyInput {
        notice,
        per_failure: request.per_failure,
    };
    run(topic, ledger, &input).await
}

#[cfg(test)]
mod tests;
