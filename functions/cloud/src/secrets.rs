//! Credentials from AWS Secrets Manager: the secret holds pubtools' credentials documents
//! (one, or a JSON array), so the deployed pipeline needs no files.

use aws_config::SdkConfig;
use aws_sdk_secretsmanager::Client;
use vmpush_domain::inputs::credentials::CredentialSet;
use vmpush_domain::steps::{ErrorKind, StepError};

use crate::aws::classify;

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

    /// The credentials in the current version of `secret`; errors name the secret, never its
    /// content.
    pub async fn read(&self, secret: &str) -> Result<CredentialSet, StepError> {
        let value = self
            .client
            .get_secret_value()
            .secret_id(secret)
            .send()
            .await
            .map_err(|e| classify(&format!("GetSecretValue {secret}"), &e))?;
        let text = match (value.secret_string(), value.secret_binary()) {
            (Some(s), _) => s.as_bytes().to_vec(),
            (None, Some(b)) => b.as_ref().to_vec(),
            (None, None) => {
                return Err(StepError::new(
                    ErrorKind::InvalidInput,
                    format!("secret {secret}: no value"),
                ));
            }
        };
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
            .map_err(|e| classify(&format!("PutSecretValue {secret}"), &e))?;
        Ok(true)
    }
}
