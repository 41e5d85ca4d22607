//! `vmpush-upload`: wiring only. Each invocation reads the staged file with the function's
//! own client and writes, as the upload's account, to a client of the target bucket's region;
//! the step is [`vmpush_domain::steps::upload`].
//! Environment: `VMPUSH_UPLOAD_IN_FLIGHT_MIB` (part data in memory, default 32),
//! `VMPUSH_UPLOAD_MARGIN_SECS` (no part starts later before the deadline, default 60),
//! `VMPUSH_UPLOAD_FALLBACK_SECS` (the budget without a usable deadline, default 600).

use std::time::Duration;

use lambda_runtime::Error;
use vmpush_cloud::identity::Identities;
use vmpush_cloud::lambda::{env_u64, serve, stop_before_deadline};
use vmpush_cloud::s3::uploads::S3Store;
use vmpush_cloud::s3::{client, client_in};
use vmpush_cloud::secrets::CredentialSource;
use vmpush_domain::payloads::UploadInput;
use vmpush_domain::steps::upload::{Budget, Tuning, run};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let sdk = &vmpush_cloud::aws::sdk_config().await;
    let staging = &client(sdk);
    let credentials = &CredentialSource::from_env(sdk)?;
    let in_flight_bytes = env_u64("VMPUSH_UPLOAD_IN_FLIGHT_MIB", 32)? << 20;
    let tuning = &Tuning {
        in_flight_bytes,
        ..Tuning::default()
    };
    let margin = Duration::from_secs(env_u64("VMPUSH_UPLOAD_MARGIN_SECS", 60)?);
    let fallback = Duration::from_secs(env_u64("VMPUSH_UPLOAD_FALLBACK_SECS", 600)?);
    serve("upload", |input: UploadInput, context| async move {
        let (account, region) = (&input.work.account, &input.work.region);
        let target = Identities::of(sdk, credentials, account, region).await?;
        let store = S3Store::new(staging.clone(), client_in(&target, region));
        let deadline = Some(stop_before_deadline(&context, margin, fallback));
        let budget = Budget::default();
        run(&store, &input, tuning, Budget { deadline, ..budget }).await
    })
    .await
}
