//! `vmpush-summarize`: wiring only. Writes the result of a push under `results/<push id>/`
//! of `VMPUSH_RESULTS_BUCKET` and returns it with the notice; the step is
//! [`vmpush_domain::steps::summarize`].

use lambda_runtime::Error;
use vmpush_cloud::lambda::{required_env, serve};
use vmpush_cloud::s3::{S3Objects, client};
use vmpush_domain::payloads::SummaryInput;
use vmpush_domain::steps::summarize::write;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let sdk = vmpush_cloud::aws::sdk_config().await;
    let store = &S3Objects::new(client(&sdk));
    let bucket = &required_env("VMPUSH_RESULTS_BUCKET")?;
    serve("summarize", |input: SummaryInput, _| async move {
        write(store, bucket, &input).await
    })
    .await
}
