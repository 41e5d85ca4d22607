//! Summarize: the work list and what the state machine reports for each of its nodes in;
//! the result document, where it was written, and the notice out.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::azure_publish::AzurePublishOutput;
use super::marketplace_version::VersionOutput;
use crate::plan::worklist::WorkList;

/// What summarize summarises: the work list and the state machine's results for it, or how
/// resolving the push failed ([`SummaryRequest`] with the stored documents read back).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryInput {
    /// Workflow of the push.
    pub workflow: String,
    /// Push id (needed when there is no work list).
    #[serde(default)]
    pub push_id: Option<String>,
    /// The work list, once resolved.
    #[serde(default)]
    pub work: Option<WorkList>,
    /// The results, as the state machine's nested maps return them: lists of lists of
    /// [`Outcome`]s, each naming the work-list node it stands for by id (a destination, or
    /// an upload, import or copy that failed, standing for every destination below it).
    #[serde(default)]
    pub outcomes: Vec<Outcomes>,
    /// Why the push failed before its work list existed.
    #[serde(default)]
    pub failure: Option<TaskFailure>,
}

/// One destination in the result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestinationResult {
    /// `PUSHED`, `NOTPUSHED`, `UPLOADFAILED`, `SKIPPED`.
    pub state: String,
    /// The AMI.
    pub ami: Option<String>,
    /// Its snapshot.
    pub snapshot: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// AMI name.
    pub name: Option<String>,
    /// The mapping's destination.
    pub destination: Option<String>,
    /// Account alias.
    pub account: Option<String>,
    /// The staged file.
    pub source: String,
    /// Whether the AMI is public.
    pub public: bool,
    /// Why it was not pushed.
    pub error: Option<String>,
    /// What an AWS Marketplace destination's product got.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketplace: Option<MarketplaceResult>,
    /// What an Azure destination's offer got.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure: Option<AzureResult>,
}

/// The disk version of an Azure destination, as the result reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AzureResult {
    /// The offer.
    pub offer: String,
    /// The plan.
    pub plan: String,
    /// The disk version.
    pub disk_version: String,
    /// The blob's URL, without a query (no SAS).
    pub blob_url: String,
    /// Whether the disk was live already (nothing configured or submitted).
    pub existing: bool,
    /// Whether this push changed the plan's technical configuration.
    pub configured: bool,
    /// The targets this push submitted the offer to.
    pub submitted: Vec<String>,
}

/// The product version of an AWS Marketplace destination, as the result reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketplaceResult {
    /// The product entity.
    pub entity: String,
    /// The version title.
    pub title: String,
    /// Whether the version was there already (nothing started for it).
    pub existing: bool,
    /// `AddDeliveryOptions` or `UpdateDeliveryOptions`, when a change set was started.
    pub change_type: Option<String>,
    /// The version's change set.
    pub change_set: Option<String>,
    /// The restriction's change set.
    pub restrict_change_set: Option<String>,
    /// Delivery options restricted.
    pub restricted: Vec<String>,
    /// AMIs of restricted versions, deregistered.
    pub deleted_amis: Vec<String>,
    /// Their snapshots, deleted.
    pub deleted_snapshots: Vec<String>,
}

impl From<&VersionOutput> for MarketplaceResult {
    fn from(v: &VersionOutput) -> Self {
        MarketplaceResult {
            entity: v.entity.clone(),
            title: v.title.clone(),
            existing: v.existing,
            change_type: v.change_type.clone(),
            change_set: v.change_set.clone(),
            restrict_change_set: v.restrict_change_set.clone(),
            restricted: v.restricted.clone(),
            deleted_amis: v.deleted_amis.clone(),
            deleted_snapshots: v.deleted_snapshots.clone(),
        }
    }
}

/// The summarising step's input, as the state machine passes it: the work list's index and
/// the results of its uploads (each upload's stored by its own execution, see
/// [`crate::plan::stored`]), or how resolving the push failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryRequest {
    /// Workflow of the push.
    pub workflow: String,
    /// Push id (needed when there is no work list).
    #[serde(default)]
    pub push_id: Option<String>,
    /// The work list's index, once resolved.
    #[serde(default)]
    pub work: Option<crate::plan::stored::WorkIndex>,
    /// The results: per upload an outcome naming where its execution stored its
    /// subtree's outcomes ([`Outcome::stored`]) or why it failed, then the Azure ones.
    #[serde(default)]
    pub outcomes: Vec<Outcomes>,
    /// Why the push failed before its work list existed.
    #[serde(default)]
    pub failure: Option<TaskFailure>,
}

/// The result document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushResult {
    /// Push id.
    pub push_id: String,
    /// Workflow.
    pub workflow: String,
    /// `PUSHED` when every destination is, else `FAILED`.
    pub state: String,
    /// Per destination, then the skipped ones.
    pub destinations: Vec<DestinationResult>,
    /// awspub's shape: AMI name → region → AMI id (pushed destinations).
    pub images: BTreeMap<String, BTreeMap<String, String>>,
    /// pubtools' push item records, one per destination (`pushitems.jsonl` lines).
    pub pushitems: Vec<Value>,
    /// Why the whole push failed (bad input, before any destination), if it did.
    pub error: Option<String>,
    /// pubtools' `clouds.json` elements, one per destination (written beside the result, not
    /// in it).
    #[serde(skip)]
    pub clouds: Vec<Value>,
}

/// The summarising step's output: where the result went, its verdict, the notice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryOutput {
    /// `s3://<bucket>/results/<push id>/`.
    pub location: String,
    /// The push's state (the execution's output).
    pub verdict: Verdict,
    /// The key of the notice for sns-notify in the results bucket
    /// (`results/<push id>/notice.json`): it grows with the destinations, the state must not.
    pub notice: String,
}

/// How a push ended, in a few fields whatever its size: the execution's output. The
/// result document, per destination, is at `location`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// Push id.
    pub push_id: String,
    /// Workflow.
    pub workflow: String,
    /// `PUSHED` or `FAILED`.
    pub state: String,
    /// Why the whole push failed, if it did.
    pub error: Option<String>,
    /// `s3://<bucket>/results/<push id>/`.
    pub location: String,
}

/// The step a destination failed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Uploading the image.
    Upload,
    /// Importing it as a snapshot.
    Import,
    /// Copying the snapshot to the region.
    Copy,
    /// Registering, sharing, publishing.
    Publish,
    /// Telling RHSM.
    Rhsm,
    /// Making the image public, after RHSM.
    Release,
    /// Publishing it as an AWS Marketplace product version.
    Marketplace,
    /// Publishing it as a disk version of an Azure offer.
    Azure,
}

/// A failed task as a `Catch` records it (`{"Error", "Cause"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskFailure {
    /// The error name (a function's `errorType`, or `States.*`).
    #[serde(rename = "Error")]
    pub error: String,
    /// The cause: Lambda's `{"errorType", "errorMessage"}` document for a function's error
    /// (whose message is plain text), or plain text from the state machine itself.
    #[serde(rename = "Cause", default)]
    pub cause: Option<String>,
}

impl TaskFailure {
    /// The one-line reason: the function's error message, else the cause, else the error
    /// name.
    pub fn reason(&self) -> String {
        let Some(cause) = self.cause.as_deref().filter(|c| !c.is_empty()) else {
            return self.error.clone();
        };
        serde_json::from_str::<Value>(cause)
            .ok()
            .and_then(|v| v["errorMessage"].as_str().map(str::to_string))
            .unwrap_or_else(|| cause.to_string())
    }
}

/// What happened to one node of the work list: a destination, or the upload, import or
/// copy whose failure stands for every destination below it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// The node's id (see [`crate::plan::worklist`]).
    pub id: String,
    /// The AMI, once registered.
    #[serde(default)]
    pub ami: Option<String>,
    /// The snapshot in the region.
    #[serde(default)]
    pub snapshot: Option<String>,
    /// The sha256 of the source (the upload's).
    #[serde(default)]
    pub sha256: Option<String>,
    /// Whether the AMI is public.
    #[serde(default)]
    pub public: bool,
    /// Where it failed, when it did.
    #[serde(default)]
    pub failed_at: Option<Stage>,
    /// Why, as text.
    #[serde(default)]
    pub error: Option<String>,
    /// Why, as the state machine caught it.
    #[serde(default)]
    pub failure: Option<TaskFailure>,
    /// The Marketplace version step's last answer, for Marketplace destinations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketplace: Option<Box<VersionOutput>>,
    /// The Azure publish step's last answer, for Azure destinations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure: Option<Box<AzurePublishOutput>>,
    /// For an upload whose execution ended: the key of its subtree's outcomes in the results
    /// bucket (see [`crate::plan::stored`]), which stand for this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored: Option<String>,
}

impl Outcome {
    /// Why it failed, if it did.
    pub fn reason(&self) -> Option<String> {
        self.error
            .clone()
            .or_else(|| self.failure.as_ref().map(TaskFailure::reason))
    }
}

/// The state machine's results: a map's list of results, or one node's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Outcomes {
    /// The results of a map's iterations.
    Many(Vec<Outcomes>),
    /// One node's outcome.
    One(Outcome),
}

impl Outcomes {
    /// Every outcome, in order.
    pub fn flatten(&self) -> Vec<&Outcome> {
        match self {
            Outcomes::Many(all) => all.iter().flat_map(Outcomes::flatten).collect(),
            Outcomes::One(one) => vec![one],
        }
    }
}
