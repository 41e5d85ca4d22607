//! `vmpush-push-status`: wiring only. Answers `GET /pushes/{id}` of the push API (API Gateway
//! proxy integration) with [`handler::handle`].
//!
//! Environment: `VMPUSH_STATE_MACHINE_ARN`, `VMPUSH_RESULTS_BUCKET`.

mod handler;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use vmpush_cloud::lambda::required_env;
use vmpush_cloud::s3::{S3Objects, client};
use vmpush_cloud::sfn::watch::PushWatch;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let sdk = vmpush_cloud::aws::sdk_config().await;
    let watch = &PushWatch::new(&sdk, required_env("VMPUSH_STATE_MACHINE_ARN")?);
    let results = &S3Objects::new(client(&sdk));
    let bucket = &required_env("VMPUSH_RESULTS_BUCKET")?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(handler::handle(&event.payload, watch, results, bucket).await)
    }))
    .await
}
