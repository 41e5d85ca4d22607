//! SNS notify: the notice of a push, published to the topic.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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

/// An Azure destination in the notice: which disk version went where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeDisk {
    /// Account alias.
    pub account: String,
    /// The offer.
    pub offer: String,
    /// The plan.
    pub plan: String,
    /// The disk version.
    pub disk_version: String,
    /// The blob's URL, without a query (no SAS).
    pub blob_url: Option<String>,
    /// The staged file.
    pub source: String,
    /// The VHD's sha256.
    pub sha256: Option<String>,
    /// `PUSHED`, `NOTPUSHED`, `UPLOADFAILED`.
    pub state: String,
}

/// A destination that was not pushed (for an Azure one, `name` is its file and `region`
/// empty).
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
    /// Azure disk versions, one per destination.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disks: Vec<NoticeDisk>,
    /// Destinations not pushed.
    pub failures: Vec<NoticeFailure>,
    /// Why the whole push failed before any destination (bad input), if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The step's input, as the state machine passes it: where summarize stored the notice (in
/// the results bucket; a notice grows with the push's destinations, the state must not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyRequest {
    /// The key of the notice in the results bucket (`results/<push id>/notice.json`).
    pub notice: String,
    /// Also send one message per failed destination.
    #[serde(default)]
    pub per_failure: bool,
}

/// What the step notifies: the notice itself.
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
