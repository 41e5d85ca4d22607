//! Copy regions: the snapshot of an import in one region, one region per invocation (the
//! state machine maps over an import's regions, so each region's destinations go on as soon
//! as its own copy is done, and a failed region is caught on its own).

use serde::{Deserialize, Serialize};

/// `start` or `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CopyAction {
    /// Get or create the copy.
    Start,
    /// Follow the pending copy.
    Check,
}

/// The step's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CopyInput {
    /// The work-list copy's id.
    pub id: String,
    /// `start` or `check`.
    pub action: CopyAction,
    /// Account alias: whose identity copies (the upload's).
    pub account: String,
    /// Region of the imported snapshot.
    pub source_region: String,
    /// The imported snapshot.
    pub snapshot_id: String,
    /// Its name (tag `Name`), shared by its copies.
    pub snapshot_name: String,
    /// The region the copy is made in.
    pub region: String,
    /// Provenance tags of the copy (besides `Name`).
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    /// `start`: the tags every destination of the copy puts on its snapshot (the work list's),
    /// set at creation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snapshot_tags: Vec<(String, String)>,
    /// The copy `start` returned, for `check` (without it, `check` is `start`).
    #[serde(default)]
    pub copy_snapshot_id: Option<String>,
    /// `start`: the completed snapshot of the name resolve-mapping's survey found in the
    /// region (the work list's), taken without a look-up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surveyed: Option<String>,
    /// `start`: the survey found no snapshot of the name in the region (the work list's), so a
    /// first attempt starts without a look-up.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub absent: bool,
    /// `start`: the attempt, from 0 (Step Functions' `$$.State.RetryCount`): a retried attempt
    /// looks up what the first may have started, whatever the survey found.
    #[serde(default, skip_serializing_if = "super::is_zero")]
    pub attempt: u32,
    /// Whether `start` started the copy (echoed).
    #[serde(default)]
    pub started: bool,
    /// How the next check is paced.
    #[serde(default)]
    pub pacing: crate::payloads::Pacing,
}

/// `active` while the copy is pending, `completed` once it is usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CopyStatus {
    /// Check again after a wait.
    Active,
    /// The snapshot is usable in the region.
    Completed,
}

/// The step's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyOutput {
    /// The work-list copy's id.
    pub id: String,
    /// Status.
    pub status: CopyStatus,
    /// The snapshot name.
    pub snapshot_name: String,
    /// The region.
    pub region: String,
    /// The snapshot in the region (the imported one in its own region).
    pub snapshot_id: String,
    /// Progress percent while pending.
    pub progress: Option<String>,
    /// Whether this run started the copy.
    pub started: bool,
    /// While active: how long to wait before the next check, seconds (from the progress
    /// between the last two checks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_seconds: Option<u64>,
}
