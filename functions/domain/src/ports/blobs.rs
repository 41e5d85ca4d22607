//! The Azure storage the azure-upload step writes page blobs to: a small trait over Blob
//! service calls, implemented by `vmpush-cloud` over `azure_storage_blob` and, in tests, in
//! memory. No call takes or returns a SAS: the adapter signs its own requests.

use std::future::Future;

use crate::steps::StepError;

/// A blob as the storage describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageBlob {
    /// Its size in bytes (a page blob's is fixed at creation).
    pub size: u64,
    /// Its index tags: set once the upload is complete.
    pub tags: Vec<(String, String)>,
    /// Its metadata (`x-ms-meta-*`), set at creation.
    pub metadata: Vec<(String, String)>,
}

impl PageBlob {
    /// The value of tag `key`.
    pub fn tag(&self, key: &str) -> Option<&str> {
        lookup(&self.tags, key)
    }

    /// The value of metadata `key`.
    pub fn meta(&self, key: &str) -> Option<&str> {
        lookup(&self.metadata, key)
    }
}

fn lookup<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

/// The largest page write the Blob service takes.
pub const MAX_PAGE_WRITE: u64 = 4 * 1024 * 1024;

/// Page blobs are written in pages of this many bytes.
pub const PAGE: u64 = 512;

/// How long a blob's read-only SAS lives (the reference's 1095 days).
pub const READ_SAS_DAYS: u64 = 1095;

/// Containers and page blobs of one storage account.
pub trait PageBlobs: Sync {
    /// Creates `container` unless it exists (race-safe).
    fn ensure_container(
        &self,
        container: &str,
    ) -> impl Future<Output = Result<(), StepError>> + Send;
    /// The blob `name` of `container`, if any, with its tags and metadata.
    fn blob(
        &self,
        container: &str,
        name: &str,
    ) -> impl Future<Output = Result<Option<PageBlob>, StepError>> + Send;
    /// Creates (or replaces) an empty page blob of `size` bytes with `metadata`.
    fn create(
        &self,
        container: &str,
        name: &str,
        size: u64,
        metadata: &[(String, String)],
    ) -> impl Future<Output = Result<(), StepError>> + Send;
    /// The byte ranges `[start, end)` written so far, sorted (all pages).
    fn written_ranges(
        &self,
        container: &str,
        name: &str,
    ) -> impl Future<Output = Result<Vec<(u64, u64)>, StepError>> + Send;
    /// Writes `data` (a multiple of [`PAGE`], at most [`MAX_PAGE_WRITE`]) at `offset` (a
    /// multiple of [`PAGE`]).
    fn write_pages(
        &self,
        container: &str,
        name: &str,
        offset: u64,
        data: Vec<u8>,
    ) -> impl Future<Output = Result<(), StepError>> + Send;
    /// Replaces the blob's index tags.
    fn set_tags(
        &self,
        container: &str,
        name: &str,
        tags: &[(String, String)],
    ) -> impl Future<Output = Result<(), StepError>> + Send;
    /// Deletes the blob.
    fn delete(
        &self,
        container: &str,
        name: &str,
    ) -> impl Future<Output = Result<(), StepError>> + Send;
    /// The blob's URL, without any query (no SAS).
    fn blob_url(&self, container: &str, name: &str) -> String;
    /// The blob's URL with a read-only SAS valid for [`READ_SAS_DAYS`] (the URI Partner
    /// Center copies the disk from). Only the publish step asks for it, and never keeps it
    /// in a state, a log or a result.
    fn read_url(&self, container: &str, name: &str) -> Result<String, StepError>;
}
