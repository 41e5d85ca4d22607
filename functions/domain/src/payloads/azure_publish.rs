//! Azure publish: one Azure destination (plus the step's last answer) in, how far its disk
//! version got out. The SAS URI Partner Center reads the blob with never travels here: the
//! step asks the storage for it on each call, and the output names the blob URL without a
//! query.

use serde::{Deserialize, Serialize};

use crate::plan::PlannedDestination;

/// The step's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AzurePublishInput {
    /// The work-list destination's id (`ad-…`).
    pub id: String,
    /// The destination, with its [`crate::plan::AzureTarget`].
    pub destination: PlannedDestination,
    /// The blob of its upload, in the destination's container (`bucket`).
    pub blob: String,
    /// What the push request says about Azure offers.
    #[serde(default)]
    pub request: AzureRequestFlags,
    /// The step's last answer, when polling.
    #[serde(default)]
    pub progress: Option<AzurePublishOutput>,
}

/// The push request's Azure flags (the state machine passes the whole request; the rest is
/// ignored).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AzureRequestFlags {
    /// Publish even while the offer has other changes in draft
    /// (`--azure-allow-draft-push`).
    #[serde(default)]
    pub azure_allow_draft_push: bool,
}

/// What the state machine does next.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AzurePublishStatus {
    /// Wait, then call again with this answer.
    #[default]
    Wait,
    /// The disk version is live (or was already).
    Done,
    /// The upload's blob is not there complete: the upload's own outcome stands for this
    /// destination.
    UploadMissing,
}

/// Where the destination's disk version stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AzurePhase {
    /// Find the product and plan, wait out running submissions, check the offer, and
    /// configure the technical configuration unless it has the disk already.
    #[default]
    Resolve,
    /// The technical configuration's `configure` job runs.
    Configure,
    /// The submission to preview.
    Preview,
    /// The submission to live.
    Live,
    /// The blob gets its `release_date` tag.
    Tag,
}

/// The step's answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AzurePublishOutput {
    /// The destination's id.
    pub id: String,
    /// What comes next.
    pub status: AzurePublishStatus,
    /// Where it stands.
    pub phase: AzurePhase,
    /// The offer.
    pub offer: String,
    /// The plan.
    pub plan: String,
    /// The disk version.
    pub disk_version: String,
    /// The blob's URL, without a query.
    pub blob_url: String,
    /// The product's durable id, once found.
    #[serde(default)]
    pub product: Option<String>,
    /// The running `configure` job (technical configuration or submission).
    #[serde(default)]
    pub job: Option<String>,
    /// Whether this push changed the technical configuration.
    #[serde(default)]
    pub configured: bool,
    /// Whether the disk was live already (nothing configured or submitted).
    #[serde(default)]
    pub existing: bool,
    /// The targets this push submitted the offer to, in order.
    #[serde(default)]
    pub submitted: Vec<String>,
    /// Failed submissions of the current phase.
    #[serde(default)]
    pub attempts: u32,
    /// What the step waits for, when it waits.
    #[serde(default)]
    pub waiting_for: Option<String>,
}
