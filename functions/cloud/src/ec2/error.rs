//! The EC2 adapters' errors: one variant per call, naming the operation, the resource and the
//! region, over the [`SdkFailure`] AWS answered; converted to a [`StepError`] once, here.

use snafu::Snafu;
use vmpush_domain::steps::{ErrorKind, StepError};

use crate::aws::{SdkFailure, step_error};

/// A failed EC2 call, or an answer missing what it must hold.
#[derive(Debug, Snafu)]
#[snafu(visibility(pub(super)))]
pub(super) enum Error {
    #[snafu(display("DescribeSnapshots tag:Name={name} in {region}: {source}"))]
    FindSnapshots {
        name: String,
        region: String,
        source: SdkFailure,
    },

    #[snafu(display("CreateTags {resource} in {region}: {source}"))]
    CreateTags {
        resource: String,
        region: String,
        source: SdkFailure,
    },

    #[snafu(display("DescribeImportSnapshotTasks tag:Name={name} in {region}: {source}"))]
    FindImportTasks {
        name: String,
        region: String,
        source: SdkFailure,
    },

    #[snafu(display("ImportSnapshot s3://{bucket}/{key} in {region}: {source}"))]
    ImportSnapshot {
        bucket: String,
        key: String,
        region: String,
        source: SdkFailure,
    },

    #[snafu(display("DescribeImportSnapshotTasks {task_id} in {region}: {source}"))]
    DescribeImportTask {
        task_id: String,
        region: String,
        source: SdkFailure,
    },

    #[snafu(display("import task {task_id} not found in {region}"))]
    ImportTaskMissing { task_id: String, region: String },

    #[snafu(display("DescribeImages {name} in {region}: {source}"))]
    DescribeImages {
        name: String,
        region: String,
        source: SdkFailure,
    },

    #[snafu(display("RegisterImage {name} in {region}: {source}"))]
    RegisterImage {
        name: String,
        region: String,
        source: SdkFailure,
    },

    #[snafu(display("RegisterImage {name} in {region}: no image id"))]
    NoImageId { name: String, region: String },

    #[snafu(display("DescribeImageAttribute {image_id} in {region}: {source}"))]
    DescribeImageAttribute {
        image_id: String,
        region: String,
        source: SdkFailure,
    },

    #[snafu(display("ModifyImageAttribute {image_id} in {region}: {source}"))]
    ModifyImageAttribute {
        image_id: String,
        region: String,
        source: SdkFailure,
    },

    #[snafu(display("DescribeSnapshotAttribute {snapshot_id} in {region}: {source}"))]
    DescribeSnapshotAttribute {
        snapshot_id: String,
        region: String,
        source: SdkFailure,
    },

    #[snafu(display("ModifySnapshotAttribute {snapshot_id} in {region}: {source}"))]
    ModifySnapshotAttribute {
        snapshot_id: String,
        region: String,
        source: SdkFailure,
    },

    #[snafu(display("GetImageBlockPublicAccessState in {region}: {source}"))]
    PublicAccessState { region: String, source: SdkFailure },

    #[snafu(display("CopySnapshot {snapshot_id} from {from} to {region}: {source}"))]
    CopySnapshot {
        snapshot_id: String,
        from: String,
        region: String,
        source: SdkFailure,
    },

    #[snafu(display("CopySnapshot to {region}: no snapshot id"))]
    NoSnapshotId { region: String },

    #[snafu(display("DescribeSnapshots {snapshot_id} in {region}: {source}"))]
    DescribeSnapshot {
        snapshot_id: String,
        region: String,
        source: SdkFailure,
    },

    #[snafu(display("snapshot {snapshot_id} not found in {region}"))]
    SnapshotMissing { snapshot_id: String, region: String },

    #[snafu(display("DeleteSnapshot {snapshot_id} in {region}: {source}"))]
    DeleteSnapshot {
        snapshot_id: String,
        region: String,
        source: SdkFailure,
    },

    #[snafu(display("DescribeImages {image_id} in {region}: {source}"))]
    DescribeImage {
        image_id: String,
        region: String,
        source: SdkFailure,
    },

    #[snafu(display(
        "DescribeImages ExecutableUsers={user} ({images} AMIs) in {region}: {source}"
    ))]
    DescribeLaunchable {
        user: String,
        images: usize,
        region: String,
        source: SdkFailure,
    },

    #[snafu(display(
        "DescribeSnapshots RestorableByUserIds={user} ({snapshots} snapshots) in {region}: {source}"
    ))]
    DescribeRestorable {
        user: String,
        snapshots: usize,
        region: String,
        source: SdkFailure,
    },

    #[snafu(display("DeregisterImage {image_id} in {region}: {source}"))]
    DeregisterImage {
        image_id: String,
        region: String,
        source: SdkFailure,
    },
}

impl From<Error> for StepError {
    fn from(error: Error) -> Self {
        let own = match error {
            Error::ImportTaskMissing { .. } | Error::SnapshotMissing { .. } => ErrorKind::NotFound,
            _ => ErrorKind::Fatal,
        };
        step_error(&error, own)
    }
}
