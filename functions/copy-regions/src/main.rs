//! `vmpush-copy-regions`: wiring only. `start` gets or creates the snapshot's copy in every
//! destination region at once, `check` follows the pending ones; the logic is
//! [`vmpush_domain::steps::copy_regions::run`], the EC2 calls
//! [`vmpush_cloud::ec2::regions::Ec2Regions`].

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use vmpush_cloud::ec2::regions::Ec2Regions;
use vmpush_cloud::lambda::Failure;
use vmpush_domain::steps::StepError;
use vmpush_domain::steps::copy_regions::{CopyInput, run};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let regions = &Ec2Regions::new(vmpush_cloud::aws::sdk_config().await);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let input: CopyInput = serde_json::from_value(event.payload)
            .map_err(|e| Failure(StepError::invalid(format!("copy-regions input: {e}"))))?;
        run(regions, &input).await.map_err(Failure)
    }))
    .await
}
