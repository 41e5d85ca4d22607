//! A storage account from an `AZURE_STORAGE_CONNECTION_STRING`
//! (`DefaultEndpointsProtocol=https;AccountName=…;AccountKey=…;EndpointSuffix=…` or with a
//! `BlobEndpoint=`, as Azurite's).

use std::fmt;

use vmpush_domain::inputs::credentials::{Auth, CredentialSet};
use vmpush_domain::steps::StepError;

/// An account's name, key and blob endpoint.
#[derive(Clone)]
pub struct StorageAccount {
    /// The account name.
    pub name: String,
    /// The base64 account key.
    key: String,
    /// The blob service URL, without a trailing slash.
    pub blob_endpoint: String,
}

impl fmt::Debug for StorageAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StorageAccount")
            .field("name", &self.name)
            .field("key", &"***")
            .field("blob_endpoint", &self.blob_endpoint)
            .finish()
    }
}

impl StorageAccount {
    /// Parses a connection string; `alias` names the account in errors, which never quote
    /// the string (it holds the key).
    pub fn parse(alias: &str, connection: &str) -> Result<Self, StepError> {
        let bad = |problem: &str| {
            StepError::invalid(format!(
                "credentials of {alias}: AZURE_STORAGE_CONNECTION_STRING: {problem}"
            ))
        };
        let mut fields = std::collections::HashMap::new();
        for part in connection
            .split(';')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| bad("a part is not <key>=<value>"))?;
            fields.insert(key.to_ascii_lowercase(), value.to_string());
        }
        let field = |key: &str| fields.get(key).filter(|v| !v.is_empty()).cloned();
        let name = field("accountname").ok_or_else(|| bad("AccountName is missing"))?;
        let key = field("accountkey").ok_or_else(|| bad("AccountKey is missing"))?;
        let blob_endpoint = match field("blobendpoint") {
            Some(endpoint) => endpoint.trim_end_matches('/').to_string(),
            None => {
                let protocol = field("defaultendpointsprotocol").unwrap_or_else(|| "https".into());
                let suffix = field("endpointsuffix").unwrap_or_else(|| "core.windows.net".into());
                format!("{protocol}://{name}.blob.{suffix}")
            }
        };
        if !blob_endpoint.starts_with("https://") && !blob_endpoint.starts_with("http://") {
            return Err(bad("the blob endpoint is not an http(s) URL"));
        }
        Ok(StorageAccount {
            name,
            key,
            blob_endpoint,
        })
    }

    /// The storage account of the Azure account `alias` in `credentials`: its
    /// `AZURE_STORAGE_CONNECTION_STRING`. Azure accounts have no identity of the function's
    /// own, so missing credentials are an error.
    pub fn of(credentials: Option<&CredentialSet>, alias: &str) -> Result<Self, StepError> {
        let set = credentials.filter(|c| !c.is_empty()).ok_or_else(|| {
            StepError::invalid(format!(
                "The credentials for {alias} were not found (an Azure account needs its AZURE_STORAGE_CONNECTION_STRING)."
            ))
        })?;
        match set.get(alias).map_err(StepError::from)? {
            Auth::Azure(azure) => Self::parse(alias, azure.storage_connection_string.expose()),
            Auth::Aws(_) => Err(StepError::invalid(format!(
                "credentials of {alias}: AWS credentials for an Azure account"
            ))),
        }
    }

    /// The base64 key, for signing.
    pub(super) fn key(&self) -> &str {
        &self.key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_strings_give_the_blob_endpoint() {
        let azurite = StorageAccount::parse(
            "azure-na",
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1/;",
        )
        .unwrap();
        assert_eq!(
            (
                azurite.name.as_str(),
                azurite.key(),
                azurite.blob_endpoint.as_str()
            ),
            (
                "devstoreaccount1",
                "a2V5",
                "http://127.0.0.1:10000/devstoreaccount1"
            )
        );
        let cloud = StorageAccount::parse(
            "azure-na",
            "DefaultEndpointsProtocol=https;AccountName=rhimages;AccountKey=a2V5;EndpointSuffix=core.usgovcloudapi.net",
        )
        .unwrap();
        assert_eq!(
            cloud.blob_endpoint,
            "https://rhimages.blob.core.usgovcloudapi.net"
        );
        assert!(!format!("{cloud:?}").contains("a2V5"));
    }

    #[test]
    fn bad_connection_strings_name_the_part_not_the_key() {
        for (text, problem) in [
            ("AccountName=a", "AccountKey is missing"),
            ("AccountKey=c2VjcmV0", "AccountName is missing"),
            ("AccountName=a;c2VjcmV0", "a part is not <key>=<value>"),
        ] {
            let err = StorageAccount::parse("azure-na", text).unwrap_err();
            assert_eq!(
                err.message,
                format!("credentials of azure-na: AZURE_STORAGE_CONNECTION_STRING: {problem}")
            );
            assert!(!err.message.contains("c2VjcmV0"));
        }
    }
}
