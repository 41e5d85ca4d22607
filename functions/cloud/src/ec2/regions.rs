//! Snapshots of the account in every region: the copy-regions step's adapter.

use aws_config::SdkConfig;
use aws_sdk_ec2::types::ResourceType;
use snafu::{OptionExt, ResultExt};
use tracing::{info, instrument};
use vmpush_domain::ports::{CopyRequest, RegionSnapshots, SnapshotState};
use vmpush_domain::steps::StepError;

use super::{client, error, named_snapshots, tag_specification};
use crate::aws::SdkResultExt;

/// EC2 snapshots of the configuration's account, one client per region.
#[derive(Debug, Clone)]
pub struct Ec2Regions {
    config: SdkConfig,
}

impl Ec2Regions {
    /// Over the SDK configuration.
    pub fn new(config: SdkConfig) -> Self {
        Ec2Regions { config }
    }
}

pub(super) fn state_of(snapshot: &aws_sdk_ec2::types::Snapshot) -> SnapshotState {
    SnapshotState {
        id: snapshot.snapshot_id().unwrap_or_default().to_string(),
        state: snapshot
            .state()
            .map_or("unknown", |s| s.as_str())
            .to_string(),
        progress: snapshot.progress().map(str::to_string),
        message: snapshot
            .state_message()
            .filter(|m| !m.is_empty())
            .map(str::to_string),
        description: snapshot.description().map(str::to_string),
    }
}

impl RegionSnapshots for Ec2Regions {
    #[instrument(skip(self))]
    async fn find(&self, region: &str, name: &str) -> Result<Vec<SnapshotState>, StepError> {
        let client = client(&self.config, region);
        Ok(named_snapshots(&client, name, region)
            .await?
            .iter()
            .map(state_of)
            .collect())
    }

    #[instrument(skip(self, request), fields(region = %request.region))]
    async fn copy(&self, request: &CopyRequest) -> Result<String, StepError> {
        let out = client(&self.config, &request.region)
            .copy_snapshot()
            .source_region(&request.source_region)
            .source_snapshot_id(&request.source_snapshot_id)
            .description(&request.description)
            .tag_specifications(tag_specification(ResourceType::Snapshot, &request.tags))
            .send()
            .await
            .failure()
            .context(error::CopySnapshotSnafu {
                snapshot_id: &request.source_snapshot_id,
                from: &request.source_region,
                region: &request.region,
            })?;
        let id = out
            .snapshot_id()
            .map(str::to_string)
            .context(error::NoSnapshotIdSnafu {
                region: &request.region,
            })?;
        info!(snapshot = %id, "copy started");
        Ok(id)
    }

    #[instrument(skip(self))]
    async fn describe(&self, region: &str, snapshot_id: &str) -> Result<SnapshotState, StepError> {
        let out = client(&self.config, region)
            .describe_snapshots()
            .snapshot_ids(snapshot_id)
            .send()
            .await
            .failure()
            .context(error::DescribeSnapshotSnafu {
                snapshot_id,
                region,
            })?;
        let snapshot = out
            .snapshots()
            .first()
            .context(error::SnapshotMissingSnafu {
                snapshot_id,
                region,
            })?;
        Ok(state_of(snapshot))
    }

    #[instrument(skip(self))]
    async fn delete(&self, region: &str, snapshot_id: &str) -> Result<(), StepError> {
        client(&self.config, region)
            .delete_snapshot()
            .snapshot_id(snapshot_id)
            .send()
            .await
            .failure()
            .context(error::DeleteSnapshotSnafu {
                snapshot_id,
                region,
            })?;
        Ok(())
    }
}
