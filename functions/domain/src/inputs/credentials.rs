//! Cloud credentials in pubtools-marketplacesvm's format: `--credentials` is a comma list of
//! JSON file paths and/or base64-encoded JSON documents (else `CLOUD_CREDENTIALS`), each
//! `{"marketplace_account": "<alias>", "auth": {...}}`. The alias selects the provider.
//!
//! Secrets are held in [`Secret`], whose `Debug` prints `***` and which has no `Display`;
//! errors name keys and positions, never values.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use base64::Engine;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::inputs::fields::Located;

/// Which cloud an account alias belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CloudProvider {
    /// Amazon Web Services.
    #[serde(rename = "AWS")]
    Aws,
    /// Microsoft Azure.
    #[serde(rename = "Azure")]
    Azure,
}

/// The account aliases the reference registers, with their providers.
pub const KNOWN_ALIASES: [(&str, CloudProvider); 8] = [
    ("aws-na", CloudProvider::Aws),
    ("aws-emea", CloudProvider::Aws),
    ("aws-us-storage", CloudProvider::Aws),
    ("aws-us-gov-storage", CloudProvider::Aws),
    ("aws-china-storage", CloudProvider::Aws),
    ("aws-esc-storage", CloudProvider::Aws),
    ("azure-na", CloudProvider::Azure),
    ("azure-emea", CloudProvider::Azure),
];

/// The provider of an account alias, if it is a known one.
pub fn provider_for_alias(alias: &str) -> Option<CloudProvider> {
    KNOWN_ALIASES
        .iter()
        .find(|(a, _)| *a == alias)
        .map(|(_, p)| *p)
}

/// A secret string: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret value, for the adapter that signs requests with it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// AWS `auth` (marketplacesvm `AWSCredentials`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsAuth {
    /// `AWS_IMAGE_ACCESS_KEY`: EC2/S3 access key id.
    pub image_access_key: String,
    /// `AWS_IMAGE_SECRET_ACCESS`.
    pub image_secret_access: Secret,
    /// `AWS_MARKETPLACE_ACCESS_KEY`: Marketplace Catalog access key id.
    pub marketplace_access_key: String,
    /// `AWS_MARKETPLACE_SECRET_ACCESS`.
    pub marketplace_secret_access: Secret,
    /// `AWS_ACCESS_ROLE_ARN`: the Marketplace ingestion role.
    pub access_role_arn: String,
    /// `AWS_GROUPS`: default launch-permission groups.
    pub groups: Vec<String>,
    /// `AWS_ACCOUNTS`: default accounts to share images with.
    pub accounts: Vec<String>,
    /// `AWS_SNAPSHOT_ACCOUNTS`: default accounts to share snapshots with.
    pub snapshot_accounts: Vec<String>,
    /// `AWS_REGION` (default `us-east-1`).
    pub region: String,
    /// `AWS_S3_BUCKET` (default `pubupload`).
    pub s3_bucket: String,
}

/// Azure `auth` (marketplacesvm `AzureCredentials`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureAuth {
    /// `AZURE_TENANT_ID`.
    pub tenant_id: String,
    /// `AZURE_CLIENT_ID`.
    pub client_id: String,
    /// `AZURE_API_SECRET`.
    pub api_secret: Secret,
    /// `AZURE_STORAGE_CONNECTION_STRING`.
    pub storage_connection_string: Secret,
    /// `AZURE_API_VERSION` (default `2022-07-01`).
    pub api_version: String,
}

/// Provider-specific authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// AWS keys and defaults.
    Aws(AwsAuth),
    /// Azure service principal and storage.
    Azure(AzureAuth),
}

/// The default S3 bucket / Azure container (`UPLOAD_CONTAINER_NAME`).
pub const UPLOAD_CONTAINER_NAME: &str = "pubupload";

/// The credentials given to a push, by account alias. Later entries with the same alias
/// replace earlier ones. Its `Debug` shows the aliases only.
#[derive(Clone, Default)]
pub struct CredentialSet {
    raw: BTreeMap<String, (String, Value)>,
}

impl fmt::Debug for CredentialSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialSet")
            .field("aliases", &self.aliases())
            .finish()
    }
}

/// The default source of `--credentials`.
pub const CREDENTIALS_ENV: &str = "CLOUD_CREDENTIALS";

impl CredentialSet {
    /// Parses a `--credentials` value. Each element is a file path when such a file exists,
    /// else base64 JSON; `read_file` reads files (the CLI passes `std::fs::read`).
    pub fn parse(arg: &str, read_file: impl Fn(&Path) -> std::io::Result<Vec<u8>>) -> Result<Self> {
        let mut set = CredentialSet::default();
        for (index, element) in arg.split(',').map(str::trim).enumerate() {
            if element.is_empty() {
                continue;
            }
            let path = Path::new(element);
            let (label, bytes) = if path.is_file() {
                let bytes = read_file(path).map_err(|source| Error::Read {
                    file: element.to_string(),
                    source,
                })?;
                (element.to_string(), bytes)
            } else {
                let label = format!("credentials element {}", index + 1);
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(element)
                    .map_err(|_| {
                        Error::invalid(
                            &label,
                            "(value)",
                            "Invalid credentials: neither an existing file nor base64 JSON",
                        )
                    })?;
                (label, bytes)
            };
            set.add(&label, &bytes)?;
        }
        Ok(set)
    }

    /// Parses a secret holding credentials (a Secrets Manager `SecretString`): one credentials
    /// document, or a JSON array of them. `label` names the secret in errors, which never
    /// quote its content.
    pub fn from_secret(label: &str, text: &[u8]) -> Result<Self> {
        let mut set = CredentialSet::default();
        let doc: Value = serde_json::from_slice(text).map_err(|e| Error::Syntax {
            file: label.to_string(),
            format: "JSON",
            message: format!(
                "Invalid credentials at line {} column {}",
                e.line(),
                e.column()
            ),
        })?;
        match doc {
            Value::Array(docs) => {
                for (index, doc) in docs.into_iter().enumerate() {
                    set.insert(&format!("{label}[{index}]"), doc)?;
                }
            }
            doc => set.insert(label, doc)?,
        }
        Ok(set)
    }

    fn add(&mut self, label: &str, bytes: &[u8]) -> Result<()> {
        let doc: Value = serde_json::from_slice(bytes).map_err(|e| Error::Syntax {
            file: label.to_string(),
            format: "JSON",
            message: format!(
                "Invalid credentials at line {} column {}",
                e.line(),
                e.column()
            ),
        })?;
        self.insert(label, doc)
    }

    fn insert(&mut self, label: &str, doc: Value) -> Result<()> {
        let root = Located::new(label, "", &doc);
        let obj = root.obj()?;
        let alias = obj.str_opt("marketplace_account")?.ok_or_else(|| {
            obj.error(
                "marketplace_account",
                "Missing mandatory key \"marketplace_account\" in credentials.",
            )
        })?;
        self.raw.insert(alias, (label.to_string(), doc));
        Ok(())
    }

    /// Whether no credentials were given.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The aliases given, sorted.
    pub fn aliases(&self) -> Vec<&str> {
        self.raw.keys().map(String::as_str).collect()
    }

    /// Checks every alias's credentials (what a push would find wrong, found up front).
    pub fn validate(&self) -> Result<()> {
        self.aliases()
            .into_iter()
            .try_for_each(|alias| self.get(alias).map(drop))
    }

    /// The documents as a secret holds them (a JSON array, by alias): the text to store.
    /// It holds the secrets themselves: never log it.
    pub fn to_secret(&self) -> String {
        Value::Array(self.raw.values().map(|(_, doc)| doc.clone()).collect()).to_string()
    }

    /// Whether two sets hold the same documents (where they came from aside).
    pub fn same_documents(&self, other: &CredentialSet) -> bool {
        self.raw.len() == other.raw.len()
            && self
                .raw
                .iter()
                .zip(&other.raw)
                .all(|((a, (_, x)), (b, (_, y)))| a == b && x == y)
    }

    /// The validated credentials of an alias.
    pub fn get(&self, alias: &str) -> Result<Auth> {
        let (label, doc) = self.raw.get(alias).ok_or_else(|| {
            Error::invalid(
                "credentials",
                alias,
                format!(
                    "The credentials for {alias} were not found (given: {})",
                    self.aliases().join(", ")
                ),
            )
        })?;
        if !(alias.ends_with("-na") || alias.ends_with("-emea") || alias.ends_with("-storage")) {
            return Err(Error::invalid(
                label,
                "marketplace_account",
                "Invalid value for cloud_name: missing region.",
            ));
        }
        let provider = provider_for_alias(alias).ok_or_else(|| {
            Error::invalid(
                label,
                "marketplace_account",
                format!("No provider found for {alias}"),
            )
        })?;
        let root = Located::new(label, "", doc);
        let obj = root.obj()?;
        let auth = obj
            .child("auth")
            .ok_or_else(|| obj.error("auth", "Missing or invalid credentials."))?;
        let auth = auth.obj()?;
        let list =
            |key: &str| -> Result<Vec<String>> { Ok(auth.str_list_opt(key)?.unwrap_or_default()) };
        let secret = |key: &str| -> Result<Secret> { auth.str_req(key).map(Secret) };
        Ok(match provider {
            CloudProvider::Aws => Auth::Aws(AwsAuth {
                image_access_key: auth.str_req("AWS_IMAGE_ACCESS_KEY")?,
                image_secret_access: secret("AWS_IMAGE_SECRET_ACCESS")?,
                marketplace_access_key: auth.str_req("AWS_MARKETPLACE_ACCESS_KEY")?,
                marketplace_secret_access: secret("AWS_MARKETPLACE_SECRET_ACCESS")?,
                access_role_arn: auth.str_req("AWS_ACCESS_ROLE_ARN")?,
                groups: list("AWS_GROUPS")?,
                accounts: list("AWS_ACCOUNTS")?,
                snapshot_accounts: list("AWS_SNAPSHOT_ACCOUNTS")?,
                region: auth
                    .str_opt("AWS_REGION")?
                    .unwrap_or_else(|| "us-east-1".into()),
                s3_bucket: auth
                    .str_opt("AWS_S3_BUCKET")?
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| UPLOAD_CONTAINER_NAME.into()),
            }),
            CloudProvider::Azure => Auth::Azure(AzureAuth {
                tenant_id: auth.str_req("AZURE_TENANT_ID")?,
                client_id: auth.str_req("AZURE_CLIENT_ID")?,
                api_secret: secret("AZURE_API_SECRET")?,
                storage_connection_string: secret("AZURE_STORAGE_CONNECTION_STRING")?,
                api_version: auth
                    .str_opt("AZURE_API_VERSION")?
                    .unwrap_or_else(|| "2022-07-01".into()),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    const AWS: &str = r#"{"marketplace_account": "aws-us-storage", "auth": {
        "AWS_IMAGE_ACCESS_KEY": "AKIAEXAMPLE", "AWS_IMAGE_SECRET_ACCESS": "s3cr3t-image",
        "AWS_MARKETPLACE_ACCESS_KEY": "AKIAMKT", "AWS_MARKETPLACE_SECRET_ACCESS": "s3cr3t-mkt",
        "AWS_ACCESS_ROLE_ARN": "arn:aws:iam::1:role/x", "AWS_SNAPSHOT_ACCOUNTS": ["777"]}}"#;

    fn no_files(_: &Path) -> std::io::Result<Vec<u8>> {
        unreachable!("no file is read")
    }

    #[test]
    fn base64_credentials_with_defaults_and_hidden_secrets() {
        let set = CredentialSet::parse(&STANDARD.encode(AWS), no_files).unwrap();
        let Auth::Aws(aws) = set.get("aws-us-storage").unwrap() else {
            panic!("AWS expected")
        };
        assert_eq!(aws.region, "us-east-1");
        assert_eq!(aws.s3_bucket, "pubupload");
        assert_eq!(aws.snapshot_accounts, ["777"]);
        assert_eq!(aws.image_secret_access.expose(), "s3cr3t-image");
        let shown = format!("{aws:?} {set:?}");
        assert!(!shown.contains("s3cr3t"), "secret leaked in Debug: {shown}");
    }

    #[test]
    fn a_credentials_argument_becomes_the_secret_that_reads_back_the_same() {
        let azure = r#"{"marketplace_account": "azure-na", "auth": {"AZURE_TENANT_ID": "t",
            "AZURE_CLIENT_ID": "c", "AZURE_API_SECRET": "s3cr3t-api",
            "AZURE_STORAGE_CONNECTION_STRING": "s3cr3t-conn"}}"#;
        let arg = format!("{},{}", STANDARD.encode(AWS), STANDARD.encode(azure));
        let given = CredentialSet::parse(&arg, no_files).unwrap();
        given.validate().unwrap();
        let stored =
            CredentialSet::from_secret("secret vmpush", given.to_secret().as_bytes()).unwrap();
        assert!(stored.same_documents(&given) && given.same_documents(&stored));
        assert_eq!(stored.aliases(), ["aws-us-storage", "azure-na"]);
        let only_aws = CredentialSet::parse(&STANDARD.encode(AWS), no_files).unwrap();
        assert!(!only_aws.same_documents(&given));
        assert!(!CredentialSet::default().same_documents(&only_aws));
        let incomplete = CredentialSet::parse(
            &STANDARD.encode(r#"{"marketplace_account": "aws-na", "auth": {}}"#),
            no_files,
        )
        .unwrap();
        assert_eq!(
            incomplete.validate().unwrap_err().to_string(),
            "credentials element 1: auth.AWS_IMAGE_ACCESS_KEY: required string is missing"
        );
    }

    #[test]
    fn a_secret_holds_one_document_or_an_array() {
        let one = CredentialSet::from_secret("secret vmpush", AWS.as_bytes()).unwrap();
        assert_eq!(one.aliases(), ["aws-us-storage"]);
        let azure = r#"{"marketplace_account": "azure-na", "auth": {}}"#;
        let many =
            CredentialSet::from_secret("secret vmpush", format!("[{AWS}, {azure}]").as_bytes())
                .unwrap();
        assert_eq!(many.aliases(), ["aws-us-storage", "azure-na"]);
        let err = CredentialSet::from_secret("secret vmpush", b"{\"auth\": {\"k\": \"s3cr3t\"}}")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "secret vmpush: marketplace_account: Missing mandatory key \"marketplace_account\" in credentials."
        );
        let err = CredentialSet::from_secret("secret vmpush", b"s3cr3t")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("secret vmpush: "), "{err}");
        assert!(!err.contains("s3cr3t"), "{err}");
        let err = CredentialSet::from_secret("secret vmpush", format!("[{AWS}, 1]").as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("secret vmpush[1]: "), "{err}");
    }

    #[test]
    fn files_and_later_entries_win() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        std::fs::write(
            &path,
            AWS.replace("us-east-1", "x").replace(
                "\"AWS_SNAPSHOT_ACCOUNTS\": [\"777\"]",
                "\"AWS_REGION\": \"eu-west-1\"",
            ),
        )
        .unwrap();
        let arg = format!("{},{}", STANDARD.encode(AWS), path.display());
        let set = CredentialSet::parse(&arg, |p| std::fs::read(p)).unwrap();
        let Auth::Aws(aws) = set.get("aws-us-storage").unwrap() else {
            panic!("AWS expected")
        };
        assert_eq!(aws.region, "eu-west-1");
    }

    #[test]
    fn errors_never_show_secret_values() {
        let bad = AWS.replace(
            "\"AWS_ACCESS_ROLE_ARN\": \"arn:aws:iam::1:role/x\",",
            "\"AWS_ACCESS_ROLE_ARN\": 5,",
        );
        let set = CredentialSet::parse(&STANDARD.encode(&bad), no_files).unwrap();
        let err = set.get("aws-us-storage").unwrap_err().to_string();
        assert_eq!(
            err,
            "credentials element 1: auth.AWS_ACCESS_ROLE_ARN: expected string, got number (quote it so it stays text)"
        );
        let err = CredentialSet::parse("bm90IGpzb24gczNjcjN0", no_files)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("credentials element 1: not valid JSON: Invalid credentials"),
            "{err}"
        );
        assert!(!err.contains("s3cr3t"));
        let err = CredentialSet::parse("s3cr3t!!", no_files)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "credentials element 1: (value): Invalid credentials: neither an existing file nor base64 JSON"
        );
    }

    #[test]
    fn missing_alias_and_unknown_alias() {
        let no_alias = STANDARD.encode(r#"{"auth": {}}"#);
        let err = CredentialSet::parse(&no_alias, no_files)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Missing mandatory key \"marketplace_account\""),
            "{err}"
        );
        let set = CredentialSet::parse(&STANDARD.encode(AWS), no_files).unwrap();
        assert_eq!(
            set.get("aws-na").unwrap_err().to_string(),
            "credentials: aws-na: The credentials for aws-na were not found (given: aws-us-storage)"
        );
        let odd = STANDARD.encode(r#"{"marketplace_account": "gcp-na", "auth": {}}"#);
        let set = CredentialSet::parse(&odd, no_files).unwrap();
        assert_eq!(
            set.get("gcp-na").unwrap_err().to_string(),
            "credentials element 1: marketplace_account: No provider found for gcp-na"
        );
    }
}
