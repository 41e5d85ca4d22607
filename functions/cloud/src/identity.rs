//! Every account acts as itself: the SDK configuration of an account alias in a region, signed
//! with the identity its credentials document gives ([`AwsIdentity`]): its static keys, a role
//! assumed (`AWS_ASSUME_ROLE_ARN`, from the keys or the function's own role), or the function's
//! own role. The region decides the partition, and with it the endpoints
//! (`*.amazonaws.com.cn` in `cn-*`), as the SDK resolves them.
//!
//! One [`Identities`] serves one invocation: the credentials are read once, each alias's
//! provider built once. No key, secret or session token is logged or returned; errors name the
//! alias only.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_config::SdkConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use vmpush_domain::inputs::credentials::{Auth, AwsIdentity, CredentialSet, KeyUse};
use vmpush_domain::steps::StepError;

use crate::secrets::CredentialSource;

/// What [`Credentials`] name as their provider.
const PROVIDER_NAME: &str = "vmpush-credentials";

/// The identities of a push's accounts, for one invocation.
#[derive(Debug)]
pub struct Identities {
    base: SdkConfig,
    credentials: Option<CredentialSet>,
    /// The provider built per alias and key use (`None`: the function's own).
    providers: Mutex<HashMap<(String, KeyUse), Option<SharedCredentialsProvider>>>,
}

/// An STS role session name for an alias (`[\w+=,.@-]{2,64}`).
fn session_name(alias: &str) -> String {
    let name: String = format!("vmpush-{alias}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@-_".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    name
}

impl Identities {
    /// The identities `source` gives (read now), over the function's configuration `base`.
    pub async fn read(base: &SdkConfig, source: &CredentialSource) -> Result<Self, StepError> {
        Ok(Identities::new(base, source.current().await?))
    }

    /// The identities of `credentials` (none: every account acts as the function).
    pub fn new(base: &SdkConfig, credentials: Option<CredentialSet>) -> Self {
        Identities {
            base: base.clone(),
            credentials: credentials.filter(|c| !c.is_empty()),
            providers: Mutex::default(),
        }
    }

    /// The SDK configuration that acts as `alias` in `region`, from credentials read now: what
    /// an invocation acting for one account needs.
    pub async fn of(
        base: &SdkConfig,
        source: &CredentialSource,
        alias: &str,
        region: &str,
    ) -> Result<SdkConfig, StepError> {
        Identities::read(base, source)
            .await?
            .config(alias, region)
            .await
    }

    /// The SDK configuration that acts as `alias` in `region` for EC2 and S3.
    pub async fn config(&self, alias: &str, region: &str) -> Result<SdkConfig, StepError> {
        self.config_for(alias, region, KeyUse::Images).await
    }

    /// The SDK configuration that acts as `alias` in `region` with the keys of `use_`.
    pub async fn config_for(
        &self,
        alias: &str,
        region: &str,
        use_: KeyUse,
    ) -> Result<SdkConfig, StepError> {
        let regional = self
            .base
            .to_builder()
            .region(aws_config::Region::new(region.to_string()))
            .build();
        let known = self
            .providers
            .lock()
            .ok()
            .and_then(|p| p.get(&(alias.to_string(), use_)).cloned());
        let provider = match known {
            Some(provider) => provider,
            None => {
                let provider = self.provider(alias, &regional, use_).await?;
                if let Ok(mut providers) = self.providers.lock() {
                    providers.insert((alias.to_string(), use_), provider.clone());
                }
                provider
            }
        };
        Ok(match provider {
            Some(provider) => regional.to_builder().credentials_provider(provider).build(),
            None => regional,
        })
    }

    /// `AWS_ACCESS_ROLE_ARN` of `alias`: the role AWS Marketplace reads its AMIs with.
    pub fn access_role_arn(&self, alias: &str) -> Result<String, StepError> {
        let missing = || {
            StepError::invalid(format!(
                "credentials of {alias}: AWS_ACCESS_ROLE_ARN is needed to publish an AWS Marketplace version"
            ))
        };
        let set = self.credentials.as_ref().ok_or_else(missing)?;
        match set.get(alias)? {
            Auth::Aws(aws) if !aws.access_role_arn.is_empty() => Ok(aws.access_role_arn.clone()),
            _ => Err(missing()),
        }
    }

    /// The credentials provider of `alias`; `None` for the function's own.
    async fn provider(
        &self,
        alias: &str,
        regional: &SdkConfig,
        use_: KeyUse,
    ) -> Result<Option<SharedCredentialsProvider>, StepError> {
        let Some(set) = &self.credentials else {
            return Ok(None);
        };
        let aws = match set.get(alias)? {
            Auth::Aws(aws) => aws,
            Auth::Azure(_) => {
                return Err(StepError::invalid(format!(
                    "credentials of {alias}: an Azure account has no AWS identity"
                )));
            }
        };
        let keys = |access_key: &str, secret: &str| {
            SharedCredentialsProvider::new(Credentials::new(
                access_key,
                secret,
                None,
                None,
                PROVIDER_NAME,
            ))
        };
        Ok(match aws.identity_for(use_) {
            AwsIdentity::Own => None,
            AwsIdentity::Keys { access_key, secret } => Some(keys(&access_key, secret.expose())),
            AwsIdentity::Role {
                arn,
                external_id,
                keys: source,
            } => {
                let from = match source {
                    Some((access_key, secret)) => regional
                        .to_builder()
                        .credentials_provider(keys(&access_key, secret.expose()))
                        .build(),
                    None => regional.clone(),
                };
                let mut builder = AssumeRoleProvider::builder(arn)
                    .session_name(session_name(alias))
                    .configure(&from);
                if let Some(id) = external_id {
                    builder = builder.external_id(id);
                }
                Some(SharedCredentialsProvider::new(builder.build().await))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex as StdMutex};

    use aws_credential_types::provider::ProvideCredentials;
    use base64::Engine;

    use super::*;
    use crate::canned;

    fn set(auth: &str) -> CredentialSet {
        let doc = format!(
            r#"[{{"marketplace_account": "aws-us-storage", "auth": {{"AWS_IMAGE_ACCESS_KEY": "AKIAUS", "AWS_IMAGE_SECRET_ACCESS": "us-secret", "AWS_MARKETPLACE_ACCESS_KEY": "", "AWS_MARKETPLACE_SECRET_ACCESS": "", "AWS_ACCESS_ROLE_ARN": ""}}}},
            {{"marketplace_account": "aws-us-gov-storage", "auth": {auth}}}]"#
        );
        let encoded = base64::engine::general_purpose::STANDARD.encode(doc);
        CredentialSet::parse(&encoded, |_| unreachable!("no files")).unwrap()
    }

    async fn access_key(config: &SdkConfig) -> String {
        let provider = config.credentials_provider().expect("a provider");
        provider
            .provide_credentials()
            .await
            .unwrap()
            .access_key_id()
            .to_string()
    }

    #[tokio::test]
    async fn each_alias_signs_with_its_own_keys_in_the_region_asked() {
        let base = canned::always(500, "").await;
        let identities = Identities::new(
            &base,
            Some(set(
                r#"{"AWS_IMAGE_ACCESS_KEY": "AKIAGOV", "AWS_IMAGE_SECRET_ACCESS": "gov-secret", "AWS_MARKETPLACE_ACCESS_KEY": "", "AWS_MARKETPLACE_SECRET_ACCESS": "", "AWS_ACCESS_ROLE_ARN": ""}"#,
            )),
        );
        let us = identities
            .config("aws-us-storage", "us-east-1")
            .await
            .unwrap();
        let gov = identities
            .config("aws-us-gov-storage", "us-gov-west-1")
            .await
            .unwrap();
        assert_eq!(access_key(&us).await, "AKIAUS");
        assert_eq!(access_key(&gov).await, "AKIAGOV");
        assert_eq!(gov.region().map(|r| r.as_ref()), Some("us-gov-west-1"));
        let err = identities
            .config("aws-china-storage", "cn-north-1")
            .await
            .unwrap_err();
        assert!(
            err.message
                .contains("The credentials for aws-china-storage were not found"),
            "{err}"
        );
        let debug = format!("{identities:?}");
        assert!(!debug.contains("gov-secret") && !debug.contains("us-secret"));
    }

    #[tokio::test]
    async fn marketplace_calls_sign_with_the_marketplace_keys() {
        let base = canned::always(500, "").await;
        let identities = Identities::new(
            &base,
            Some(set(
                r#"{"AWS_IMAGE_ACCESS_KEY": "AKIAGOV", "AWS_IMAGE_SECRET_ACCESS": "gov-secret", "AWS_MARKETPLACE_ACCESS_KEY": "AKIAMKT", "AWS_MARKETPLACE_SECRET_ACCESS": "mkt-secret", "AWS_ACCESS_ROLE_ARN": "arn:aws-us-gov:iam::222222222222:role/ingest"}"#,
            )),
        );
        let images = identities
            .config("aws-us-gov-storage", "us-gov-west-1")
            .await
            .unwrap();
        let seller = identities
            .config_for("aws-us-gov-storage", "us-east-1", KeyUse::Marketplace)
            .await
            .unwrap();
        assert_eq!(access_key(&images).await, "AKIAGOV");
        assert_eq!(access_key(&seller).await, "AKIAMKT");
        assert_eq!(
            identities.access_role_arn("aws-us-gov-storage").unwrap(),
            "arn:aws-us-gov:iam::222222222222:role/ingest"
        );
        // an account without one cannot publish a version
        let err = identities.access_role_arn("aws-us-storage").unwrap_err();
        assert!(err.message.contains("AWS_ACCESS_ROLE_ARN"), "{err}");
        // no keys for the Marketplace: the function's own role
        let own = access_key(&base).await;
        let us = identities
            .config_for("aws-us-storage", "us-east-1", KeyUse::Marketplace)
            .await
            .unwrap();
        assert_eq!(access_key(&us).await, own);
    }

    #[tokio::test]
    async fn no_credentials_or_no_keys_act_as_the_function() {
        let base = canned::always(500, "").await;
        let own = access_key(&base).await;
        let none = Identities::new(&base, None);
        let config = none.config("aws-us-storage", "eu-west-1").await.unwrap();
        assert_eq!(access_key(&config).await, own);
        let empty = Identities::new(
            &base,
            Some(set(
                r#"{"AWS_IMAGE_ACCESS_KEY": "", "AWS_IMAGE_SECRET_ACCESS": "", "AWS_MARKETPLACE_ACCESS_KEY": "", "AWS_MARKETPLACE_SECRET_ACCESS": "", "AWS_ACCESS_ROLE_ARN": ""}"#,
            )),
        );
        let config = empty
            .config("aws-us-gov-storage", "us-gov-west-1")
            .await
            .unwrap();
        assert_eq!(access_key(&config).await, own);
    }

    #[tokio::test]
    async fn a_role_is_assumed_with_its_external_id_and_a_session_per_alias() {
        let seen = Arc::new(StdMutex::new(Vec::new()));
        let requests = seen.clone();
        let base = canned::config(move |request| {
            let body = std::str::from_utf8(request.body().bytes().unwrap_or_default())
                .unwrap()
                .to_string();
            let signed_with = request
                .headers()
                .get("authorization")
                .unwrap_or_default()
                .to_string();
            requests.lock().unwrap().push((body, signed_with));
            (
                200,
                "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIAROLE</AccessKeyId><SecretAccessKey>role-secret</SecretAccessKey><SessionToken>token</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROA:vmpush</AssumedRoleId><Arn>arn:aws-us-gov:sts::222222222222:assumed-role/publisher/vmpush</Arn></AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>"
                    .to_string(),
            )
        })
        .await;
        let identities = Identities::new(
            &base,
            Some(set(
                r#"{"AWS_IMAGE_ACCESS_KEY": "AKIAGOV", "AWS_IMAGE_SECRET_ACCESS": "gov-secret", "AWS_ACCESS_ROLE_ARN": "", "AWS_ASSUME_ROLE_ARN": "arn:aws-us-gov:iam::222222222222:role/publisher", "AWS_ASSUME_ROLE_EXTERNAL_ID": "release-team"}"#,
            )),
        );
        let config = identities
            .config("aws-us-gov-storage", "us-gov-west-1")
            .await
            .unwrap();
        assert_eq!(access_key(&config).await, "ASIAROLE");
        let seen = seen.lock().unwrap();
        let (body, signed_with) = &seen[0];
        for field in [
            "Action=AssumeRole",
            "RoleArn=arn%3Aaws-us-gov%3Aiam%3A%3A222222222222%3Arole%2Fpublisher",
            "RoleSessionName=vmpush-aws-us-gov-storage",
            "ExternalId=release-team",
        ] {
            assert!(body.split('&').any(|f| f == field), "{field} not in {body}");
        }
        assert!(
            signed_with.contains("Credential=AKIAGOV/"),
            "the role is assumed with the account's keys: {signed_with}"
        );
        assert!(signed_with.contains("/us-gov-west-1/sts/"), "{signed_with}");
    }

    #[test]
    fn session_names_are_what_sts_takes() {
        assert_eq!(session_name("aws-us-storage"), "vmpush-aws-us-storage");
        assert_eq!(session_name("a b/c"), "vmpush-a-b-c");
        assert_eq!(session_name(&"x".repeat(100)).len(), 64);
    }
}
