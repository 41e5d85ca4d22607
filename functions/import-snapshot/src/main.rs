//! `vmpush-import-snapshot`: wiring only. Each invocation imports in the region of its input
//! (`start` gets or creates the import, `check` reports it); the logic is
//! [`vmpush_domain::steps::import_snapshot::run`], the EC2 calls [`vmpush_cloud::ec2::Ec2Snapshots`].

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use vmpush_cloud::ec2::{Ec2Snapshots, client};
use vmpush_cloud::lambda::Failure;
use vmpush_domain::steps::StepError;
use vmpush_domain::steps::import_snapshot::{ImportInput, run};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let sdk = &vmpush_cloud::aws::sdk_config().await;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let input: ImportInput = serde_json::from_value(event.payload)
            .map_err(|e| Failure(StepError::invalid(format!("import-snapshot input: {e}"))))?;
        let snapshots = Ec2Snapshots::new(client(sdk, &input.region));
        run(&snapshots, &input).await.map_err(Failure)
    }))
    .await
}
