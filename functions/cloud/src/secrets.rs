//! Credentials from AWS Secrets Manager: the secret holds pubtools' credentials documents
//! (one, or a JSON array), so the deployed pipeline needs no files; another may hold RHSM's
//! client certificate ([`crate::rhsm::HttpRhsm::from_env`]).

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
        let value = self
            .client
            .get_secret_value()
            .secret_id(secret)
            .send()
            .await
            .failure()
            .context(ReadSnafu { secret })?;
        match (value.secret_string(), value.secret_binary()) {
            (Some(s), _) => Ok(s.as_bytes().to_vec()),
            (None, Some(b)) => Ok(b.as_ref().to_vec()),
            (None, None) => Err(EmptySnafu { secret }.build().into()),
        }
    }

    /// The credentials in the current version of `secret`; errors name the secret, never its
    /// content.
    pub async fn read(&self, secret: &str) -> Result<CredentialSet, StepError> {
        let text = self.value(secret).await?;
        Ok(CredentialSet::from_secret(
            &format!("secret {secret}"),
            &text,
        )?)
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
/// (`VMPUSH_CREDENTIALS_SECRET`, read at every invocation so that rotations apply), else
/// `CLOUD_CREDENTIALS` (pubtools' files or base64 documents, read once), else none.
#[derive(Debug)]
pub enum CredentialSource {
    /// A Secrets Manager secret.
    Secret(SecretCredentials, String),
    /// Documents read at start.
    Fixed(CredentialSet),
    /// No credentials.
    None,
}

impl CredentialSource {
    /// The source the environment names.
    pub fn from_env(config: &SdkConfig) -> Result<Self, StepError> {
        if let Some(secret) = env(SECRET_ENV) {
            return Ok(CredentialSource::Secret(
                SecretCredentials::new(config),
                secret,
            ));
        }
        match env(CREDENTIALS_ENV) {
            Some(value) => CredentialSet::parse(&value, read_small_file)
                .map(CredentialSource::Fixed)
                .map_err(StepError::from),
            None => Ok(CredentialSource::None),
        }
    }

    /// The current credentials.
    pub async fn current(&self) -> Result<Option<CredentialSet>, StepError> {
        match self {
            CredentialSource::Secret(secrets, secret) => secrets.read(secret).await.map(Some),
            CredentialSource::Fixed(set) => Ok(Some(set.clone())),
            CredentialSource::None => Ok(None),
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
}
