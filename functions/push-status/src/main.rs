//! `vmpush-push-status`: wiring only. Answers `GET /pushes/{id}` of the push API (API Gateway
//! proxy integration); the step is [`vmpush_domain::steps::push_status`].
//!
//! Environment: `VMPUSH_STATE_MACHINE_ARN`, `VMPUSH_RESULTS_BUCKET`.

use lambda_runtime::Error;
use vmpush_cloud::lambda::api::{self, ApiGatewayProxyRequest};
use vmpush_cloud::lambda::{required_env, serve};
use vmpush_cloud::s3::{S3Objects, client};
use vmpush_cloud::sfn::watch::PushWatch;
use vmpush_domain::steps::push_status::run;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let sdk = vmpush_cloud::aws::sdk_config().await;
    let watch = &PushWatch::new(&sdk, required_env("VMPUSH_STATE_MACHINE_ARN")?);
    let results = &S3Objects::new(client(&sdk));
    let bucket = &required_env("VMPUSH_RESULTS_BUCKET")?;
    serve(
        "push-status",
        |request: ApiGatewayProxyRequest, _| async move {
            let id = api::path_parameter(&request, "id").unwrap_or_default();
            let status = run(watch, results, bucket, id).await;
            Ok(api::respond(status.map(|s| (200, s))))
        },
    )
    .await
}
