//! Amazon SNS: the push notification topic.

use aws_config::SdkConfig;
use aws_sdk_sns::Client;
use aws_sdk_sns::error::BuildError;
use aws_sdk_sns::types::MessageAttributeValue;
use snafu::{ResultExt, Snafu};
use vmpush_domain::ports::{Attribute, Message, Topic};
use vmpush_domain::steps::{ErrorKind, StepError};

use crate::aws::{SdkFailure, SdkResultExt, step_error};

/// A failed SNS call, or a message SNS cannot take.
#[derive(Debug, Snafu)]
enum Error {
    #[snafu(display("Publish {topic}: {source}"))]
    Publish { topic: String, source: SdkFailure },

    #[snafu(display("message attribute {name}: {source}"))]
    MessageAttribute { name: String, source: BuildError },
}

impl From<Error> for StepError {
    fn from(error: Error) -> Self {
        step_error(&error, ErrorKind::Fatal)
    }
}

/// One SNS topic.
#[derive(Debug, Clone)]
pub struct SnsTopic {
    client: Client,
    arn: String,
}

impl SnsTopic {
    /// The topic `arn`.
    pub fn new(config: &SdkConfig, arn: &str) -> Self {
        SnsTopic {
            client: Client::new(config),
            arn: arn.to_string(),
        }
    }
}

fn attribute(name: &str, value: &Attribute) -> Result<MessageAttributeValue, StepError> {
    let (data_type, text) = match value {
        Attribute::Text(t) => ("String", t.clone()),
        Attribute::List(items) => ("String.Array", serde_json::json!(items).to_string()),
    };
    MessageAttributeValue::builder()
        .data_type(data_type)
        .string_value(text)
        .build()
        .context(MessageAttributeSnafu { name })
        .map_err(StepError::from)
}

impl Topic for SnsTopic {
    async fn publish(&self, message: &Message) -> Result<String, StepError> {
        let mut request = self
            .client
            .publish()
            .topic_arn(&self.arn)
            .subject(&message.subject)
            .message_structure("json")
            .message(&message.body);
        for (name, value) in &message.attributes {
            request = request.message_attributes(name, attribute(name, value)?);
        }
        let out = request
            .send()
            .await
            .failure()
            .context(PublishSnafu { topic: &self.arn })?;
        Ok(out.message_id().unwrap_or_default().to_string())
    }
}

#[cfg(test)]
mod tests {
    use vmpush_domain::ports::{Attribute, Message, Topic};
    use vmpush_domain::steps::ErrorKind;

    use super::*;
    use crate::canned::{always, sns_error};

    #[tokio::test]
    async fn each_error_class_is_its_step_error_kind() {
        let message = Message {
            subject: "push p1: PUSHED".into(),
            body: r#"{"default": "{}", "email": "p1"}"#.into(),
            attributes: vec![("state".into(), Attribute::Text("PUSHED".into()))],
        };
        let arn = "arn:aws:sns:us-east-1:123456789012:vmpush-notifications";
        for (status, code, kind) in [
            (400, "Throttling", ErrorKind::Throttled),
            (500, "InternalError", ErrorKind::Transient),
            (404, "NotFound", ErrorKind::NotFound),
            (400, "ResourceAlreadyExists", ErrorKind::Conflict),
            (403, "AuthorizationError", ErrorKind::Fatal),
        ] {
            let sdk = always(status, &sns_error(code)).await;
            let err = SnsTopic::new(&sdk, arn)
                .publish(&message)
                .await
                .unwrap_err();
            assert_eq!(err.kind, kind, "{code}: {err}");
            assert_eq!(
                err.message,
                format!("Publish {arn}: {code} (HTTP {status}): {code} happened")
            );
        }
    }
}
