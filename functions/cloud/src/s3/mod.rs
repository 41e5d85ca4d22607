//! Amazon S3 adapters.

use aws_config::SdkConfig;
use aws_sdk_s3::Client;
use snafu::{ResultExt, ensure};
use tracing::instrument;
use vmpush_domain::inputs::staged::metadata_paths;
use vmpush_domain::inputs::tree::{FileTree, MAX_METADATA_BYTES, MemoryTree};
use vmpush_domain::ports::{ObjectReader, ObjectWriter, StagedTrees};
use vmpush_domain::steps::StepError;

use crate::aws::{SdkResultExt, endpoint_overridden};

pub mod drop;
mod error;
pub mod uploads;

/// An S3 client; path-style addressing when an endpoint override is set (emulators answer
/// on an IP, where virtual-host style cannot resolve).
pub fn client(config: &SdkConfig) -> Client {
    let builder = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(endpoint_overridden() || config.endpoint_url().is_some());
    Client::from_conf(builder.build())
}

/// An S3 client of `region` that sends only the checksums a request names (the upload step
/// computes its own SHA-256 per part).
pub fn client_in(config: &SdkConfig, region: &str) -> Client {
    let builder = aws_sdk_s3::config::Builder::from(config)
        .region(aws_sdk_s3::config::Region::new(region.to_string()))
        .request_checksum_calculation(aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired)
        .force_path_style(endpoint_overridden());
    Client::from_conf(builder.build())
}

/// Reads objects from S3.
#[derive(Debug, Clone)]
pub struct S3Objects {
    client: Client,
}

impl S3Objects {
    /// Reads through `client`.
    pub fn new(client: Client) -> Self {
        S3Objects { client }
    }
}

impl ObjectReader for S3Objects {
    #[instrument(skip(self))]
    async fn read_small(&self, bucket: &str, key: &str, limit: u64) -> Result<Vec<u8>, StepError> {
        let object = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .failure()
            .context(error::GetObjectSnafu { bucket, key })?;
        let size = object.content_length().unwrap_or(0);
        ensure!(
            u64::try_from(size).unwrap_or(u64::MAX) <= limit,
            error::TooLargeSnafu {
                bucket,
                key,
                size,
                limit
            }
        );
        let bytes = object
            .body
            .collect()
            .await
            .context(error::ReadBodySnafu { bucket, key })?;
        Ok(bytes.into_bytes().to_vec())
    }
}

impl ObjectWriter for S3Objects {
    #[instrument(skip(self, body))]
    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<(), StepError> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .body(aws_sdk_s3::primitives::ByteStream::from(body))
            .send()
            .await
            .failure()
            .context(error::PutObjectSnafu { bucket, key })?;
        Ok(())
    }
}

impl StagedTrees for S3Objects {
    /// A staged tree under `s3://<bucket>/<prefix>/`: one paginated listing, then only the
    /// metadata files the staged parser needs are downloaded.
    #[instrument(skip(self))]
    async fn staged_tree(&self, bucket: &str, prefix: &str) -> Result<MemoryTree, StepError> {
        let label = format!("s3://{bucket}/{prefix}");
        let mut files: Vec<(String, u64)> = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(format!("{prefix}/"))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page
                .failure()
                .context(error::ListObjectsSnafu { bucket, prefix })?;
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                let relative = key.strip_prefix(&format!("{prefix}/")).unwrap_or(key);
                if !relative.is_empty() && !relative.ends_with('/') {
                    files.push((
                        relative.to_string(),
                        u64::try_from(object.size().unwrap_or(0)).unwrap_or(0),
                    ));
                }
            }
        }
        let mut tree =
            MemoryTree::from_files(label.clone(), files.iter().map(|(p, s)| (p.as_str(), *s)))
                .map_err(StepError::from)?;
        for path in metadata_paths(&tree) {
            let content = self
                .read_small(bucket, &format!("{prefix}/{path}"), MAX_METADATA_BYTES)
                .await?;
            tree.set_content(&path, content);
        }
        tracing::info!(tree = %tree.label(), files = files.len(), "staged tree listed");
        Ok(tree)
    }
}

#[cfg(test)]
mod tests {
    use vmpush_domain::ports::{BucketCreated, ObjectReader, ObjectStore};
    use vmpush_domain::steps::ErrorKind;

    use super::uploads::S3Store;
    use super::*;
    use crate::canned::{always, s3_error};

    #[tokio::test]
    async fn each_error_class_is_its_step_error_kind() {
        for (status, code, kind) in [
            (503, "SlowDown", ErrorKind::Throttled),
            (500, "InternalError", ErrorKind::Transient),
            (404, "NoSuchKey", ErrorKind::NotFound),
            (404, "NoSuchBucket", ErrorKind::NotFound),
            (409, "OperationAborted", ErrorKind::Fatal),
            (403, "AccessDenied", ErrorKind::Fatal),
        ] {
            let sdk = always(status, &s3_error(code)).await;
            let err = S3Objects::new(client(&sdk))
                .read_small("b", "drops/p1/push.yaml", 1 << 20)
                .await
                .unwrap_err();
            assert_eq!(err.kind, kind, "{code}: {err}");
            assert!(
                err.message.starts_with(&format!(
                    "GetObject s3://b/drops/p1/push.yaml: {code} (HTTP {status})"
                )),
                "{err}"
            );
        }
    }

    #[tokio::test]
    async fn a_bucket_of_ours_is_created_and_another_accounts_is_a_conflict() {
        let store = |sdk: &SdkConfig| S3Store::new(client(sdk), client_in(sdk, "us-east-1"));
        let sdk = always(409, &s3_error("BucketAlreadyOwnedByYou")).await;
        assert_eq!(
            store(&sdk).create_bucket("b", "us-east-1").await.unwrap(),
            BucketCreated::AlreadyOwned
        );
        let sdk = always(409, &s3_error("BucketAlreadyExists")).await;
        let err = store(&sdk)
            .create_bucket("b", "us-east-1")
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Conflict, "{err}");
        // a missing object is no object; throttling is retried
        let sdk = always(404, "").await;
        assert_eq!(store(&sdk).object("b", "k").await.unwrap(), None);
        let sdk = always(503, "").await;
        assert_eq!(
            store(&sdk).object("b", "k").await.unwrap_err().kind,
            ErrorKind::Transient
        );
    }
}
