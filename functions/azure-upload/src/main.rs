//! `vmpush-azure-upload`: wiring only. Each invocation reads the staged file with the
//! function's own S3 client and writes page blobs to the storage account of the upload's
//! Azure account (its connection string in the credentials); the step is
//! [`vmpush_domain::steps::azure_upload`].
//! Environment: `VMPUSH_AZURE_UPLOAD_IN_FLIGHT` (4 MiB writes in flight, default 8),
//! `VMPUSH_UPLOAD_MARGIN_SECS` (no write starts later before the deadline, default 60),
//! `VMPUSH_UPLOAD_FALLBACK_SECS` (the budget without a usable deadline, default 600).

use std::time::Duration;

use lambda_runtime::Error;
use vmpush_cloud::azure::StorageAccount;
use vmpush_cloud::azure::blobs::AzureBlobs;
use vmpush_cloud::lambda::{env_u64, serve, stop_before_deadline};
use vmpush_cloud::s3::client;
use vmpush_cloud::s3::uploads::S3Store;
use vmpush_cloud::secrets::CredentialSource;
use vmpush_domain::payloads::AzureUploadInput;
use vmpush_domain::steps::azure_upload::{BlobTuning, run};
use vmpush_domain::steps::upload::Budget;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let sdk = &vmpush_cloud::aws::sdk_config().await;
    let staging = &client(sdk);
    let credentials = &CredentialSource::from_env(sdk)?;
    let in_flight = usize::try_from(env_u64("VMPUSH_AZURE_UPLOAD_IN_FLIGHT", 8)?)?;
    let tuning = &BlobTuning {
        in_flight,
        ..BlobTuning::default()
    };
    let margin = Duration::from_secs(env_u64("VMPUSH_UPLOAD_MARGIN_SECS", 60)?);
    let fallback = Duration::from_secs(env_u64("VMPUSH_UPLOAD_FALLBACK_SECS", 600)?);
    serve(
        "azure-upload",
        |input: AzureUploadInput, context| async move {
            let set = credentials.current().await?;
            let account = StorageAccount::of(set.as_ref(), &input.work.account)?;
            let blobs = AzureBlobs::new(&account)?;
            let files = S3Store::new(staging.clone(), staging.clone());
            let deadline = Some(stop_before_deadline(&context, margin, fallback));
            run(
                &files,
                &blobs,
                &input,
                tuning,
                Budget {
                    deadline,
                    ..Budget::default()
                },
            )
            .await
        },
    )
    .await
}
