//! `vmpush-publish`: wiring only. Each invocation publishes one destination in its region;
//! the logic is [`vmpush_domain::steps::publish::run`], the EC2 calls
//! [`vmpush_cloud::ec2::images::Ec2Images`].

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use vmpush_cloud::ec2::client;
use vmpush_cloud::ec2::images::Ec2Images;
use vmpush_cloud::lambda::Failure;
use vmpush_domain::steps::StepError;
use vmpush_domain::steps::publish::{PublishInput, run};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let sdk = &vmpush_cloud::aws::sdk_config().await;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let input: PublishInput = serde_json::from_value(event.payload)
            .map_err(|e| Failure(StepError::invalid(format!("publish input: {e}"))))?;
        let region = input.destination.region.clone().ok_or_else(|| {
            Failure(StepError::invalid(format!(
                "publish input: {} has no region",
                input.destination.destination
            )))
        })?;
        let images = Ec2Images::new(client(sdk, &region), &region);
        run(&images, &input).await.map_err(Failure)
    }))
    .await
}
