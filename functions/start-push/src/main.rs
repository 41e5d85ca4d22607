//! `vmpush-start-push`: wiring only. Starts a push from a drop's `push.yaml` (S3
//! notification), the push API's `POST /pushes` or a direct request, once per request; the
//! step is [`vmpush_domain::steps::start_push`], the events
//! [`vmpush_cloud::lambda::start_push`].
//!
//! Environment: `VMPUSH_STATE_MACHINE_ARN` (required), `VMPUSH_STAGING_BUCKET` (for
//! `staged:<prefix>` sources given without a bucket), `VMPUSH_STARMAP_URL` and
//! `VMPUSH_STARMAP_ALLOWED_URLS` (the StArMap servers a request may name, as resolve-mapping
//! reads them: a request naming another is refused before it starts).

use lambda_runtime::Error;
use vmpush_cloud::lambda::start_push::StartEvent;
use vmpush_cloud::lambda::{env, required_env, serve};
use vmpush_cloud::s3::S3Objects;
use vmpush_cloud::sfn::SfnExecutions;
use vmpush_domain::inputs::push::StarmapServers;
use vmpush_domain::steps::start_push::Deployment;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let sdk = vmpush_cloud::aws::sdk_config().await;
    let objects = &S3Objects::new(vmpush_cloud::s3::client(&sdk));
    let executions = &SfnExecutions::new(&sdk, required_env("VMPUSH_STATE_MACHINE_ARN")?);
    let staging = &env("VMPUSH_STAGING_BUCKET");
    let starmap = &StarmapServers::new(
        env("VMPUSH_STARMAP_URL").as_deref(),
        env("VMPUSH_STARMAP_ALLOWED_URLS").as_deref(),
    );
    serve("start-push", |event: StartEvent, _| async move {
        let deployment = Deployment {
            staging_bucket: staging.as_deref(),
            starmap,
        };
        event.handle(objects, executions, deployment).await
    })
    .await
}
