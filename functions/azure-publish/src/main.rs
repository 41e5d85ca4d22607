//! `vmpush-azure-publish`: wiring only. Each invocation signs in to Partner Center with the
//! destination's Azure account (its service principal in the credentials) and reads the
//! account's storage for the blob and its read-only SAS; the step is
//! [`vmpush_domain::steps::azure_publish`].
//! Environment: `VMPUSH_AZURE_LOGIN_URL`, `VMPUSH_AZURE_INGESTION_URL` (Microsoft's by
//! default).

use std::time::SystemTime;

use lambda_runtime::Error;
use vmpush_cloud::azure::StorageAccount;
use vmpush_cloud::azure::blobs::AzureBlobs;
use vmpush_cloud::azure::ingestion::{Endpoints, PartnerCenter};
use vmpush_cloud::lambda::serve;
use vmpush_cloud::secrets::CredentialSource;
use vmpush_domain::payloads::AzurePublishInput;
use vmpush_domain::steps::azure_publish::{Context, run};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let sdk = &vmpush_cloud::aws::sdk_config().await;
    let credentials = &CredentialSource::from_env(sdk)?;
    let endpoints = &Endpoints::from_env();
    serve(
        "azure-publish",
        |input: AzurePublishInput, _context| async move {
            let set = credentials.current().await?;
            let alias = &input.destination.account;
            let account = StorageAccount::of(set.as_ref(), alias)?;
            let blobs = AzureBlobs::new(&account)?;
            let ingestion = PartnerCenter::connect(set.as_ref(), alias, endpoints).await?;
            let cx = Context {
                ingestion: &ingestion,
                blobs: &blobs,
                now: SystemTime::now(),
            };
            run(&cx, &input).await
        },
    )
    .await
}
