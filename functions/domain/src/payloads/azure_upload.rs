//! Azure upload: a work-list Azure upload (plus the continuation of an earlier invocation)
//! in, the page blob (or the next continuation) out. No SAS ever travels here: the blob URL
//! is given without a query.

use serde::{Deserialize, Serialize};

use crate::payloads::UploadStatus;
use crate::plan::worklist::AzureUploadWork;

/// The step's input: the work item, plus the continuation of an earlier invocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AzureUploadInput {
    /// What to upload where.
    #[serde(flatten)]
    pub work: AzureUploadWork,
    /// Set when looping on an unfinished upload.
    #[serde(default)]
    pub continuation: Option<AzureContinuation>,
    /// At most this many chunks are written by one invocation (keeps invocations short).
    #[serde(default)]
    pub max_chunks: Option<u32>,
}

/// Where an unfinished upload stands: what the first invocation verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AzureContinuation {
    /// The sha256 of the VHD (the decompressed content).
    pub sha256: String,
    /// The sha256 of the staged file as stored.
    pub file_sha256: String,
    /// The VHD's size in bytes (the blob's).
    pub size: u64,
    /// Bytes of the VHD known written (or all zero) so far, for progress.
    pub offset: u64,
}

/// Chunks handled by one invocation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkCounts {
    /// Written by this invocation.
    pub written: u32,
    /// All zero: never written (a page blob reads zeros where nothing was written).
    pub zero: u32,
    /// Found written by an earlier invocation.
    pub reused: u32,
}

/// The step's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AzureUploadOutput {
    /// The work-list upload's id.
    pub id: String,
    /// Done or continue.
    pub status: UploadStatus,
    /// Account alias.
    pub account: String,
    /// The container.
    pub container: String,
    /// The blob.
    pub blob: String,
    /// The blob's URL, without a query.
    pub url: String,
    /// The sha256 of the VHD.
    pub sha256: String,
    /// The VHD's size in bytes.
    pub size: u64,
    /// Whether the blob was already there (nothing written).
    pub skipped: bool,
    /// Chunk counts of this invocation.
    pub chunks: ChunkCounts,
    /// Set when `status` is `continue`.
    pub continuation: Option<AzureContinuation>,
}
