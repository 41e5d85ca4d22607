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
    /// `AWS_ASSUME_ROLE_ARN` (a vmpush extension): the role the account's calls assume.
    pub assume_role_arn: Option<String>,
    /// `AWS_ASSUME_ROLE_EXTERNAL_ID` (a vmpush extension): the external id of that role.
    pub assume_role_external_id: Option<String>,
}

/// Whose identity an AWS account's calls are made with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AwsIdentity {
    /// The function's own role: the document gives neither keys nor a role.
    Own,
    /// The document's static keys (`AWS_IMAGE_ACCESS_KEY` / `AWS_IMAGE_SECRET_ACCESS`).
    Keys {
        /// The access key id.
        access_key: String,
        /// The secret access key.
        secret: Secret,
    },
    /// A role assumed (`AWS_ASSUME_ROLE_ARN`), from the static keys when the document has
    /// them, else from the function's own role.
    Role {
        /// The role's ARN.
        arn: String,
        /// Its external id.
        external_id: Option<String>,
        /// The keys that assume it, if any.
        keys: Option<(String, Secret)>,
    },
}

/// Which keys of an AWS credentials document a call is made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyUse {
    /// EC2 and S3: `AWS_IMAGE_ACCESS_KEY` / `AWS_IMAGE_SECRET_ACCESS`.
    Images,
    /// The Marketplace Catalog: `AWS_MARKETPLACE_ACCESS_KEY` / `AWS_MARKETPLACE_SECRET_ACCESS`.
    Marketplace,
}

impl AwsAuth {
    /// The identity the account's EC2 and S3 calls act with ([`AwsAuth::identity_for`]).
    pub fn identity(&self) -> AwsIdentity {
        self.identity_for(KeyUse::Images)
    }

    /// The identity the account's calls of one use act with: its role when it names one
    /// (assumed from that use's keys when they are not empty), else those keys when they are
    /// not empty, else the function's own role.
    pub fn identity_for(&self, use_: KeyUse) -> AwsIdentity {
        let (key, secret) = match use_ {
            KeyUse::Images => (&self.image_access_key, &self.image_secret_access),
            KeyUse::Marketplace => (
                &self.marketplace_access_key,
                &self.marketplace_secret_access,
            ),
        };
        let keys = (!key.is_empty() && !secret.0.is_empty()).then(|| (key.clone(), secret.clone()));
        match (&self.assume_role_arn, keys) {
            (Some(arn), keys) => AwsIdentity::Role {
                arn: arn.clone(),
                external_id: self.assume_role_external_id.clone(),
                keys,
            },
            (None, Some((access_key, secret))) => AwsIdentity::Keys { access_key, secret },
            (None, None) => AwsIdentity::Own,
        }
    }
}

/// Whether `arn` is an IAM role ARN (`arn:<partition>:iam::<12 digits>:role/<path/name>`).
fn is_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts[..] {
        ["arn", partition, "iam", "", account, resource] => {
            matches!(partition, "aws" | "aws-us-gov" | "aws-cn")
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && resource
                    .strip_prefix("role/")
                    .is_some_and(|n| !n.is_empty())
        }
        _ => false,
    }
}

/// Whether `id` is an external id STS takes (2 to 1224 of `[\w+=,.@:/-]`).
fn is_external_id(id: &str) -> bool {
    (2..=1224).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@:/-".contains(&b))
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
    /// else base64 JSON; `read_file` reads files (the CLI passes `std::fs::read`). Each holds
    /// one document or a JSON array of them (`.local-stack/credentials.json`).
    pub fn parse(arg: &str, read_file: impl Fn(&Path) -> std::io::Result<Vec<u8>>) -> Result<Self> {
        let mut set = CredentialSet::default();
        for (index, element) in arg.split(',').map(str::trim).enumerate() {
            if element.is_empty() {
                continue;
            }
            let path = Path::new(element);
            // an existing path is read (a directory or FIFO fails naming it), else base64
            let (label, bytes) = if path.symlink_metadata().is_ok() {
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
        set.insert_documents(label, doc)?;
        Ok(set)
    }

    /// One credentials document, or (a vmpush extension, as in the secret) a JSON array of
    /// them, each labelled `<label>[<index>]`.
    fn insert_documents(&mut self, label: &str, doc: Value) -> Result<()> {
        match doc {
            Value::Array(docs) => {
                for (index, doc) in docs.into_iter().enumerate() {
                    self.insert(&format!("{label}[{index}]"), doc)?;
                }
                Ok(())
            }
            doc => self.insert(label, doc),
        }
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
        self.insert_documents(label, doc)
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
        let sharing = |key: &str| -> Result<Vec<String>> {
            let entries = list(key)?;
            for (i, entry) in entries.iter().enumerate() {
                crate::plan::sharing::check_entry(entry)
                    .map_err(|e| auth.error(&format!("{key}[{i}]"), e))?;
            }
            Ok(entries)
        };
        Ok(match provider {
            CloudProvider::Aws => {
                let assume_role_arn = auth.str_opt("AWS_ASSUME_ROLE_ARN")?;
                if let Some(arn) = assume_role_arn.as_deref().filter(|a| !is_role_arn(a)) {
                    return Err(auth.error(
                        "AWS_ASSUME_ROLE_ARN",
                        format!("'{arn}' is not an IAM role ARN (arn:<partition>:iam::<account>:role/<name>)"),
                    ));
                }
                let assume_role_external_id = auth.str_opt("AWS_ASSUME_ROLE_EXTERNAL_ID")?;
                if assume_role_external_id
                    .as_deref()
                    .is_some_and(|id| !is_external_id(id))
                {
                    // the value is a shared secret of sorts: not repeated
                    return Err(auth.error(
                        "AWS_ASSUME_ROLE_EXTERNAL_ID",
                        "not 2 to 1224 of letters, digits and _+=,.@:/-",
                    ));
                }
                if assume_role_external_id.is_some() && assume_role_arn.is_none() {
                    return Err(auth.error(
                        "AWS_ASSUME_ROLE_EXTERNAL_ID",
                        "given without AWS_ASSUME_ROLE_ARN",
                    ));
                }
                // with a role to assume, the keys may be left out (the function's role assumes it)
                let key = |name: &str| -> Result<String> {
                    match &assume_role_arn {
                        Some(_) => Ok(auth.str_opt(name)?.unwrap_or_default()),
                        None => auth.str_req(name),
                    }
                };
                Auth::Aws(AwsAuth {
                    image_access_key: key("AWS_IMAGE_ACCESS_KEY")?,
                    image_secret_access: Secret(key("AWS_IMAGE_SECRET_ACCESS")?),
                    marketplace_access_key: key("AWS_MARKETPLACE_ACCESS_KEY")?,
                    marketplace_secret_access: Secret(key("AWS_MARKETPLACE_SECRET_ACCESS")?),
                    access_role_arn: auth.str_req("AWS_ACCESS_ROLE_ARN")?,
                    groups: list("AWS_GROUPS")?,
                    accounts: sharing("AWS_ACCOUNTS")?,
                    snapshot_accounts: sharing("AWS_SNAPSHOT_ACCOUNTS")?,
                    region: {
                        let region = auth
                            .str_opt("AWS_REGION")?
                            .unwrap_or_else(|| "us-east-1".into());
                        if let Some(problem) = crate::plan::checks::region_problem(&region) {
                            return Err(auth.error("AWS_REGION", problem));
                        }
                        region
                    },
                    s3_bucket: {
                        let bucket = auth
                            .str_opt("AWS_S3_BUCKET")?
                            .filter(|s| !s.is_empty())
                            .unwrap_or_else(|| UPLOAD_CONTAINER_NAME.into());
                        if let Some(problem) = crate::plan::checks::s3_bucket_problem(&bucket) {
                            return Err(
                                auth.error("AWS_S3_BUCKET", format!("'{bucket}': {problem}"))
                            );
                        }
                        bucket
                    },
                    assume_role_arn,
                    assume_role_external_id,
                })
            }
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
    fn a_file_may_hold_an_array_of_documents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials.json");
        let gov = AWS.replace("aws-us-storage", "aws-us-gov-storage");
        std::fs::write(&path, format!("[{AWS}, {gov}]")).unwrap();
        let set = CredentialSet::parse(path.to_str().unwrap(), |p| std::fs::read(p)).unwrap();
        assert_eq!(set.aliases(), ["aws-us-gov-storage", "aws-us-storage"]);
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

    fn aws_auth(auth: &str) -> Result<AwsAuth> {
        let doc = format!(r#"{{"marketplace_account": "aws-us-gov-storage", "auth": {auth}}}"#);
        let set = CredentialSet::parse(&STANDARD.encode(doc), no_files)?;
        match set.get("aws-us-gov-storage")? {
            Auth::Aws(aws) => Ok(aws),
            Auth::Azure(_) => unreachable!("an AWS alias"),
        }
    }

    const KEYS: &str = r#""AWS_IMAGE_ACCESS_KEY": "AKIAGOV", "AWS_IMAGE_SECRET_ACCESS": "s3cr3t-gov",
        "AWS_MARKETPLACE_ACCESS_KEY": "", "AWS_MARKETPLACE_SECRET_ACCESS": "",
        "AWS_ACCESS_ROLE_ARN": """#;
    const ROLE: &str = "arn:aws-us-gov:iam::222222222222:role/vmpush-publisher";

    #[test]
    fn each_account_acts_with_its_keys_its_role_or_the_functions_own() {
        let keys = aws_auth(&format!("{{{KEYS}}}")).unwrap();
        assert_eq!(
            keys.identity(),
            AwsIdentity::Keys {
                access_key: "AKIAGOV".into(),
                secret: Secret("s3cr3t-gov".into())
            }
        );
        let role_from_keys = aws_auth(&format!(
            r#"{{{KEYS}, "AWS_ASSUME_ROLE_ARN": "{ROLE}", "AWS_ASSUME_ROLE_EXTERNAL_ID": "release-team"}}"#
        ))
        .unwrap();
        assert_eq!(
            role_from_keys.identity(),
            AwsIdentity::Role {
                arn: ROLE.into(),
                external_id: Some("release-team".into()),
                keys: Some(("AKIAGOV".into(), Secret("s3cr3t-gov".into()))),
            }
        );
        // with a role, the keys may be left out: the function's own role assumes it
        let role_alone = aws_auth(&format!(
            r#"{{"AWS_ACCESS_ROLE_ARN": "", "AWS_ASSUME_ROLE_ARN": "{ROLE}"}}"#
        ))
        .unwrap();
        assert_eq!(
            role_alone.identity(),
            AwsIdentity::Role {
                arn: ROLE.into(),
                external_id: None,
                keys: None
            }
        );
        let empty_keys = aws_auth(
            r#"{"AWS_IMAGE_ACCESS_KEY": "", "AWS_IMAGE_SECRET_ACCESS": "",
                "AWS_MARKETPLACE_ACCESS_KEY": "", "AWS_MARKETPLACE_SECRET_ACCESS": "",
                "AWS_ACCESS_ROLE_ARN": ""}"#,
        )
        .unwrap();
        assert_eq!(empty_keys.identity(), AwsIdentity::Own);
    }

    #[test]
    fn role_extensions_are_checked_without_repeating_secrets() {
        let label = "credentials element 1: ";
        for (extra, expected) in [
            (
                r#""AWS_ASSUME_ROLE_ARN": "arn:aws:iam::1:user/x""#,
                "auth.AWS_ASSUME_ROLE_ARN: 'arn:aws:iam::1:user/x' is not an IAM role ARN",
            ),
            (
                r#""AWS_ASSUME_ROLE_EXTERNAL_ID": "ab""#,
                "auth.AWS_ASSUME_ROLE_EXTERNAL_ID: given without AWS_ASSUME_ROLE_ARN",
            ),
        ] {
            let err = aws_auth(&format!("{{{KEYS}, {extra}}}")).unwrap_err();
            assert!(err.to_string().contains(expected), "{err}");
            assert!(err.to_string().starts_with(label), "{err}");
        }
        let err = aws_auth(&format!(
            r#"{{{KEYS}, "AWS_ASSUME_ROLE_ARN": "{ROLE}", "AWS_ASSUME_ROLE_EXTERNAL_ID": "s3cr3t id!"}}"#
        ))
        .unwrap_err();
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
        // without a role, the keys stay required (the reference's rule)
        let err = aws_auth(r#"{"AWS_ACCESS_ROLE_ARN": ""}"#).unwrap_err();
        assert!(err.to_string().contains("AWS_IMAGE_ACCESS_KEY"), "{err}");
    }
}
