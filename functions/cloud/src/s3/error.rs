//! The S3 adapters' errors: one variant per call, naming the operation and the object, over
//! the [`SdkFailure`] AWS answered; converted to a [`StepError`] once, here.

use aws_sdk_s3::primitives::ByteStreamError;
use snafu::Snafu;
use vmpush_domain::steps::{ErrorKind, StepError};

use crate::aws::{SdkFailure, step_error};

/// A failed S3 call, or an answer missing what it must hold.
#[derive(Debug, Snafu)]
#[snafu(visibility(pub(super)))]
pub(super) enum Error {
    #[snafu(display("HeadBucket {bucket}: {source}"))]
    HeadBucket { bucket: String, source: SdkFailure },

    #[snafu(display(
        "HeadBucket {bucket}: HTTP 403: the account's credentials are refused, or the bucket is another account's"
    ))]
    BucketForbidden { bucket: String },

    #[snafu(display("CreateBucket {bucket} in {region}: {source}"))]
    CreateBucket {
        bucket: String,
        region: String,
        source: SdkFailure,
    },

    #[snafu(display("CreateBucket {bucket}: the name belongs to another account"))]
    BucketTaken { bucket: String },

    #[snafu(display("HeadObject s3://{bucket}/{key}: {source}"))]
    HeadObject {
        bucket: String,
        key: String,
        source: SdkFailure,
    },

    #[snafu(display("GetObject s3://{bucket}/{key}: {source}"))]
    GetObject {
        bucket: String,
        key: String,
        source: SdkFailure,
    },

    #[snafu(display("GetObject s3://{bucket}/{key}: reading the body: {source}"))]
    ReadBody {
        bucket: String,
        key: String,
        source: ByteStreamError,
    },

    #[snafu(display("s3://{bucket}/{key}: {size} bytes is more than the {limit} allowed"))]
    TooLarge {
        bucket: String,
        key: String,
        size: i64,
        limit: u64,
    },

    #[snafu(display("PutObject s3://{bucket}/{key}: {source}"))]
    PutObject {
        bucket: String,
        key: String,
        source: SdkFailure,
    },

    #[snafu(display("ListObjectsV2 s3://{bucket}/{prefix}/: {source}"))]
    ListObjects {
        bucket: String,
        prefix: String,
        source: SdkFailure,
    },

    #[snafu(display("ListMultipartUploads s3://{bucket}/{key}: {source}"))]
    ListUploads {
        bucket: String,
        key: String,
        source: SdkFailure,
    },

    #[snafu(display("CreateMultipartUpload s3://{bucket}/{key}: {source}"))]
    CreateUpload {
        bucket: String,
        key: String,
        source: SdkFailure,
    },

    #[snafu(display("CreateMultipartUpload s3://{bucket}/{key}: no upload id"))]
    NoUploadId { bucket: String, key: String },

    #[snafu(display("ListParts s3://{bucket}/{key}: {source}"))]
    ListParts {
        bucket: String,
        key: String,
        source: SdkFailure,
    },

    #[snafu(display("UploadPart s3://{bucket}/{key} part {number}: {source}"))]
    UploadPart {
        bucket: String,
        key: String,
        number: u32,
        source: SdkFailure,
    },

    #[snafu(display("UploadPart s3://{bucket}/{key} part {number}: no ETag"))]
    UploadPartNoETag {
        bucket: String,
        key: String,
        number: u32,
    },

    #[snafu(display(
        "UploadPartCopy s3://{bucket}/{key} part {number} from s3://{from_bucket}/{from_key}: {source}"
    ))]
    CopyPart {
        bucket: String,
        key: String,
        number: u32,
        from_bucket: String,
        from_key: String,
        source: SdkFailure,
    },

    #[snafu(display("s3://{from_bucket}/{from_key}: the file changed while it was uploaded"))]
    SourceChanged {
        from_bucket: String,
        from_key: String,
    },

    #[snafu(display("HeadObject s3://{bucket}/{key}: no ETag"))]
    HeadObjectNoETag { bucket: String, key: String },

    #[snafu(display(
        "UploadPartCopy s3://{bucket}/{key} part {number} from s3://{from_bucket}/{from_key}: no ETag"
    ))]
    CopyPartNoETag {
        bucket: String,
        key: String,
        number: u32,
        from_bucket: String,
        from_key: String,
    },

    #[snafu(display("CompleteMultipartUpload s3://{bucket}/{key}: {source}"))]
    CompleteUpload {
        bucket: String,
        key: String,
        source: SdkFailure,
    },

    #[snafu(display("AbortMultipartUpload s3://{bucket}/{key}: {source}"))]
    AbortUpload {
        bucket: String,
        key: String,
        source: SdkFailure,
    },
}

impl From<Error> for StepError {
    fn from(error: Error) -> Self {
        let own = match error {
            Error::BucketForbidden { .. } | Error::BucketTaken { .. } => ErrorKind::Conflict,
            Error::ReadBody { .. } => ErrorKind::Transient,
            Error::TooLarge { .. } | Error::SourceChanged { .. } => ErrorKind::InvalidInput,
            _ => ErrorKind::Fatal,
        };
        step_error(&error, own)
    }
}
