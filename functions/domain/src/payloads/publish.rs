//! Publish: one destination's AMI, registered, shared and (where planned) public.

use serde::{Deserialize, Serialize};

use crate::plan::PlannedDestination;

/// What an invocation of the step does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PublishAction {
    /// Register (get-or-create by name) and share with the planned accounts, organizations
    /// and groups; never public.
    #[default]
    Share,
    /// Make the registered image public (and its snapshot, where configured): the state
    /// machine asks for it only after RHSM knows the image.
    Release,
}

/// The step's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishInput {
    /// The work-list destination's id.
    pub id: String,
    /// Share (the default) or release.
    #[serde(default)]
    pub action: PublishAction,
    /// The destination, as planned.
    pub destination: PlannedDestination,
    /// The snapshot in the destination's region (copy-regions' output).
    pub snapshot_id: String,
    /// Pre-push: register and share with accounts only, never public.
    #[serde(default)]
    pub pre_push: bool,
    /// Share the snapshot of a public image with everyone too (default: it stays private).
    #[serde(default)]
    pub public_snapshot: bool,
    /// Provenance tags of the AMI and snapshot (besides the destination's own and
    /// `billing_type`).
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    /// For a release: the AMI the share step registered or found (its output's `ami`), so
    /// that the release looks nothing up by name; the share step checked it is this image's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ami: Option<String>,
    /// For a share: what resolve-mapping's survey found of the destination (its AMI, the
    /// region's public sharing block), instead of looking it up again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surveyed: Option<crate::plan::worklist::Surveyed>,
    /// For a share: the snapshot was made by this push's copy, so it is shared with no one yet.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub new_snapshot: bool,
    /// For a share from a new copy: the tags the copy was created with besides its name and
    /// the provenance tags (the work list's `snapshot_tags`); a snapshot carrying every tag of
    /// the AMI is not tagged again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub copy_tags: Vec<(String, String)>,
    /// For a release: whether the share step found the AMI public already.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub public: bool,
}

/// The step's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishOutput {
    /// The work-list destination's id.
    pub id: String,
    /// The AMI.
    pub ami: String,
    /// Its name.
    pub name: String,
    /// Its region.
    pub region: String,
    /// Its snapshot.
    pub snapshot: String,
    /// Whether this run registered it.
    pub created: bool,
    /// Whether it is public.
    pub public: bool,
    /// Whether a release (public) is due once RHSM knows the image; the state machine's
    /// `PublishRelease` runs only then.
    pub release: bool,
    /// Whether an AWS Marketplace version is due once RHSM knows the image (the
    /// `MarketplaceVersion` loop runs only then).
    #[serde(default)]
    pub version: bool,
    /// Accounts, organizations and OUs added to its launch permission by this run.
    pub shared_with: Vec<String>,
    /// Accounts added to the snapshot's create-volume permission by this run.
    pub snapshot_shared_with: Vec<String>,
}
