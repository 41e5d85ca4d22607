//! Writing a drop from disk: each file streamed from its path (never read whole), in one
//! `PutObject` up to [`PART_BYTES`], else a multipart upload of parts of that size.

use std::path::Path;

use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use snafu::{OptionExt, ResultExt};
use vmpush_domain::steps::{ErrorKind, StepError};

use super::{S3Objects, error};
use crate::aws::SdkResultExt;

/// Part size of large files, and the largest file sent in one request.
pub const PART_BYTES: u64 = 64 << 20;

/// A part (or the whole file) as a stream of its bytes on disk.
async fn body(path: &Path, offset: u64, length: u64) -> Result<ByteStream, StepError> {
    ByteStream::read_from()
        .path(path)
        .offset(offset)
        .length(Length::Exact(length))
        .build()
        .await
        .map_err(|e| StepError::new(ErrorKind::Fatal, format!("{}: {e}", path.display())))
}

impl S3Objects {
    /// Puts the file at `path` as `s3://bucket/key`; `sent` is told each part's size once
    /// stored. A failed part aborts the multipart upload.
    pub async fn put_file(
        &self,
        bucket: &str,
        key: &str,
        path: &Path,
        sent: &(dyn Fn(u64) + Sync),
    ) -> Result<(), StepError> {
        let client = &self.client;
        let size = std::fs::metadata(path)
            .map_err(|e| StepError::invalid(format!("{}: {e}", path.display())))?
            .len();
        if size <= PART_BYTES {
            client
                .put_object()
                .bucket(bucket)
                .key(key)
                .body(body(path, 0, size).await?)
                .send()
                .await
                .failure()
                .context(error::PutObjectSnafu { bucket, key })?;
            sent(size);
            return Ok(());
        }
        let upload = client
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .failure()
            .context(error::CreateUploadSnafu { bucket, key })?;
        let upload_id = upload
            .upload_id()
            .map(str::to_string)
            .context(error::NoUploadIdSnafu { bucket, key })?;
        let mut parts = Vec::new();
        let mut offset = 0;
        while offset < size {
            let length = PART_BYTES.min(size - offset);
            let number = u32::try_from(parts.len() + 1).unwrap_or(u32::MAX);
            let stored = client
                .upload_part()
                .bucket(bucket)
                .key(key)
                .upload_id(&upload_id)
                .part_number(i32::try_from(number).unwrap_or(i32::MAX))
                .body(body(path, offset, length).await?)
                .send()
                .await
                .failure()
                .context(error::UploadPartSnafu {
                    bucket,
                    key,
                    number,
                });
            let stored = match stored {
                Ok(stored) => stored,
                Err(error) => {
                    // best effort: the part's failure is what the caller needs to hear
                    let _ = client
                        .abort_multipart_upload()
                        .bucket(bucket)
                        .key(key)
                        .upload_id(&upload_id)
                        .send()
                        .await;
                    return Err(error.into());
                }
            };
            parts.push(
                CompletedPart::builder()
                    .part_number(i32::try_from(number).unwrap_or(i32::MAX))
                    .set_e_tag(stored.e_tag().map(str::to_string))
                    .build(),
            );
            offset += length;
            sent(length);
        }
        client
            .complete_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(&upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .failure()
            .context(error::CompleteUploadSnafu { bucket, key })?;
        Ok(())
    }
}
