//! `vmpush-rhsm-update`: wiring only. Each invocation tells RHSM about one shipped AMI; the
//! logic is [`vmpush_domain::steps::rhsm_update::run`], the HTTP calls
//! [`vmpush_cloud::rhsm::HttpRhsm`].
//!
//! Environment: `VMPUSH_RHSM_URL`, with `RHSM_CERT`/`RHSM_KEY` for the client certificate
//! and `VMPUSH_RHSM_CA` for a private CA.

use std::path::Path;
use std::time::SystemTime;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use vmpush_cloud::lambda::{Failure, required_env};
use vmpush_cloud::rhsm::HttpRhsm;
use vmpush_domain::steps::StepError;
use vmpush_domain::steps::rhsm_update::{RhsmInput, run};

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let (cert, key, ca) = (env("RHSM_CERT"), env("RHSM_KEY"), env("VMPUSH_RHSM_CA"));
    let rhsm = &HttpRhsm::new(
        &required_env("VMPUSH_RHSM_URL")?,
        cert.as_deref()
            .zip(key.as_deref())
            .map(|(c, k)| (Path::new(c), Path::new(k))),
        ca.as_deref().map(Path::new),
    )?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let input: RhsmInput = serde_json::from_value(event.payload)
            .map_err(|e| Failure(StepError::invalid(format!("rhsm-update input: {e}"))))?;
        run(rhsm, &input, SystemTime::now()).await.map_err(Failure)
    }))
    .await
}
