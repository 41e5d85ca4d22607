//! Bringing an imported snapshot to one destination region, get-or-create by the snapshot's
//! name: a snapshot tagged `Name=<name>` in the region is reused (the one resolve-mapping's
//! survey found completed, else one looked up), otherwise `CopySnapshot`
//! starts, tagged at creation with its name, the tags its destinations share and the
//! provenance tags (without a look-up where the survey found the name absent, on the first
//! attempt). `CopySnapshot` takes no client token: a retry after a lost
//! answer (the SDK's, or the state machine's) can start a second copy, so when several copies
//! of this very source carry the name, at `start` or at any `check`, the first by id is kept
//! and the others deleted; snapshots of the name from elsewhere are a conflict. `start` starts it; the state machine then loops `check` with a
//! `Wait` in between. One region per invocation: the state machine maps over an import's
//! regions, so a region that fails (a copy ending in `error`, two snapshots of the name, a
//! denied call) fails only its own subtree, and throttling and transient errors are retried.

use tracing::warn;

use crate::payloads::{CopyAction, CopyInput, CopyOutput, CopyStatus};
use crate::ports::{CopyRequest, RegionSnapshots, SnapshotState};
use crate::steps::pacing::next_wait;
use crate::steps::{ErrorKind, StepError};

/// The output for a snapshot as EC2 describes it; a snapshot that is neither pending nor
/// completed fails the region.
fn settled(
    input: &CopyInput,
    snapshot: &SnapshotState,
    started: bool,
) -> Result<CopyOutput, StepError> {
    let status = match snapshot.state.as_str() {
        "completed" => CopyStatus::Completed,
        "pending" => CopyStatus::Active,
        other => {
            return Err(StepError::new(
                ErrorKind::Fatal,
                format!(
                    "copy of {} to {}: snapshot {} ended {other}{}",
                    input.snapshot_name,
                    input.region,
                    snapshot.id,
                    snapshot
                        .message
                        .as_deref()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                ),
            ));
        }
    };
    Ok(CopyOutput {
        id: input.id.clone(),
        status,
        snapshot_name: input.snapshot_name.clone(),
        region: input.region.clone(),
        snapshot_id: snapshot.id.clone(),
        progress: (status == CopyStatus::Active)
            .then(|| snapshot.progress.clone())
            .flatten(),
        started,
        wait_seconds: None,
    })
}

/// Gets or creates the copy.
async fn start<S: RegionSnapshots>(
    snapshots: &S,
    input: &CopyInput,
) -> Result<CopyOutput, StepError> {
    let region = &input.region;
    if *region == input.source_region {
        return Ok(CopyOutput {
            id: input.id.clone(),
            status: CopyStatus::Completed,
            snapshot_name: input.snapshot_name.clone(),
            region: region.clone(),
            snapshot_id: input.snapshot_id.clone(),
            progress: None,
            started: false,
            wait_seconds: None,
        });
    }
    let name = &input.snapshot_name;
    if let Some(id) = &input.surveyed {
        return Ok(CopyOutput {
            id: input.id.clone(),
            status: CopyStatus::Completed,
            snapshot_name: name.clone(),
            region: region.clone(),
            snapshot_id: id.clone(),
            progress: None,
            started: false,
            wait_seconds: None,
        });
    }
    // the survey saw no snapshot of the name here: a first attempt has nothing to find
    let found = if input.absent && input.attempt == 0 {
        None
    } else {
        ours(snapshots, input).await?
    };
    match found {
        Some(copy) => settled(input, &copy, false),
        None => {
            let tags = copy_tags(name, &input.snapshot_tags, &input.tags);
            let id = snapshots
                .copy(&CopyRequest {
                    region: region.clone(),
                    source_region: input.source_region.clone(),
                    source_snapshot_id: input.snapshot_id.clone(),
                    tags,
                    description: description(input),
                })
                .await?;
            Ok(CopyOutput {
                id: input.id.clone(),
                status: CopyStatus::Active,
                snapshot_name: name.clone(),
                region: region.clone(),
                snapshot_id: id,
                progress: None,
                started: true,
                wait_seconds: None,
            })
        }
    }
}

/// The tags a copy is created with: `Name` first, then the tags its destinations have in
/// common (the work list's `snapshot_tags`, so that publish need not tag a new copy again),
/// then the provenance tags, which win over a destination's tag of the same key.
pub(crate) fn copy_tags(
    name: &str,
    snapshot_tags: &[(String, String)],
    provenance: &[(String, String)],
) -> Vec<(String, String)> {
    let mut tags = vec![("Name".to_string(), name.to_string())];
    let keyed = |k: &str| k == "Name" || provenance.iter().any(|(p, _)| p == k);
    tags.extend(snapshot_tags.iter().filter(|(k, _)| !keyed(k)).cloned());
    tags.extend(provenance.iter().filter(|(k, _)| k != "Name").cloned());
    tags
}

/// The description of a copy: it names the source, which tells a copy of it from another
/// snapshot of the name.
fn description(input: &CopyInput) -> String {
    format!(
        "vmpush copy of {} from {}",
        input.snapshot_id, input.source_region
    )
}

/// The region's snapshot of the name, if any. Several copies of this very source (a lost
/// `CopySnapshot` answer that the SDK or the state machine retried) are one too many: the
/// first by id is kept, the others deleted. Snapshots of the name from elsewhere are a
/// conflict.
async fn ours<S: RegionSnapshots>(
    snapshots: &S,
    input: &CopyInput,
) -> Result<Option<SnapshotState>, StepError> {
    let (region, name) = (&input.region, &input.snapshot_name);
    let description = description(input);
    let mut found = snapshots.find(region, name).await?;
    found.sort_by(|a, b| a.id.cmp(&b.id));
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        [keep, extra @ ..]
            if found
                .iter()
                .all(|s| s.description.as_deref() == Some(description.as_str())) =>
        {
            for copy in extra {
                warn!(%region, snapshot = %copy.id, kept = %keep.id, "a second copy of the source; deleted");
                snapshots.delete(region, &copy.id).await?;
            }
            Ok(Some(keep.clone()))
        }
        many => Err(StepError::new(
            ErrorKind::Conflict,
            format!(
                "{} snapshots are tagged Name={name} in {region}: {}",
                many.len(),
                many.iter()
                    .map(|s| s.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// Runs `start` or `check`; a copy still pending says when to check it next.
pub async fn run<S: RegionSnapshots>(
    snapshots: &S,
    input: &CopyInput,
) -> Result<CopyOutput, StepError> {
    let mut out = step(snapshots, input).await?;
    if out.status == CopyStatus::Active {
        out.wait_seconds = Some(next_wait(&input.pacing, out.progress.as_deref()));
    }
    Ok(out)
}

/// `start` or `check`. `check` follows the region's copy by name (so a second copy made
/// behind the step's back is found and deleted), else, while the listing lags, by its id.
async fn step<S: RegionSnapshots>(
    snapshots: &S,
    input: &CopyInput,
) -> Result<CopyOutput, StepError> {
    match (input.action, &input.copy_snapshot_id) {
        (CopyAction::Check, Some(id)) if input.region != input.source_region => {
            let now = match ours(snapshots, input).await? {
                Some(copy) => copy,
                None => snapshots.describe(&input.region, id).await?,
            };
            settled(input, &now, input.started)
        }
        _ => start(snapshots, input).await,
    }
}

#[cfg(test)]
mod tests;
