//! `vmpush-sns-notify`: wiring only. Publishes the notice of a push (stored by summarize in
//! `VMPUSH_RESULTS_BUCKET`) to the topic named by
//! `VMPUSH_TOPIC_ARN`, recording each message sent under `results/<push id>/notified/` of
//! `VMPUSH_RESULTS_BUCKET`; the step is [`vmpush_domain::steps::sns_notify`].

use lambda_runtime::Error;
use vmpush_cloud::lambda::{required_env, serve};
use vmpush_cloud::s3::{S3Objects, client};
use vmpush_cloud::sns::SnsTopic;
use vmpush_domain::payloads::NotifyRequest;
use vmpush_domain::steps::sns_notify::{Ledger, notify};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let sdk = vmpush_cloud::aws::sdk_config().await;
    let topic = &SnsTopic::new(&sdk, &required_env("VMPUSH_TOPIC_ARN")?);
    let objects = &S3Objects::new(client(&sdk));
    let bucket = &required_env("VMPUSH_RESULTS_BUCKET")?;
    serve("sns-notify", |request: NotifyRequest, _| async move {
        notify(topic, &Ledger { objects, bucket }, &request).await
    })
    .await
}
