//! `vmpush-summarize`: wiring only. Reads a push's stored work list and outcomes from
//! `VMPUSH_RESULTS_BUCKET`, writes its result under `results/<push id>/` there and returns
//! its verdict with the notice; the step is
//! [`vmpush_domain::steps::summarize`].

use lambda_runtime::Error;
use vmpush_cloud::lambda::{required_env, serve};
use vmpush_cloud::s3::{S3Objects, client};
use vmpush_domain::payloads::SummaryRequest;
use vmpush_domain::steps::summarize::write;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let sdk = vmpush_cloud::aws::sdk_config().await;
    let store = &S3Objects::new(client(&sdk));
    let bucket = &required_env("VMPUSH_RESULTS_BUCKET")?;
    serve("summarize", |request: SummaryRequest, _| async move {
        write(store, bucket, &request).await
    })
    .await
}
