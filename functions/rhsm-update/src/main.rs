//! `vmpush-rhsm-update`: wiring only. Each invocation tells RHSM about one shipped AMI; the
//! step is [`vmpush_domain::steps::rhsm_update`], the HTTP calls
//! [`vmpush_cloud::rhsm::HttpRhsm`].
//!
//! Environment: `VMPUSH_RHSM_URL`, with the client certificate from the secret
//! `VMPUSH_RHSM_CERT_SECRET` names or pubtools' `RHSM_CERT`/`RHSM_KEY` files (see
//! [`HttpRhsm::from_env`]). A certificate that cannot be read fails each invocation, with the
//! reason, instead of the function's start.

use std::time::SystemTime;

use lambda_runtime::Error;
use vmpush_cloud::lambda::serve;
use vmpush_cloud::rhsm::HttpRhsm;
use vmpush_domain::payloads::RhsmInput;
use vmpush_domain::steps::StepError;
use vmpush_domain::steps::rhsm_update::run;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let sdk = vmpush_cloud::aws::sdk_config().await;
    let rhsm = &HttpRhsm::from_env(&sdk).await.and_then(|rhsm| {
        rhsm.ok_or_else(|| StepError::invalid("environment variable VMPUSH_RHSM_URL is not set"))
    });
    serve("rhsm-update", |input: RhsmInput, _| async move {
        run(
            rhsm.as_ref().map_err(Clone::clone)?,
            &input,
            SystemTime::now(),
        )
        .await
    })
    .await
}
