//! The object store the upload step writes to: a small trait over S3's bucket and multipart
//! calls, implemented by `vmpush-cloud` and, in tests, in memory.

use std::future::Future;

use tokio::io::AsyncRead;

use crate::steps::StepError;

/// A byte stream read from the store.
pub type Reader = Box<dyn AsyncRead + Send + Unpin>;

/// What creating a bucket found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketCreated {
    /// This call created it.
    Created,
    /// It already belongs to us (`BucketAlreadyOwnedByYou`: another invocation won the race).
    AlreadyOwned,
}

/// An object as the store describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    /// Size in bytes.
    pub size: u64,
    /// The source sha256 recorded when vmpush uploaded it (metadata `sha256`).
    pub sha256: Option<String>,
}

/// A staged file as the store describes it: one version of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceObject {
    /// Size in bytes.
    pub size: u64,
    /// Its ETag: copies made under it fail once the file is replaced.
    pub etag: String,
}

/// An unfinished multipart upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingUpload {
    /// Its upload id.
    pub id: String,
    /// When it was started (RFC 3339), to pick the oldest deterministically.
    pub initiated: String,
}

/// One multipart upload of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Multipart {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// Upload id.
    pub upload_id: String,
}

/// What a new object carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewObject {
    /// The source sha256 (metadata `sha256`), which makes later uploads skip.
    pub sha256: String,
    /// Object tags.
    pub tags: Vec<(String, String)>,
    /// Whether parts carry SHA-256 checksums (streamed uploads; copied parts do not).
    pub checksums: bool,
}

/// Staged files, as every upload (S3 or Azure) reads them.
pub trait StagedFiles: Sync {
    /// The size and version of a staged file.
    fn source(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<SourceObject, StepError>> + Send;
    /// Reads a whole staged file.
    fn read(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<Reader, StepError>> + Send;
}

/// Buckets, objects and multipart uploads of one account.
pub trait ObjectStore: StagedFiles {
    /// Whether `bucket` exists and is ours (`HeadBucket`: no `s3:ListAllMyBuckets` needed).
    fn bucket_exists(&self, bucket: &str) -> impl Future<Output = Result<bool, StepError>> + Send;
    /// Creates `bucket` in `region`.
    fn create_bucket(
        &self,
        bucket: &str,
        region: &str,
    ) -> impl Future<Output = Result<BucketCreated, StepError>> + Send;
    /// The object at `key` of a target bucket, if any.
    fn object(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<Option<StoredObject>, StepError>> + Send;
    /// Every unfinished multipart upload of exactly `key` (all pages).
    fn pending_uploads(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<Vec<PendingUpload>, StepError>> + Send;
    /// Starts a multipart upload; returns its id.
    fn create_upload(
        &self,
        bucket: &str,
        key: &str,
        object: &NewObject,
    ) -> impl Future<Output = Result<String, StepError>> + Send;
    /// Every part uploaded so far (all pages).
    fn parts(
        &self,
        upload: &Multipart,
    ) -> impl Future<Output = Result<Vec<StoredPart>, StepError>> + Send;
    /// Uploads one part; returns its ETag.
    fn upload_part(
        &self,
        upload: &Multipart,
        number: u32,
        data: Vec<u8>,
        sha256: Option<&str>,
    ) -> impl Future<Output = Result<String, StepError>> + Send;
    /// Copies bytes `first..=last` of another object as one part, only while that object's
    /// ETag is `if_match` (else an `InvalidInput` error saying the file changed); returns the
    /// part's ETag.
    fn copy_part(
        &self,
        upload: &Multipart,
        number: u32,
        source: (&str, &str),
        if_match: &str,
        range: (u64, u64),
    ) -> impl Future<Output = Result<String, StepError>> + Send;
    /// Completes the upload with `parts`, sorted by number.
    fn complete(
        &self,
        upload: &Multipart,
        parts: &[DonePart],
    ) -> impl Future<Output = Result<(), StepError>> + Send;
    /// Aborts the upload and drops its parts.
    fn abort(&self, upload: &Multipart) -> impl Future<Output = Result<(), StepError>> + Send;
}

/// A part as the store lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPart {
    /// 1-based part number.
    pub number: u32,
    /// Its ETag (quotes included, as S3 returns it).
    pub etag: String,
    /// Its size.
    pub size: u64,
    /// Its base64 SHA-256, when the upload records checksums.
    pub sha256: Option<String>,
}

/// A part for `CompleteMultipartUpload`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DonePart {
    /// 1-based part number.
    pub number: u32,
    /// Its ETag.
    pub etag: String,
    /// Its base64 SHA-256, when known.
    pub sha256: Option<String>,
}
