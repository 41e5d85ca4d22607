//! `vmpush-copy-regions`: wiring only. `start` gets or creates the snapshot's copy in one
//! region, as its account, `check` follows it; the step is
//! [`vmpush_domain::steps::copy_regions`], the EC2 calls
//! [`vmpush_cloud::ec2::regions::Ec2Regions`].

use lambda_runtime::Error;
use vmpush_cloud::ec2::regions::Ec2Regions;
use vmpush_cloud::identity::Identities;
use vmpush_cloud::lambda::serve;
use vmpush_cloud::secrets::CredentialSource;
use vmpush_domain::payloads::CopyInput;
use vmpush_domain::steps::copy_regions::run;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let sdk = &vmpush_cloud::aws::sdk_config().await;
    let credentials = &CredentialSource::from_env(sdk)?;
    serve("copy-regions", |input: CopyInput, _| async move {
        let account = Identities::of(sdk, credentials, &input.account, &input.region).await?;
        run(&Ec2Regions::new(account), &input).await
    })
    .await
}
