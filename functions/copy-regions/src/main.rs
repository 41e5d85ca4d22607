//! `vmpush-copy-regions`: wiring only. `start` gets or creates the snapshot's copy in one
//! region, `check` follows it; the step is [`vmpush_domain::steps::copy_regions`], the EC2
//! calls [`vmpush_cloud::ec2::regions::Ec2Regions`].

use lambda_runtime::Error;
use vmpush_cloud::ec2::regions::Ec2Regions;
use vmpush_cloud::lambda::serve;
use vmpush_domain::payloads::CopyInput;
use vmpush_domain::steps::copy_regions::run;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let regions = &Ec2Regions::new(vmpush_cloud::aws::sdk_config().await);
    serve("copy-regions", |input: CopyInput, _| async move {
        run(regions, &input).await
    })
    .await
}
