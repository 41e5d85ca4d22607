//! `vmpush-sns-notify`: wiring only. Publishes the notice of a push to the topic named by
//! `VMPUSH_TOPIC_ARN`; the messages are [`vmpush_domain::steps::sns_notify::messages`].

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use vmpush_cloud::lambda::{Failure, required_env};
use vmpush_cloud::sns::SnsTopic;
use vmpush_domain::steps::StepError;
use vmpush_domain::steps::sns_notify::{NotifyInput, run};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let sdk = vmpush_cloud::aws::sdk_config().await;
    let topic = &SnsTopic::new(&sdk, &required_env("VMPUSH_TOPIC_ARN")?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let input: NotifyInput = serde_json::from_value(event.payload)
            .map_err(|e| Failure(StepError::invalid(format!("sns-notify input: {e}"))))?;
        run(topic, &input).await.map_err(Failure)
    }))
    .await
}
