//! `vmpush-upload`: wiring only. Each invocation reads the staged file with the function's
//! own client and writes to a client of the target bucket's region; the step is
//! [`vmpush_domain::steps::upload`].
//!
//! Environment: `VMPUSH_UPLOAD_IN_FLIGHT_MIB` (part data in memory at once, default 32),
//! `VMPUSH_UPLOAD_MARGIN_SECS` (no part starts later than this before the Lambda deadline,
//! default 60), `VMPUSH_UPLOAD_FALLBACK_SECS` (the budget when the runtime gives no usable
//! deadline, default 600).

use std::time::Duration;

use lambda_runtime::Error;
use vmpush_cloud::lambda::{env_u64, serve, stop_before_deadline};
use vmpush_cloud::s3::uploads::S3Store;
use vmpush_cloud::s3::{client, client_in};
use vmpush_domain::payloads::UploadInput;
use vmpush_domain::steps::upload::{Budget, Tuning, run};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let sdk = &vmpush_cloud::aws::sdk_config().await;
    let staging = &client(sdk);
    let in_flight_bytes = env_u64("VMPUSH_UPLOAD_IN_FLIGHT_MIB", 32)? << 20;
    let tuning = &Tuning {
        in_flight_bytes,
        ..Tuning::default()
    };
    let margin = Duration::from_secs(env_u64("VMPUSH_UPLOAD_MARGIN_SECS", 60)?);
    let fallback = Duration::from_secs(env_u64("VMPUSH_UPLOAD_FALLBACK_SECS", 600)?);
    serve("upload", |input: UploadInput, context| async move {
        let store = S3Store::new(staging.clone(), client_in(sdk, &input.work.region));
        let deadline = Some(stop_before_deadline(&context, margin, fallback));
        let budget = Budget {
            deadline,
            max_parts: None,
        };
        run(&store, &input, tuning, budget).await
    })
    .await
}
