//! The upload step's object store over S3: staged files are read with the staging client,
//! everything else goes to the target bucket's region.

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart,
    CreateBucketConfiguration,
};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use snafu::{IntoError, OptionExt, ResultExt};
use vmpush_domain::ports::{
    BucketCreated, DonePart, Multipart, NewObject, ObjectStore, PendingUpload, Reader,
    SourceObject, StagedFiles, StoredObject, StoredPart,
};
use vmpush_domain::steps::StepError;

use super::error;
use crate::aws::SdkResultExt;

/// Characters left alone in tag sets and copy sources (RFC 3986 unreserved).
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// S3 for the upload step.
#[derive(Debug, Clone)]
pub struct S3Store {
    staging: Client,
    target: Client,
}

impl S3Store {
    /// Reads staged files with `staging`, writes with `target` (a client of the target
    /// bucket's region).
    pub fn new(staging: Client, target: Client) -> Self {
        S3Store { staging, target }
    }
}

impl StagedFiles for S3Store {
    async fn source(&self, bucket: &str, key: &str) -> Result<SourceObject, StepError> {
        let head = self
            .staging
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .failure()
            .context(error::HeadObjectSnafu { bucket, key })?;
        Ok(SourceObject {
            size: u64::try_from(head.content_length().unwrap_or(0)).unwrap_or(0),
            etag: head
                .e_tag()
                .map(str::to_string)
                .context(error::HeadObjectNoETagSnafu { bucket, key })?,
        })
    }

    async fn read(&self, bucket: &str, key: &str) -> Result<Reader, StepError> {
        let object = self
            .staging
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .failure()
            .context(error::GetObjectSnafu { bucket, key })?;
        Ok(Box::new(Box::pin(object.body.into_async_read())))
    }
}

impl ObjectStore for S3Store {
    async fn bucket_exists(&self, bucket: &str) -> Result<bool, StepError> {
        match self
            .target
            .head_bucket()
            .bucket(bucket)
            .send()
            .await
            .failure()
        {
            Ok(_) => Ok(true),
            Err(f) if f.status() == Some(404) => Ok(false),
            Err(f) if f.status() == Some(403) => {
                Err(error::BucketForbiddenSnafu { bucket }.build().into())
            }
            Err(f) => Err(error::HeadBucketSnafu { bucket }.into_error(f).into()),
        }
    }

    async fn create_bucket(&self, bucket: &str, region: &str) -> Result<BucketCreated, StepError> {
        let mut request = self.target.create_bucket().bucket(bucket);
        if region != "us-east-1" {
            request = request.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region))
                    .build(),
            );
        }
        match request.send().await.failure() {
            Ok(_) => Ok(BucketCreated::Created),
            Err(f) => match f.code() {
                "BucketAlreadyOwnedByYou" => Ok(BucketCreated::AlreadyOwned),
                "BucketAlreadyExists" => Err(error::BucketTakenSnafu { bucket }.build().into()),
                _ => Err(error::CreateBucketSnafu { bucket, region }
                    .into_error(f)
                    .into()),
            },
        }
    }

    async fn object(&self, bucket: &str, key: &str) -> Result<Option<StoredObject>, StepError> {
        match self
            .target
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .failure()
        {
            Ok(head) => Ok(Some(StoredObject {
                size: u64::try_from(head.content_length().unwrap_or(0)).unwrap_or(0),
                sha256: head.metadata().and_then(|m| m.get("sha256")).cloned(),
            })),
            Err(f) if f.status() == Some(404) => Ok(None),
            Err(f) => Err(error::HeadObjectSnafu { bucket, key }.into_error(f).into()),
        }
    }

    async fn pending_uploads(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Vec<PendingUpload>, StepError> {
        let mut found = Vec::new();
        let (mut key_marker, mut id_marker) = (None::<String>, None::<String>);
        loop {
            let page = self
                .target
                .list_multipart_uploads()
                .bucket(bucket)
                .prefix(key)
                .set_key_marker(key_marker.take())
                .set_upload_id_marker(id_marker.take())
                .send()
                .await
                .failure()
                .context(error::ListUploadsSnafu { bucket, key })?;
            found.extend(
                page.uploads()
                    .iter()
                    .filter(|u| u.key() == Some(key))
                    .filter_map(|u| {
                        Some(PendingUpload {
                            id: u.upload_id()?.to_string(),
                            initiated: u.initiated().map(|t| t.to_string()).unwrap_or_default(),
                        })
                    }),
            );
            if page.is_truncated() != Some(true) {
                return Ok(found);
            }
            key_marker = page.next_key_marker().map(str::to_string);
            id_marker = page.next_upload_id_marker().map(str::to_string);
            if key_marker.is_none() && id_marker.is_none() {
                return Ok(found);
            }
        }
    }

    async fn create_upload(
        &self,
        bucket: &str,
        key: &str,
        object: &NewObject,
    ) -> Result<String, StepError> {
        let tagging: Vec<String> = object
            .tags
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    utf8_percent_encode(k, UNRESERVED),
                    utf8_percent_encode(v, UNRESERVED)
                )
            })
            .collect();
        let mut request = self
            .target
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .metadata("sha256", &object.sha256)
            .tagging(tagging.join("&"));
        if object.checksums {
            request = request.checksum_algorithm(ChecksumAlgorithm::Sha256);
        }
        let created = request
            .send()
            .await
            .failure()
            .context(error::CreateUploadSnafu { bucket, key })?;
        if created.abort_date().is_none() {
            tracing::warn!(
                bucket,
                "no lifecycle rule aborts incomplete multipart uploads in this bucket"
            );
        }
        Ok(created
            .upload_id()
            .map(str::to_string)
            .context(error::NoUploadIdSnafu { bucket, key })?)
    }

    async fn parts(&self, upload: &Multipart) -> Result<Vec<StoredPart>, StepError> {
        let mut parts = Vec::new();
        let mut marker = None::<String>;
        loop {
            let page = self
                .target
                .list_parts()
                .bucket(&upload.bucket)
                .key(&upload.key)
                .upload_id(&upload.upload_id)
                .set_part_number_marker(marker.take())
                .send()
                .await
                .failure()
                .context(error::ListPartsSnafu {
                    bucket: &upload.bucket,
                    key: &upload.key,
                })?;
            parts.extend(page.parts().iter().filter_map(|p| {
                Some(StoredPart {
                    number: u32::try_from(p.part_number()?).ok()?,
                    etag: p.e_tag()?.to_string(),
                    size: u64::try_from(p.size()?).ok()?,
                    sha256: p.checksum_sha256().map(str::to_string),
                })
            }));
            if page.is_truncated() != Some(true) {
                return Ok(parts);
            }
            marker = page.next_part_number_marker().map(str::to_string);
            if marker.is_none() {
                return Ok(parts);
            }
        }
    }

    async fn upload_part(
        &self,
        upload: &Multipart,
        number: u32,
        data: Vec<u8>,
        sha256: Option<&str>,
    ) -> Result<String, StepError> {
        let length = i64::try_from(data.len()).unwrap_or(i64::MAX);
        let sent = self
            .target
            .upload_part()
            .bucket(&upload.bucket)
            .key(&upload.key)
            .upload_id(&upload.upload_id)
            .part_number(i32::try_from(number).unwrap_or(i32::MAX))
            .content_length(length)
            .set_checksum_sha256(sha256.map(str::to_string))
            .body(ByteStream::from(data))
            .send()
            .await
            .failure()
            .context(error::UploadPartSnafu {
                bucket: &upload.bucket,
                key: &upload.key,
                number,
            })?;
        Ok(sent
            .e_tag()
            .map(str::to_string)
            .context(error::UploadPartNoETagSnafu {
                bucket: &upload.bucket,
                key: &upload.key,
                number,
            })?)
    }

    async fn copy_part(
        &self,
        upload: &Multipart,
        number: u32,
        source: (&str, &str),
        if_match: &str,
        range: (u64, u64),
    ) -> Result<String, StepError> {
        let encoded: Vec<String> = source
            .1
            .split('/')
            .map(|s| utf8_percent_encode(s, UNRESERVED).to_string())
            .collect();
        let copied = self
            .target
            .upload_part_copy()
            .bucket(&upload.bucket)
            .key(&upload.key)
            .upload_id(&upload.upload_id)
            .part_number(i32::try_from(number).unwrap_or(i32::MAX))
            .copy_source(format!("{}/{}", source.0, encoded.join("/")))
            .copy_source_range(format!("bytes={}-{}", range.0, range.1))
            .copy_source_if_match(if_match)
            .send()
            .await
            .failure();
        let copied = match copied {
            Ok(copied) => copied,
            Err(failure) if failure.code() == "PreconditionFailed" => {
                return Err(error::SourceChangedSnafu {
                    from_bucket: source.0,
                    from_key: source.1,
                }
                .build()
                .into());
            }
            Err(failure) => {
                return Err(error::CopyPartSnafu {
                    bucket: &upload.bucket,
                    key: &upload.key,
                    number,
                    from_bucket: source.0,
                    from_key: source.1,
                }
                .into_error(failure)
                .into());
            }
        };
        Ok(copied
            .copy_part_result()
            .and_then(|r| r.e_tag())
            .map(str::to_string)
            .context(error::CopyPartNoETagSnafu {
                bucket: &upload.bucket,
                key: &upload.key,
                number,
                from_bucket: source.0,
                from_key: source.1,
            })?)
    }

    async fn complete(&self, upload: &Multipart, parts: &[DonePart]) -> Result<(), StepError> {
        let completed = CompletedMultipartUpload::builder()
            .set_parts(Some(
                parts
                    .iter()
                    .map(|p| {
                        CompletedPart::builder()
                            .part_number(i32::try_from(p.number).unwrap_or(i32::MAX))
                            .e_tag(&p.etag)
                            .set_checksum_sha256(p.sha256.clone())
                            .build()
                    })
                    .collect(),
            ))
            .build();
        self.target
            .complete_multipart_upload()
            .bucket(&upload.bucket)
            .key(&upload.key)
            .upload_id(&upload.upload_id)
            .multipart_upload(completed)
            .send()
            .await
            .failure()
            .context(error::CompleteUploadSnafu {
                bucket: &upload.bucket,
                key: &upload.key,
            })?;
        Ok(())
    }

    async fn abort(&self, upload: &Multipart) -> Result<(), StepError> {
        match self
            .target
            .abort_multipart_upload()
            .bucket(&upload.bucket)
            .key(&upload.key)
            .upload_id(&upload.upload_id)
            .send()
            .await
            .failure()
        {
            Ok(_) => Ok(()),
            Err(f) if f.code() == "NoSuchUpload" => Ok(()),
            Err(f) => Err(error::AbortUploadSnafu {
                bucket: &upload.bucket,
                key: &upload.key,
            }
            .into_error(f)
            .into()),
        }
    }
}
