//! The azure-upload step's page blobs over `azure_storage_blob`, every call authorised by an
//! account SAS in the service URL. Errors name the operation, the blob and the service's
//! status and code; never the URL (its query is the SAS).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use azure_core::http::{RequestContent, Url};
use azure_storage_blob::BlobServiceClient;
use azure_storage_blob::models::{
    BlobClientGetPropertiesResultHeaders, BlobTags, HttpRange, PageBlobClientCreateOptions,
};
use futures_util::TryStreamExt;
use vmpush_domain::ports::{PageBlob, PageBlobs, READ_SAS_DAYS};
use vmpush_domain::steps::{ErrorKind, StepError};

use super::StorageAccount;
use super::sas::{account_sas, blob_read_sas};

/// The page blobs of one storage account.
#[derive(Clone)]
pub struct AzureBlobs {
    service: Arc<BlobServiceClient>,
    endpoint: String,
    account: StorageAccount,
}

impl std::fmt::Debug for AzureBlobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureBlobs")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// A step error from a failed call: its kind from the HTTP status, its message naming the
/// call and the blob with the service's error code.
fn failed(call: &str, what: &str, error: &azure_core::Error) -> StepError {
    let (kind, detail) = match error.kind() {
        azure_core::error::ErrorKind::HttpResponse {
            status, error_code, ..
        } => {
            let kind = match u16::from(*status) {
                400 | 416 => ErrorKind::InvalidInput,
                401 | 403 => ErrorKind::Fatal,
                404 => ErrorKind::NotFound,
                409 | 412 => ErrorKind::Conflict,
                429 | 503 => ErrorKind::Throttled,
                s if s >= 500 => ErrorKind::Transient,
                _ => ErrorKind::Fatal,
            };
            let code = error_code.as_deref().unwrap_or("no error code");
            (kind, format!("HTTP {} {code}", u16::from(*status)))
        }
        azure_core::error::ErrorKind::Io | azure_core::error::ErrorKind::Connection => {
            (ErrorKind::Transient, "the connection failed".to_string())
        }
        _ => (ErrorKind::Transient, "the call failed".to_string()),
    };
    StepError::new(kind, format!("{call} {what}: {detail}"))
}

fn status(error: &azure_core::Error) -> Option<u16> {
    error.http_status().map(u16::from)
}

impl AzureBlobs {
    /// The blobs of `account`, with an account SAS signed now.
    pub fn new(account: &StorageAccount) -> Result<Self, StepError> {
        let query = account_sas(account, SystemTime::now())?;
        let url = Url::parse(&format!("{}?{query}", account.blob_endpoint)).map_err(|_| {
            StepError::invalid(format!(
                "the blob endpoint of the storage account {} is not a URL",
                account.name
            ))
        })?;
        let service = BlobServiceClient::new(url, None, None).map_err(|_| {
            StepError::invalid(format!(
                "the blob endpoint of the storage account {} is not a service URL",
                account.name
            ))
        })?;
        Ok(AzureBlobs {
            service: Arc::new(service),
            endpoint: account.blob_endpoint.clone(),
            account: account.clone(),
        })
    }
}

impl PageBlobs for AzureBlobs {
    async fn ensure_container(&self, container: &str) -> Result<(), StepError> {
        match self
            .service
            .blob_container_client(container)
            .create(None)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if status(&e) == Some(409) => Ok(()),
            Err(e) => Err(failed("CreateContainer", container, &e)),
        }
    }

    async fn blob(&self, container: &str, name: &str) -> Result<Option<PageBlob>, StepError> {
        let what = format!("{container}/{name}");
        let client = self.service.blob_client(container, name);
        let properties = match client.get_properties(None).await {
            Ok(p) => p,
            Err(e) if status(&e) == Some(404) => return Ok(None),
            Err(e) => return Err(failed("GetBlobProperties", &what, &e)),
        };
        let bad_header = |_| {
            StepError::new(
                ErrorKind::Transient,
                format!("GetBlobProperties {what}: an unreadable header"),
            )
        };
        let size = properties
            .content_length()
            .map_err(bad_header)?
            .unwrap_or(0);
        let mut metadata: Vec<(String, String)> = properties
            .metadata()
            .map_err(bad_header)?
            .into_iter()
            .collect();
        metadata.sort();
        let tags = client
            .get_tags(None)
            .await
            .map_err(|e| failed("GetBlobTags", &what, &e))?
            .into_model()
            .map_err(|e| failed("GetBlobTags", &what, &e))?;
        let mut tags: Vec<(String, String)> = HashMap::from(tags).into_iter().collect();
        tags.sort();
        Ok(Some(PageBlob {
            size,
            tags,
            metadata,
        }))
    }

    async fn create(
        &self,
        container: &str,
        name: &str,
        size: u64,
        metadata: &[(String, String)],
    ) -> Result<(), StepError> {
        let options = PageBlobClientCreateOptions {
            metadata: Some(metadata.iter().cloned().collect()),
            ..Default::default()
        };
        self.service
            .blob_client(container, name)
            .page_blob_client()
            .create(size, Some(options))
            .await
            .map(|_| ())
            .map_err(|e| failed("PutBlob", &format!("{container}/{name}"), &e))
    }

    async fn written_ranges(
        &self,
        container: &str,
        name: &str,
    ) -> Result<Vec<(u64, u64)>, StepError> {
        let what = format!("{container}/{name}");
        let client = self.service.blob_client(container, name).page_blob_client();
        let mut pages = client
            .list_page_ranges(None)
            .map_err(|e| failed("GetPageRanges", &what, &e))?;
        let mut ranges = Vec::new();
        while let Some(page) = pages
            .try_next()
            .await
            .map_err(|e| failed("GetPageRanges", &what, &e))?
        {
            let list = page
                .into_model()
                .map_err(|e| failed("GetPageRanges", &what, &e))?;
            for range in list.page_ranges {
                if let (Some(start), Some(end)) = (range.start, range.end) {
                    // the service gives inclusive ends
                    let (start, end) = (start.max(0) as u64, end.max(0) as u64 + 1);
                    ranges.push((start, end));
                }
            }
        }
        ranges.sort();
        Ok(ranges)
    }

    async fn write_pages(
        &self,
        container: &str,
        name: &str,
        offset: u64,
        data: Vec<u8>,
    ) -> Result<(), StepError> {
        let len = data.len() as u64;
        self.service
            .blob_client(container, name)
            .page_blob_client()
            .upload_pages(
                RequestContent::from(data),
                len,
                HttpRange::new(offset, len),
                None,
            )
            .await
            .map(|_| ())
            .map_err(|e| failed("PutPage", &format!("{container}/{name} at {offset}"), &e))
    }

    async fn set_tags(
        &self,
        container: &str,
        name: &str,
        tags: &[(String, String)],
    ) -> Result<(), StepError> {
        let what = format!("{container}/{name}");
        let tags: HashMap<String, String> = tags.iter().cloned().collect();
        let body = RequestContent::try_from(BlobTags::from(tags))
            .map_err(|e| failed("SetBlobTags", &what, &e))?;
        self.service
            .blob_client(container, name)
            .set_tags(body, None)
            .await
            .map(|_| ())
            .map_err(|e| failed("SetBlobTags", &what, &e))
    }

    async fn delete(&self, container: &str, name: &str) -> Result<(), StepError> {
        match self.service.blob_client(container, name).delete(None).await {
            Ok(_) => Ok(()),
            Err(e) if status(&e) == Some(404) => Ok(()),
            Err(e) => Err(failed("DeleteBlob", &format!("{container}/{name}"), &e)),
        }
    }

    fn read_url(&self, container: &str, name: &str) -> Result<String, StepError> {
        let expiry = SystemTime::now() + Duration::from_secs(READ_SAS_DAYS * 24 * 60 * 60);
        let query = blob_read_sas(&self.account, container, name, expiry)?;
        Ok(format!("{}?{query}", self.blob_url(container, name)))
    }

    fn blob_url(&self, container: &str, name: &str) -> String {
        let mut url = match Url::parse(&self.endpoint) {
            Ok(url) => url,
            Err(_) => return format!("{}/{container}/{name}", self.endpoint),
        };
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend([container, name]);
        }
        url.to_string()
    }
}
