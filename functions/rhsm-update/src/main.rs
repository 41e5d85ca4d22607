//! `vmpush-rhsm-update`: wiring only. Each invocation tells RHSM about one shipped AMI; the
//! step is [`vmpush_domain::steps::rhsm_update`], the HTTP calls
//! [`vmpush_cloud::rhsm::HttpRhsm`].
//!
//! Environment: `VMPUSH_RHSM_URL`, with `RHSM_CERT`/`RHSM_KEY` for the client certificate
//! and `VMPUSH_RHSM_CA` for a private CA.

use std::time::SystemTime;

use lambda_runtime::Error;
use vmpush_cloud::lambda::serve;
use vmpush_cloud::rhsm::HttpRhsm;
use vmpush_domain::payloads::RhsmInput;
use vmpush_domain::steps::rhsm_update::run;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let rhsm = &HttpRhsm::from_env()?.ok_or("environment variable VMPUSH_RHSM_URL is not set")?;
    serve("rhsm-update", |input: RhsmInput, _| async move {
        run(rhsm, &input, SystemTime::now()).await
    })
    .await
}
