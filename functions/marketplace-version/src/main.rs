//! `vmpush-marketplace-version`: wiring only. Each invocation moves one destination's AWS
//! Marketplace version one step on (start, check, restrict); the step is
//! [`vmpush_domain::steps::marketplace_version`], the Catalog calls
//! [`vmpush_cloud::marketplace::MarketplaceCatalog`] with the account's Marketplace keys, the
//! EC2 calls [`vmpush_cloud::ec2::images::Ec2Images`] with its image keys.

use std::time::SystemTime;

use lambda_runtime::Error;
use vmpush_cloud::ec2::images::Ec2Images;
use vmpush_cloud::identity::Identities;
use vmpush_cloud::lambda::serve;
use vmpush_cloud::marketplace::{CATALOG_REGION, MarketplaceCatalog};
use vmpush_cloud::secrets::CredentialSource;
use vmpush_cloud::{ec2, marketplace};
use vmpush_domain::inputs::credentials::KeyUse;
use vmpush_domain::payloads::VersionInput;
use vmpush_domain::steps::StepError;
use vmpush_domain::steps::marketplace_version::{Context, run};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let sdk = &vmpush_cloud::aws::sdk_config().await;
    let credentials = &CredentialSource::from_env(sdk)?;
    serve("marketplace-version", |input: VersionInput, _| async move {
        let d = &input.destination;
        let region = d.region.clone().ok_or_else(|| {
            StepError::invalid(format!(
                "marketplace-version input: {} has no region",
                d.destination
            ))
        })?;
        let identities = Identities::read(sdk, credentials).await?;
        let images = identities.config(&d.account, &region).await?;
        let seller = identities
            .config_for(&d.account, CATALOG_REGION, KeyUse::Marketplace)
            .await?;
        let access_role_arn = identities.access_role_arn(&d.account)?;
        let cx = Context {
            catalog: &MarketplaceCatalog::new(marketplace::client(&seller)),
            images: &Ec2Images::new(ec2::client(&images, &region), &region),
            access_role_arn: &access_role_arn,
            now: SystemTime::now(),
        };
        run(&cx, &input).await
    })
    .await
}
