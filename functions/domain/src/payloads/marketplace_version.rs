//! Marketplace version: one destination's AMI as a new version of its AWS Marketplace
//! product, over as many invocations as the change sets take.

use serde::{Deserialize, Serialize};

use crate::plan::PlannedDestination;

/// The step's input: the destination, its AMI, and (on every call after the first) what the
/// previous call answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionInput {
    /// The work-list destination's id.
    pub id: String,
    /// The push (its execution name): with the id, what the change sets' idempotency
    /// tokens are derived from.
    pub push_id: String,
    /// The destination, as planned (its `marketplace` says what to publish).
    pub destination: PlannedDestination,
    /// The AMI publish registered (in the destination's account and region).
    pub ami: String,
    /// The previous call's answer; `None` on the first.
    #[serde(default)]
    pub progress: Option<VersionOutput>,
}

/// Which change set the step is at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VersionPhase {
    /// Adding (or updating) the version.
    #[default]
    Version,
    /// Restricting older versions.
    Restrict,
    /// Deleting the restricted versions' AMIs and snapshots (found in the call before, so a
    /// call killed between deregistering an AMI and deleting its snapshot loses neither).
    Retire,
    /// Nothing left to do.
    Done,
}

/// Where the step stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VersionStatus {
    /// Another change set holds the entity: the phase's change set is not started yet.
    #[default]
    Locked,
    /// The phase's change set runs.
    Applying,
    /// Finished: the version exists (and older ones are restricted, where asked).
    Done,
}

/// A restricted version's AMI in the destination's account, and its snapshots.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetiringImage {
    /// `ami-...`.
    pub ami: String,
    /// Its EBS snapshots.
    pub snapshots: Vec<String>,
}

/// The step's output, which the state machine hands back to the next call until `done`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionOutput {
    /// The work-list destination's id.
    pub id: String,
    /// The phase.
    pub phase: VersionPhase,
    /// Where it stands in the phase.
    pub status: VersionStatus,
    /// Whether the state machine's loop ends here.
    pub done: bool,
    /// The product entity.
    pub entity: String,
    /// The version title.
    pub title: String,
    /// `AddDeliveryOptions` or `UpdateDeliveryOptions`; `None` when the version was there.
    #[serde(default)]
    pub change_type: Option<String>,
    /// The version's change set.
    #[serde(default)]
    pub change_set: Option<String>,
    /// The version was already there (its title found): nothing was started for it.
    #[serde(default)]
    pub existing: bool,
    /// The restriction's change set.
    #[serde(default)]
    pub restrict_change_set: Option<String>,
    /// The delivery options restricted.
    #[serde(default)]
    pub restricted: Vec<String>,
    /// The AMIs of the restricted versions.
    #[serde(default)]
    pub restricted_amis: Vec<String>,
    /// The restricted AMIs of the account, with their snapshots, to be deleted.
    #[serde(default)]
    pub retiring: Vec<RetiringImage>,
    /// Those deregistered by this step (the others were gone or not the account's).
    #[serde(default)]
    pub deleted_amis: Vec<String>,
    /// Their snapshots, deleted.
    #[serde(default)]
    pub deleted_snapshots: Vec<String>,
    /// What the step waits for, when it waits (for logs and `vmpush status`).
    #[serde(default)]
    pub waiting_for: Option<String>,
}
