//! Import snapshot: `start` gets or creates the import of an uploaded image, `check` follows
//! it.

use serde::{Deserialize, Serialize};

use crate::inputs::item::DiskFormat;

/// The step's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportInput {
    /// The work-list import's id.
    pub id: String,
    /// `start` or `check`.
    pub action: ImportAction,
    /// Account alias: whose identity imports (the upload's).
    pub account: String,
    /// Region of the bucket (where the snapshot is imported).
    pub region: String,
    /// Bucket of the uploaded image.
    pub bucket: String,
    /// Key of the uploaded image.
    pub key: String,
    /// sha256 of the image's content.
    pub sha256: String,
    /// Disk format.
    pub format: DiskFormat,
    /// Billing codes of the AMIs registered from this snapshot.
    #[serde(default)]
    pub billing_codes: Vec<String>,
    /// Provenance tags (spec A15) for the task and the snapshot.
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    /// The task to check (from `start`).
    #[serde(default)]
    pub task_id: Option<String>,
    /// `start`: the completed snapshot of the name resolve-mapping's survey found (the work
    /// list's), taken without a look-up.
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
    /// How the next check is paced.
    #[serde(default)]
    pub pacing: crate::payloads::Pacing,
}

/// `start` or `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportAction {
    /// Get or create.
    Start,
    /// Report progress; tag the snapshot on completion.
    Check,
}

/// Where an import stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportStatus {
    /// Still converting: check again after a wait.
    Active,
    /// The snapshot exists.
    Completed,
    /// The import failed; `message` says why.
    Failed,
}

/// The step's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportOutput {
    /// The work-list import's id.
    pub id: String,
    /// Status.
    pub status: ImportStatus,
    /// The snapshot name.
    pub snapshot_name: String,
    /// The import task, when there is one.
    pub task_id: Option<String>,
    /// The snapshot, when completed.
    pub snapshot_id: Option<String>,
    /// Progress percent, while active.
    pub progress: Option<String>,
    /// Status detail or failure reason.
    pub message: Option<String>,
    /// Whether this call started a new import.
    pub started: bool,
    /// While active: how long to wait before the next check, seconds (from the progress
    /// between the last two checks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_seconds: Option<u64>,
}
