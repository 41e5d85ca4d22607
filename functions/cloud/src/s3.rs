//! Amazon S3 adapters.

use aws_config::SdkConfig;
use aws_sdk_s3::Client;
use tracing::instrument;
use vmpush_domain::ports::ObjectReader;
use vmpush_domain::step::{ErrorKind, StepError};

use crate::aws::{classify, endpoint_overridden};

/// An S3 client; path-style addressing when an endpoint override is set (emulators answer
/// on an IP, where virtual-host style cannot resolve).
pub fn client(config: &SdkConfig) -> Client {
    let builder = aws_sdk_s3::config::Builder::from(config).force_path_style(endpoint_overridden());
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
        let what = format!("GetObject s3://{bucket}/{key}");
        let object = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| classify(&what, &e))?;
        let size = object.content_length().unwrap_or(0);
        if u64::try_from(size).unwrap_or(u64::MAX) > limit {
            return Err(StepError::invalid(format!(
                "s3://{bucket}/{key}: {size} bytes is more than the {limit} allowed"
            )));
        }
        let bytes = object.body.collect().await.map_err(|e| {
            StepError::new(
                ErrorKind::Transient,
                format!("{what}: reading the body: {e}"),
            )
        })?;
        Ok(bytes.into_bytes().to_vec())
    }
}
