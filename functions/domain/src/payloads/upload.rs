//! Upload: a work-list upload (plus the continuation of an earlier invocation) in, the
//! stored object (or the next continuation) out.

use serde::{Deserialize, Serialize};

use crate::inputs::item::DiskFormat;
use crate::plan::worklist::UploadWork;

/// The step's input: the work item, plus the continuation of an earlier invocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadInput {
    /// What to upload where.
    #[serde(flatten)]
    pub work: UploadWork,
    /// Set when looping on an unfinished upload.
    #[serde(default)]
    pub continuation: Option<Continuation>,
    /// At most this many parts are sent by one invocation (keeps invocations short).
    #[serde(default)]
    pub max_parts: Option<u32>,
}

/// Where an unfinished upload stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Continuation {
    /// The verified sha256 of the source (the object key).
    pub sha256: String,
    /// The multipart upload.
    pub upload_id: String,
    /// Parts stored so far.
    pub parts_stored: u32,
    /// The ETag of the staged file whose sha256 was verified (server-side copies): a file
    /// replaced since fails the copies instead of being stored under the old checksum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_etag: Option<String>,
}

/// `done` or `continue`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UploadStatus {
    /// The object exists.
    Done,
    /// Invoke again with the continuation.
    Continue,
}

/// Parts handled by one invocation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartCounts {
    /// Sent by this invocation.
    pub uploaded: u32,
    /// Copied server-side by this invocation.
    pub copied: u32,
    /// Found stored by an earlier invocation.
    pub reused: u32,
}

/// The step's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadOutput {
    /// The work-list upload's id.
    pub id: String,
    /// Done or continue.
    pub status: UploadStatus,
    /// Account alias.
    pub account: String,
    /// Region of the bucket.
    pub region: String,
    /// The bucket.
    pub bucket: String,
    /// The object key (the source sha256).
    pub key: String,
    /// The source sha256.
    pub sha256: String,
    /// Disk format of the object.
    pub format: DiskFormat,
    /// Whether the object was already there (nothing uploaded).
    pub skipped: bool,
    /// Size of the object once done (`null` when not looked up: every snapshot of the image
    /// existed).
    pub size: Option<u64>,
    /// Part counts of this invocation.
    pub parts: PartCounts,
    /// Set when `status` is `continue`.
    pub continuation: Option<Continuation>,
    /// The object's tags (awspub's source tags), which the snapshots and images carry too.
    pub tags: Vec<(String, String)>,
}
