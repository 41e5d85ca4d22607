//! `vmpush-summarize`: wiring only. Writes the result of a push under
//! `results/<push id>/` of `VMPUSH_RESULTS_BUCKET` and returns it with the notice; the logic
//! is [`vmpush_domain::steps::summarize`].

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use vmpush_cloud::lambda::{Failure, required_env};
use vmpush_cloud::s3::{S3Objects, client};
use vmpush_domain::steps::StepError;
use vmpush_domain::steps::summarize::{SummaryInput, write};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let sdk = vmpush_cloud::aws::sdk_config().await;
    let store = &S3Objects::new(client(&sdk));
    let bucket = &required_env("VMPUSH_RESULTS_BUCKET")?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let input: SummaryInput = serde_json::from_value(event.payload)
            .map_err(|e| Failure(StepError::invalid(format!("summarize input: {e}"))))?;
        write(store, bucket, &input).await.map_err(Failure)
    }))
    .await
}
