//! `vmpush-resolve-mapping`: wiring only.
//!
//! Environment: `VMPUSH_RHSM_URL` (with `RHSM_CERT`/`RHSM_KEY` for the client certificate and
//! `VMPUSH_RHSM_CA` for a private CA), `VMPUSH_CREDENTIALS_SECRET` (a Secrets Manager secret
//! holding pubtools' credentials documents, read at every invocation so rotations apply) or
//! else `CLOUD_CREDENTIALS` (pubtools' format: comma list of JSON files or base64 JSON),
//! `COMMUNITY_PUSH_REQUIRE_BILLING_CODES`.

// The plan future (staged trees, StArMap, RHSM) nests deeper than the default limit.
#![recursion_limit = "256"]

mod handler;

use std::path::Path;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use vmpush_cloud::lambda::Failure;
use vmpush_cloud::rhsm::HttpRhsm;
use vmpush_cloud::s3::S3Objects;
use vmpush_cloud::secrets::{SECRET_ENV, SecretCredentials};
use vmpush_cloud::starmap::{HttpStarmap, StarmapParams};
use vmpush_domain::inputs::credentials::{CREDENTIALS_ENV, CredentialSet};
use vmpush_domain::inputs::push::Push;
use vmpush_domain::steps::StepError;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let sdk = vmpush_cloud::aws::sdk_config().await;
    let trees = &S3Objects::new(vmpush_cloud::s3::client(&sdk));
    let (cert, key, ca) = (env("RHSM_CERT"), env("RHSM_KEY"), env("VMPUSH_RHSM_CA"));
    let rhsm = match env("VMPUSH_RHSM_URL") {
        Some(url) => Some(HttpRhsm::new(
            &url,
            cert.as_deref()
                .zip(key.as_deref())
                .map(|(c, k)| (Path::new(c), Path::new(k))),
            ca.as_deref().map(Path::new),
        )?),
        None => None,
    };
    let secret = env(SECRET_ENV);
    let secrets = &SecretCredentials::new(&sdk);
    let credentials = match env(CREDENTIALS_ENV) {
        Some(value) => {
            Some(CredentialSet::parse(&value, |p| std::fs::read(p)).map_err(|e| e.to_string())?)
        }
        None => None,
    };
    let require_billing_codes =
        env("COMMUNITY_PUSH_REQUIRE_BILLING_CODES").is_none_or(|v| v.eq_ignore_ascii_case("true"));
    let (rhsm, credentials, secret) = (rhsm.as_ref(), credentials.as_ref(), secret.as_deref());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let from_secret = match secret {
            Some(secret) => Some(secrets.read(secret).await.map_err(Failure)?),
            None => None,
        };
        let push: Push = serde_json::from_value(event.payload)
            .map_err(|e| Failure(StepError::invalid(format!("resolve-mapping input: {e}"))))?;
        let starmap = match &push.request.starmap.url {
            Some(url) => Some(
                HttpStarmap::new(url, StarmapParams::default()).map_err(|e| Failure(e.into()))?,
            ),
            None => None,
        };
        let context = handler::Context {
            trees,
            rhsm,
            starmap,
            credentials: from_secret.as_ref().or(credentials),
            require_billing_codes,
        };
        handler::handle(&push, context).await.map_err(Failure)
    }))
    .await
}
