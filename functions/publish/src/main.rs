//! `vmpush-publish`: wiring only. Each invocation publishes one destination in its region, as
//! its account; the step is [`vmpush_domain::steps::publish`], the EC2 calls
//! [`vmpush_cloud::ec2::images::Ec2Images`].

use lambda_runtime::Error;
use vmpush_cloud::ec2::client;
use vmpush_cloud::ec2::images::Ec2Images;
use vmpush_cloud::identity::Identities;
use vmpush_cloud::lambda::serve;
use vmpush_cloud::secrets::CredentialSource;
use vmpush_domain::payloads::PublishInput;
use vmpush_domain::steps::StepError;
use vmpush_domain::steps::publish::run;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let sdk = &vmpush_cloud::aws::sdk_config().await;
    let credentials = &CredentialSource::from_env(sdk)?;
    serve("publish", |input: PublishInput, _| async move {
        let region = input.destination.region.clone().ok_or_else(|| {
            StepError::invalid(format!(
                "publish input: {} has no region",
                input.destination.destination
            ))
        })?;
        let alias = &input.destination.account;
        let account = Identities::of(sdk, credentials, alias, &region).await?;
        run(&Ec2Images::new(client(&account, &region), &region), &input).await
    })
    .await
}
