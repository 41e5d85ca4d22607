//! Bringing an imported snapshot to every destination region of its account, all regions at
//! once, get-or-create by the snapshot's name: a snapshot tagged `Name=<name>` in a region is
//! reused, otherwise `CopySnapshot` starts, tagged at creation. `start` starts what is missing;
//! the state machine then loops `check` with a `Wait` in between. Best effort per region: a
//! region that fails is reported with its reason and the others go on; only throttling and
//! transient errors fail the step (to be retried, which is safe).

use std::collections::BTreeMap;

use futures_util::future::join_all;
use serde::{Deserialize, Serialize};

use crate::ports::{CopyRequest, RegionSnapshots, SnapshotState};
use crate::steps::{ErrorKind, StepError};

/// `start` or `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CopyAction {
    /// Get or create a copy in every region.
    Start,
    /// Follow the pending copies.
    Check,
}

/// The step's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CopyInput {
    /// `start` or `check`.
    pub action: CopyAction,
    /// Region of the imported snapshot.
    pub source_region: String,
    /// The imported snapshot.
    pub snapshot_id: String,
    /// Its name (tag `Name`), shared by its copies.
    pub snapshot_name: String,
    /// Destination regions.
    pub regions: Vec<String>,
    /// Provenance tags of the copies (besides `Name`).
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    /// The copies `start` returned, for `check`.
    #[serde(default)]
    pub copies: BTreeMap<String, RegionCopy>,
}

/// Where a region's copy stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CopyState {
    /// Copying.
    Pending,
    /// The snapshot is usable in the region.
    Completed,
    /// The region failed; `error` says why.
    Failed,
}

/// One region's copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionCopy {
    /// State.
    pub state: CopyState,
    /// The snapshot in the region.
    pub snapshot_id: Option<String>,
    /// Progress percent while pending.
    pub progress: Option<String>,
    /// Why the region failed.
    pub error: Option<String>,
    /// Whether this run started the copy.
    pub started: bool,
}

/// `active` while any region is pending, else `completed` (failed regions included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CopyStatus {
    /// Check again after a wait.
    Active,
    /// Every region is completed or failed.
    Completed,
}

/// The step's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyOutput {
    /// Status.
    pub status: CopyStatus,
    /// The snapshot name.
    pub snapshot_name: String,
    /// Per region.
    pub copies: BTreeMap<String, RegionCopy>,
}

impl RegionCopy {
    fn of(snapshot: &SnapshotState, started: bool) -> Self {
        let state = match snapshot.state.as_str() {
            "completed" => CopyState::Completed,
            "pending" => CopyState::Pending,
            _ => CopyState::Failed,
        };
        RegionCopy {
            state,
            snapshot_id: Some(snapshot.id.clone()),
            progress: (state == CopyState::Pending)
                .then(|| snapshot.progress.clone())
                .flatten(),
            error: (state == CopyState::Failed).then(|| {
                format!(
                    "snapshot {} ended {}{}",
                    snapshot.id,
                    snapshot.state,
                    snapshot
                        .message
                        .as_deref()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                )
            }),
            started,
        }
    }

    fn failed(error: String) -> Self {
        RegionCopy {
            state: CopyState::Failed,
            snapshot_id: None,
            progress: None,
            error: Some(error),
            started: false,
        }
    }
}

/// A region's outcome: retryable errors end the step, the others only the region.
fn settle(result: Result<RegionCopy, StepError>) -> Result<RegionCopy, StepError> {
    match result {
        Err(e) if e.kind.retryable() => Err(e),
        Err(e) => Ok(RegionCopy::failed(e.message)),
        ok => ok,
    }
}

/// Gets or creates the copy in one region.
async fn start_one<S: RegionSnapshots>(
    snapshots: &S,
    input: &CopyInput,
    region: &str,
) -> Result<RegionCopy, StepError> {
    if region == input.source_region {
        return Ok(RegionCopy {
            state: CopyState::Completed,
            snapshot_id: Some(input.snapshot_id.clone()),
            progress: None,
            error: None,
            started: false,
        });
    }
    let name = &input.snapshot_name;
    let found = snapshots.find(region, name).await?;
    match found.as_slice() {
        [] => {
            let mut tags = vec![("Name".to_string(), name.clone())];
            tags.extend(input.tags.iter().filter(|(k, _)| k != "Name").cloned());
            let id = snapshots
                .copy(&CopyRequest {
                    region: region.to_string(),
                    source_region: input.source_region.clone(),
                    source_snapshot_id: input.snapshot_id.clone(),
                    tags,
                })
                .await?;
            Ok(RegionCopy {
                state: CopyState::Pending,
                snapshot_id: Some(id),
                progress: None,
                error: None,
                started: true,
            })
        }
        [one] => Ok(RegionCopy::of(one, false)),
        many => Ok(RegionCopy::failed(format!(
            "{} snapshots are tagged Name={name} in {region}: {}",
            many.len(),
            many.iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Follows one region's copy.
async fn check_one<S: RegionSnapshots>(
    snapshots: &S,
    region: &str,
    copy: &RegionCopy,
) -> Result<RegionCopy, StepError> {
    match (&copy.state, &copy.snapshot_id) {
        (CopyState::Pending, Some(id)) => {
            let now = snapshots.describe(region, id).await?;
            Ok(RegionCopy::of(&now, copy.started))
        }
        _ => Ok(copy.clone()),
    }
}

/// Runs `start` or `check`, every region at once.
pub async fn run<S: RegionSnapshots>(
    snapshots: &S,
    input: &CopyInput,
) -> Result<CopyOutput, StepError> {
    let mut regions: Vec<&String> = input.regions.iter().collect();
    regions.sort();
    regions.dedup();
    let results = match input.action {
        CopyAction::Start => {
            join_all(
                regions
                    .iter()
                    .map(|r| async move { settle(start_one(snapshots, input, r).await) }),
            )
            .await
        }
        CopyAction::Check => {
            join_all(regions.iter().map(|r| async move {
                match input.copies.get(r.as_str()) {
                    Some(copy) => settle(check_one(snapshots, r, copy).await),
                    None => settle(start_one(snapshots, input, r).await),
                }
            }))
            .await
        }
    };
    let mut copies = BTreeMap::new();
    for (region, result) in regions.into_iter().zip(results) {
        copies.insert(region.clone(), result?);
    }
    if copies.values().all(|c| c.state == CopyState::Failed) {
        let reasons: Vec<String> = copies
            .iter()
            .map(|(r, c)| format!("{r}: {}", c.error.as_deref().unwrap_or("failed")))
            .collect();
        return Err(StepError::new(
            ErrorKind::Fatal,
            format!(
                "copy of {} ({}) failed in every region: {}",
                input.snapshot_name,
                input.snapshot_id,
                reasons.join("; ")
            ),
        ));
    }
    let status = if copies.values().any(|c| c.state == CopyState::Pending) {
        CopyStatus::Active
    } else {
        CopyStatus::Completed
    };
    Ok(CopyOutput {
        status,
        snapshot_name: input.snapshot_name.clone(),
        copies,
    })
}

#[cfg(test)]
mod tests;
