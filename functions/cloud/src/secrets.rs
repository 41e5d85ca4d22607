//! Credentials from AWS Secrets Manager: the secret holds pubtools' credentials documents
//! (one, or a JSON array), so the deployed pipeline needs no files; another may hold RHSM's
//! client certificate ([`crate::rhsm::HttpRhsm::from_env`]).

use std::sync::Mutex;

use aws_config::SdkConfig;
use aws_sdk_secretsmanager::Client;
use snafu::{ResultExt, Snafu};
use vmpush_domain::inputs::credentials::{CREDENTIALS_ENV, CredentialSet};
use vmpush_domain::inputs::tree::read_small_file;
use vmpush_domain::steps::{ErrorKind, StepError};

use crate::aws::{SdkFailure, SdkResultExt, step_error};
use crate::env;

/// A failed Secrets Manager call, naming the secret, never its content.
#[derive(Debug, Snafu)]
enum Error {
    #[snafu(display("GetSecretValue {secret}: {source}"))]
    Read { secret: String, source: SdkFailure },

    #[snafu(display("secret {secret}: no value"))]
    Empty { secret: String },

    #[snafu(display("PutSecretValue {secret}: {source}"))]
    Write { secret: String, source: SdkFailure },
}

impl From<Error> for StepError {
    fn from(error: Error) -> Self {
        let own = match error {
            Error::Empty { .. } => ErrorKind::InvalidInput,
            _ => ErrorKind::Fatal,
        };
        step_error(&error, own)
    }
}

/// The variable naming the secret (ARN or name).
pub const SECRET_ENV: &str = "VMPUSH_CREDENTIALS_SECRET";

/// Reads credentials from secrets.
#[derive(Debug, Clone)]
pub struct SecretCredentials {
    client: Client,
}

impl SecretCredentials {
    /// A reader over the SDK configuration.
    pub fn new(config: &SdkConfig) -> Self {
        SecretCredentials {
            client: Client::new(config),
        }
    }

    /// The current value of `secret` (its string, else its binary); errors name the secret,
    /// never its content.
    pub async fn value(&self, secret: &str) -> Result<Vec<u8>, StepError> {
        Ok(self.version(secret, None).await?.0)
    }

    /// The value of `secret` at `version` (the current one when `None`), with the version id
    /// Secrets Manager answered; errors name the secret, never its content.
    async fn version(
        &self,
        secret: &str,
        version: Option<&str>,
    ) -> Result<(Vec<u8>, Option<String>), StepError> {
        let value = self
            .client
            .get_secret_value()
            .secret_id(secret)
            .set_version_id(version.map(str::to_string))
            .send()
            .await
            .failure()
            .context(ReadSnafu { secret })?;
        let id = value.version_id().map(str::to_string);
        match (value.secret_string(), value.secret_binary()) {
            (Some(s), _) => Ok((s.as_bytes().to_vec(), id)),
            (None, Some(b)) => Ok((b.as_ref().to_vec(), id)),
            (None, None) => Err(EmptySnafu { secret }.build().into()),
        }
    }

    /// The credentials in the current version of `secret`; errors name the secret, never its
    /// content.
    pub async fn read(&self, secret: &str) -> Result<CredentialSet, StepError> {
        Ok(self.read_version(secret, None).await?.0)
    }

    /// The credentials in `version` of `secret` (the current one when `None`), with the
    /// version id read.
    async fn read_version(
        &self,
        secret: &str,
        version: Option<&str>,
    ) -> Result<(CredentialSet, Option<String>), StepError> {
        let (text, id) = self.version(secret, version).await?;
        let set = CredentialSet::from_secret(&format!("secret {secret}"), &text)?;
        Ok((set, id))
    }

    /// Makes `secret` hold `credentials`, writing a new version only when its documents
    /// differ; whether it wrote. Errors name the secret, never its content.
    pub async fn store(
        &self,
        secret: &str,
        credentials: &CredentialSet,
    ) -> Result<bool, StepError> {
        let current = match self.read(secret).await {
            Ok(current) => Some(current),
            // an unreadable value (empty, not JSON) is replaced
            Err(e) if e.kind == ErrorKind::InvalidInput => None,
            Err(e) => return Err(e),
        };
        if current.is_some_and(|c| c.same_documents(credentials)) {
            return Ok(false);
        }
        self.client
            .put_secret_value()
            .secret_id(secret)
            .secret_string(credentials.to_secret())
            .send()
            .await
            .failure()
            .context(WriteSnafu { secret })?;
        Ok(true)
    }
}

/// Where a function finds the credentials documents: the deployment's secret
/// (`VMPUSH_CREDENTIALS_SECRET`), else `CLOUD_CREDENTIALS` (pubtools' files or base64
/// documents, read once), else none.
///
/// The secret is read at the version the running step is pinned to ([`crate::pinned`]: the
/// one resolve-mapping read for the push), from the warm process's cache when it read that
/// version before; a step pinned to no version reads the current one, every time, so that
/// rotations apply.
#[derive(Debug)]
pub enum CredentialSource {
    /// A Secrets Manager secret.
    Secret(SecretSource),
    /// Documents read at start.
    Fixed(CredentialSet),
    /// No credentials.
    None,
}

/// A Secrets Manager secret and the last version of it this process read.
#[derive(Debug)]
pub struct SecretSource {
    reader: SecretCredentials,
    secret: String,
    /// The last version read (its id, its credentials).
    cache: Mutex<Option<(String, CredentialSet)>>,
}

impl SecretSource {
    /// The source over `secret`, nothing read yet.
    pub fn new(reader: SecretCredentials, secret: String) -> Self {
        SecretSource {
            reader,
            secret,
            cache: Mutex::default(),
        }
    }

    /// The credentials of `version` (from the cache when it holds that version), or of the
    /// current version when `None`; with the version id read.
    async fn at(
        &self,
        version: Option<&str>,
    ) -> Result<(CredentialSet, Option<String>), StepError> {
        if let Some(version) = version {
            let cached = self.cache.lock().ok().and_then(|c| {
                c.as_ref()
                    .filter(|(id, _)| id == version)
                    .map(|(_, set)| set.clone())
            });
            if let Some(set) = cached {
                return Ok((set, Some(version.to_string())));
            }
        }
        let (set, id) = self.reader.read_version(&self.secret, version).await?;
        if let (Some(id), Ok(mut cache)) = (&id, self.cache.lock()) {
            *cache = Some((id.clone(), set.clone()));
        }
        Ok((set, id))
    }
}

impl CredentialSource {
    /// The source the environment names.
    pub fn from_env(config: &SdkConfig) -> Result<Self, StepError> {
        if let Some(secret) = env(SECRET_ENV) {
            return Ok(CredentialSource::Secret(SecretSource::new(
                SecretCredentials::new(config),
                secret,
            )));
        }
        match env(CREDENTIALS_ENV) {
            Some(value) => CredentialSet::parse(&value, read_small_file)
                .map(CredentialSource::Fixed)
                .map_err(StepError::from),
            None => Ok(CredentialSource::None),
        }
    }

    /// The credentials of the running step: the secret at its pinned version
    /// ([`crate::pinned::credentials_version`]), else the current ones.
    pub async fn current(&self) -> Result<Option<CredentialSet>, StepError> {
        let pinned = crate::pinned::credentials_version();
        Ok(self.pin(pinned.as_deref()).await?.0)
    }

    /// The current credentials and the secret version they are (none without a secret): what
    /// resolve-mapping pins a push to.
    pub async fn pin_current(&self) -> Result<(Option<CredentialSet>, Option<String>), StepError> {
        self.pin(None).await
    }

    async fn pin(
        &self,
        version: Option<&str>,
    ) -> Result<(Option<CredentialSet>, Option<String>), StepError> {
        match self {
            CredentialSource::Secret(source) => {
                let (set, id) = source.at(version).await?;
                Ok((Some(set), id))
            }
            CredentialSource::Fixed(set) => Ok((Some(set.clone()), None)),
            CredentialSource::None => Ok((None, None)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canned::{always, config, json_error, target};

    #[tokio::test]
    async fn each_error_class_is_its_step_error_kind() {
        for (status, code, kind) in [
            (400, "ThrottlingException", ErrorKind::Throttled),
            (500, "InternalServiceError", ErrorKind::Transient),
            (400, "ResourceNotFoundException", ErrorKind::NotFound),
            (400, "AccessDeniedException", ErrorKind::Fatal),
        ] {
            let sdk = always(status, &json_error(code)).await;
            let err = SecretCredentials::new(&sdk)
                .read("vmpush-credentials")
                .await
                .unwrap_err();
            assert_eq!(err.kind, kind, "{code}: {err}");
            assert!(
                err.message
                    .starts_with(&format!("GetSecretValue vmpush-credentials: {code}")),
                "{err}"
            );
        }
    }

    #[tokio::test]
    async fn a_concurrent_version_is_a_conflict_and_no_secret_value_is_ever_in_a_message() {
        let document = r#"{"marketplace_account": "aws-us-storage", "auth": {"AWS_IMAGE_ACCESS_KEY": "AKIA-not-shown", "AWS_IMAGE_SECRET_ACCESS": "s3cr3t-not-shown"}}"#;
        let set = CredentialSet::from_secret("test", format!("[{document}]").as_bytes()).unwrap();
        let sdk = config(|request| match target(request).as_str() {
            "GetSecretValue" => (
                200,
                r#"{"Name": "vmpush-credentials", "SecretString": "[]"}"#.into(),
            ),
            _ => (400, json_error("ResourceExistsException")),
        })
        .await;
        let err = SecretCredentials::new(&sdk)
            .store("vmpush-credentials", &set)
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Conflict, "{err}");
        assert!(
            err.message.starts_with("PutSecretValue vmpush-credentials"),
            "{err}"
        );
        assert!(!err.message.contains("not-shown"), "{err}");
    }

    #[tokio::test]
    async fn a_pinned_version_is_read_once_per_process_and_an_unpinned_read_every_time() {
        use std::sync::Arc;

        let document = r#"{"marketplace_account": "aws-us-storage", "auth": {"AWS_IMAGE_ACCESS_KEY": "AKIA", "AWS_IMAGE_SECRET_ACCESS": "s"}}"#;
        let reads = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let seen = reads.clone();
        let sdk = config(move |request| {
            let body = std::str::from_utf8(request.body().bytes().unwrap_or_default())
                .unwrap_or_default()
                .to_string();
            let asked: serde_json::Value = serde_json::from_str(&body).unwrap();
            let version = asked["VersionId"]
                .as_str()
                .unwrap_or("v-current")
                .to_string();
            seen.lock().unwrap().push(version.clone());
            let answer = serde_json::json!({
                "Name": "vmpush-credentials",
                "VersionId": version,
                "SecretString": format!("[{document}]"),
            });
            (200, answer.to_string())
        })
        .await;
        let source = CredentialSource::Secret(SecretSource::new(
            SecretCredentials::new(&sdk),
            "vmpush-credentials".into(),
        ));
        let (set, version) = source.pin_current().await.unwrap();
        assert!(set.is_some());
        assert_eq!(version.as_deref(), Some("v-current"));
        for pin in ["v-current", "v-current", "v-2", "v-2"] {
            let source = &source;
            crate::pinned::with_credentials_version(Some(pin.into()), async move {
                assert!(source.current().await.unwrap().is_some());
            })
            .await;
        }
        // unpinned: the current version, read again
        assert!(source.current().await.unwrap().is_some());
        assert_eq!(
            *reads.lock().unwrap(),
            ["v-current", "v-2", "v-current"],
            "one read per new version, one per unpinned call"
        );
    }
}
