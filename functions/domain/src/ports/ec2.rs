//! EC2: import tasks and snapshots of one account and region, snapshot copies across regions,
//! and AMIs.

use std::future::Future;

use crate::inputs::item::DiskFormat;
use crate::steps::StepError;

/// An import task as EC2 reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportTask {
    /// `import-snap-...`.
    pub id: String,
    /// `active`, `completed`, `deleting`, `deleted` (or `cancelled`, `error`).
    pub status: String,
    /// The status detail (`converting`, or why it failed).
    pub message: Option<String>,
    /// Progress in percent, while active.
    pub progress: Option<String>,
    /// The snapshot, once completed.
    pub snapshot_id: Option<String>,
}

impl ImportTask {
    /// Whether the task can still produce (or has produced) a snapshot.
    pub(crate) fn alive(&self) -> bool {
        matches!(self.status.as_str(), "active" | "completed")
    }
}

/// What `ImportSnapshot` is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRequest {
    /// The snapshot name (tag `Name` of the task, client token).
    pub name: String,
    /// Bucket of the uploaded image.
    pub bucket: String,
    /// Its key.
    pub key: String,
    /// Its format.
    pub format: DiskFormat,
    /// Tags of the task (and, on completion, of the snapshot), `Name` included.
    pub tags: Vec<(String, String)>,
}

/// EC2 snapshots and import tasks of one account and region.
pub trait Snapshots: Sync {
    /// Own snapshots tagged `Name=<name>` that are pending or completed.
    fn find_snapshots(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Vec<String>, StepError>> + Send;
    /// Import tasks tagged `Name=<name>`.
    fn find_import_tasks(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Vec<ImportTask>, StepError>> + Send;
    /// Starts an import.
    fn start_import(
        &self,
        request: &ImportRequest,
    ) -> impl Future<Output = Result<ImportTask, StepError>> + Send;
    /// One import task.
    fn describe_import(
        &self,
        task_id: &str,
    ) -> impl Future<Output = Result<ImportTask, StepError>> + Send;
    /// Tags a snapshot.
    fn tag_snapshot(
        &self,
        snapshot_id: &str,
        tags: &[(String, String)],
    ) -> impl Future<Output = Result<(), StepError>> + Send;
}

/// A snapshot as EC2 describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotState {
    /// `snap-...`.
    pub id: String,
    /// `pending`, `completed`, `error` (or `recoverable`, `recovering`).
    pub state: String,
    /// Progress in percent.
    pub progress: Option<String>,
    /// Why it failed, when it did.
    pub message: Option<String>,
    /// Its description (a copy's names its source, [`CopyRequest::description`]).
    pub description: Option<String>,
}

/// What `CopySnapshot` is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyRequest {
    /// The region the copy is made in.
    pub region: String,
    /// Region of the imported snapshot.
    pub source_region: String,
    /// The imported snapshot.
    pub source_snapshot_id: String,
    /// Tags of the copy, `Name` first.
    pub tags: Vec<(String, String)>,
    /// Its description, naming the source: what tells a copy of this source from another
    /// snapshot of the name.
    pub description: String,
}

/// Snapshots of one account, in any region.
pub trait RegionSnapshots: Sync {
    /// Own snapshots tagged `Name=<name>` in `region` that are pending or completed.
    fn find(
        &self,
        region: &str,
        name: &str,
    ) -> impl Future<Output = Result<Vec<SnapshotState>, StepError>> + Send;
    /// Starts a copy; returns the new snapshot's id.
    fn copy(&self, request: &CopyRequest)
    -> impl Future<Output = Result<String, StepError>> + Send;
    /// One snapshot.
    fn describe(
        &self,
        region: &str,
        snapshot_id: &str,
    ) -> impl Future<Output = Result<SnapshotState, StepError>> + Send;
    /// Deletes a snapshot (a redundant copy).
    fn delete(
        &self,
        region: &str,
        snapshot_id: &str,
    ) -> impl Future<Output = Result<(), StepError>> + Send;
}

/// An AMI as EC2 describes it (and as resolve-mapping's survey carries it in the work list).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Image {
    /// `ami-...`.
    pub id: String,
    /// `pending`, `available`, `failed`...
    pub state: String,
    /// The snapshot of its root volume (`None` when EC2 shows none).
    pub snapshot_id: Option<String>,
    /// Whether everyone may launch it (EC2's `Public`).
    pub public: bool,
}

/// What `RegisterImage` is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterRequest {
    /// AMI name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// `x86_64` or `arm64`.
    pub architecture: String,
    /// `hvm`.
    pub virtualization: String,
    /// Root device name.
    pub root_device: String,
    /// The root snapshot.
    pub snapshot_id: String,
    /// EBS volume type of the root device.
    pub volume_type: Option<String>,
    /// ENA support.
    pub ena_support: Option<bool>,
    /// SR-IOV (`simple`).
    pub sriov_net_support: Option<String>,
    /// `uefi-preferred`, `uefi`, `legacy-bios`.
    pub boot_mode: Option<String>,
    /// Billing product codes.
    pub billing_products: Vec<String>,
    /// NitroTPM (`v2.0`).
    pub tpm_support: Option<String>,
    /// Instance metadata service version required (`v2.0`).
    pub imds_support: Option<String>,
    /// UEFI variable store (base64), for UEFI Secure Boot.
    pub uefi_data: Option<String>,
    /// Root volume size in GiB (default: the snapshot's size).
    pub root_volume_size: Option<u32>,
    /// Tags of the AMI, set at creation.
    pub tags: Vec<(String, String)>,
}

/// What `RegisterImage` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registered {
    /// The new AMI.
    Created(String),
    /// `InvalidAMIName.Duplicate`: an AMI of that name appeared meanwhile.
    Duplicate,
}

/// Who may launch an image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LaunchPermissions {
    /// Account ids.
    pub users: Vec<String>,
    /// Groups (`all` = public).
    pub groups: Vec<String>,
    /// Organization ARNs.
    pub organizations: Vec<String>,
    /// Organizational-unit ARNs.
    pub organizational_units: Vec<String>,
}

impl LaunchPermissions {
    /// Whether it grants nothing.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
            && self.groups.is_empty()
            && self.organizations.is_empty()
            && self.organizational_units.is_empty()
    }

    /// Whether it grants accounts alone: no group, organization or OU (what `DescribeImages`'
    /// `ExecutableUsers` can tell).
    pub fn accounts_only(&self) -> bool {
        self.groups.is_empty()
            && self.organizations.is_empty()
            && self.organizational_units.is_empty()
    }

    /// What `self` grants that `current` does not.
    pub fn missing_from(&self, current: &LaunchPermissions) -> LaunchPermissions {
        let missing = |want: &[String], have: &[String]| -> Vec<String> {
            want.iter().filter(|w| !have.contains(w)).cloned().collect()
        };
        LaunchPermissions {
            users: missing(&self.users, &current.users),
            groups: missing(&self.groups, &current.groups),
            organizations: missing(&self.organizations, &current.organizations),
            organizational_units: missing(
                &self.organizational_units,
                &current.organizational_units,
            ),
        }
    }
}

/// AMIs and snapshots of one account in one region.
pub trait Images: Sync {
    /// Own AMIs named `name` (not deregistered).
    fn find(&self, name: &str) -> impl Future<Output = Result<Vec<Image>, StepError>> + Send;
    /// Registers an AMI.
    fn register(
        &self,
        request: &RegisterRequest,
    ) -> impl Future<Output = Result<Registered, StepError>> + Send;
    /// Tags a snapshot.
    fn tag_snapshot(
        &self,
        snapshot_id: &str,
        tags: &[(String, String)],
    ) -> impl Future<Output = Result<(), StepError>> + Send;
    /// The image's launch permissions.
    fn launch_permissions(
        &self,
        image_id: &str,
    ) -> impl Future<Output = Result<LaunchPermissions, StepError>> + Send;
    /// Adds launch permissions.
    fn add_launch_permissions(
        &self,
        image_id: &str,
        add: &LaunchPermissions,
    ) -> impl Future<Output = Result<(), StepError>> + Send;
    /// Accounts with create-volume permission on a snapshot.
    fn volume_permissions(
        &self,
        snapshot_id: &str,
    ) -> impl Future<Output = Result<Vec<String>, StepError>> + Send;
    /// Adds create-volume permissions.
    fn add_volume_permissions(
        &self,
        snapshot_id: &str,
        users: &[String],
    ) -> impl Future<Output = Result<(), StepError>> + Send;
    /// Whether the region's image block public access blocks new public sharing.
    fn public_sharing_blocked(&self) -> impl Future<Output = Result<bool, StepError>> + Send;
}

/// The most values EC2 takes in one filter.
pub const MAX_FILTER_VALUES: usize = 200;

/// Batched look-ups of what exists in one account and region: one call for many names, where
/// each destination's step would otherwise look up its own.
pub trait RegionSurvey: Sync {
    /// Own AMIs (not deregistered) named any of `names`, with their names: every page, the
    /// names in filters of at most [`MAX_FILTER_VALUES`].
    fn images_named(
        &self,
        names: &[String],
    ) -> impl Future<Output = Result<Vec<(String, Image)>, StepError>> + Send;
    /// Whether the region's image block public access blocks new public sharing.
    fn sharing_blocked(&self) -> impl Future<Output = Result<bool, StepError>> + Send;
    /// Own snapshots tagged `Name=` any of `names` that are pending or completed, with their
    /// names: every page, the names in filters of at most [`MAX_FILTER_VALUES`].
    fn snapshots_named(
        &self,
        names: &[String],
    ) -> impl Future<Output = Result<Vec<(String, SnapshotState)>, StepError>> + Send;
    /// Of the own AMIs `image_ids`, those `user` (an account id) may launch by an explicit
    /// launch permission (not by their being public, nor through an organization): every page,
    /// the ids in filters of at most [`MAX_FILTER_VALUES`].
    fn launchable_by(
        &self,
        image_ids: &[String],
        user: &str,
    ) -> impl Future<Output = Result<Vec<String>, StepError>> + Send;
    /// Of the own snapshots `snapshot_ids`, those `user` (an account id) may create volumes
    /// from: every page, the ids in filters of at most [`MAX_FILTER_VALUES`].
    fn restorable_by(
        &self,
        snapshot_ids: &[String],
        user: &str,
    ) -> impl Future<Output = Result<Vec<String>, StepError>> + Send;
}

/// The surveys of a push's accounts, each region as its account.
pub trait Surveys: Sync {
    /// One account's survey of one region.
    type Region: RegionSurvey + Send;
    /// The survey of `region` as `account`.
    fn region(
        &self,
        account: &str,
        region: &str,
    ) -> impl Future<Output = Result<Self::Region, StepError>> + Send;
}
