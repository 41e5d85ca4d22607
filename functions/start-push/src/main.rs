//! `vmpush-start-push`: wiring only. Reads its configuration from the environment, builds the
//! SDK clients once and hands events to [`handler::handle`].
//!
//! Environment: `VMPUSH_STATE_MACHINE_ARN` (required), `VMPUSH_STAGING_BUCKET` (for
//! `staged:<prefix>` sources given without a bucket).

mod handler;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use vmpush_cloud::lambda::{Failure, required_env};
use vmpush_cloud::s3::S3Objects;
use vmpush_cloud::sfn::SfnExecutions;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let state_machine = required_env("VMPUSH_STATE_MACHINE_ARN")?;
    let staging_bucket = std::env::var("VMPUSH_STAGING_BUCKET").ok();
    let sdk = vmpush_cloud::aws::sdk_config().await;
    let objects = S3Objects::new(vmpush_cloud::s3::client(&sdk));
    let executions = SfnExecutions::new(&sdk, state_machine);
    let (objects, executions, staging) = (&objects, &executions, staging_bucket.as_deref());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handler::handle(event.payload, objects, executions, staging)
            .await
            .map_err(Failure)
    }))
    .await
}
