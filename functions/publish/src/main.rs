//! `vmpush-publish`: wiring only. Each invocation publishes one destination in its region;
//! the step is [`vmpush_domain::steps::publish`], the EC2 calls
//! [`vmpush_cloud::ec2::images::Ec2Images`].

use lambda_runtime::Error;
use vmpush_cloud::ec2::client;
use vmpush_cloud::ec2::images::Ec2Images;
use vmpush_cloud::lambda::serve;
use vmpush_domain::payloads::PublishInput;
use vmpush_domain::steps::StepError;
use vmpush_domain::steps::publish::run;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let sdk = &vmpush_cloud::aws::sdk_config().await;
    serve("publish", |input: PublishInput, _| async move {
        let region = input.destination.region.clone().ok_or_else(|| {
            StepError::invalid(format!(
                "publish input: {} has no region",
                input.destination.destination
            ))
        })?;
        run(&Ec2Images::new(client(sdk, &region), &region), &input).await
    })
    .await
}
