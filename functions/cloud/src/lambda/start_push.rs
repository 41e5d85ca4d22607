//! start-push's events: an S3 `ObjectCreated` notification (a drop's `push.yaml`), an API
//! Gateway proxy request of `POST /pushes`, or a push request invoked directly — told apart
//! by their shape — and what it answers to each.

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::s3::S3Event;
use percent_encoding::percent_decode_str;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use vmpush_domain::payloads::{PushRequest, Started, StartedPushes};
use vmpush_domain::ports::{Executions, ObjectReader};
use vmpush_domain::steps::StepError;
use vmpush_domain::steps::start_push::{self, Created, Deployment};

use super::api;

/// What start-push is invoked with.
#[derive(Debug)]
pub enum StartEvent {
    /// An S3 notification (`Records`).
    Drop(S3Event),
    /// `POST /pushes` (`httpMethod` and `requestContext`).
    Api(Box<ApiGatewayProxyRequest>),
    /// A push request.
    Request(Box<PushRequest>),
}

impl<'de> Deserialize<'de> for StartEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        fn typed<T: serde::de::DeserializeOwned, E: serde::de::Error>(
            what: &str,
            value: Value,
        ) -> Result<T, E> {
            serde_path_to_error::deserialize(value).map_err(|e| E::custom(super::located(what, &e)))
        }
        let value = Value::deserialize(deserializer)?;
        if !value.is_object() {
            return Err(D::Error::custom(
                "an S3 event, an API request or a push request",
            ));
        }
        if value.get("Records").is_some() {
            typed("S3 event", value).map(StartEvent::Drop)
        } else if value.get("httpMethod").is_some() && value.get("requestContext").is_some() {
            typed("API request", value).map(StartEvent::Api)
        } else {
            typed("push request", value).map(StartEvent::Request)
        }
    }
}

/// What start-push answers.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum StartReply {
    /// To an S3 notification: each drop's push.
    Pushes(StartedPushes),
    /// To the API: an HTTP response (errors included).
    Api(ApiGatewayProxyResponse),
    /// To a push request.
    Started(Started),
}

/// An S3 key as the event carries it: URL-encoded, with `+` for spaces.
fn decode_key(key: &str) -> String {
    percent_decode_str(&key.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// The objects an S3 notification names.
fn created(event: &S3Event) -> Result<Vec<Created>, StepError> {
    event
        .records
        .iter()
        .enumerate()
        .map(|(i, record)| {
            let missing = |field: &str| {
                StepError::invalid(format!("S3 event: Records[{i}].s3.{field} is missing"))
            };
            Ok(Created {
                bucket: record
                    .s3
                    .bucket
                    .name
                    .clone()
                    .ok_or_else(|| missing("bucket.name"))?,
                key: decode_key(
                    record
                        .s3
                        .object
                        .key
                        .as_deref()
                        .ok_or_else(|| missing("object.key"))?,
                ),
            })
        })
        .collect()
}

impl StartEvent {
    /// Starts what the event asks for.
    pub async fn handle<O: ObjectReader, X: Executions>(
        self,
        objects: &O,
        executions: &X,
        deployment: Deployment<'_>,
    ) -> Result<StartReply, StepError> {
        match self {
            StartEvent::Drop(event) => {
                let created = created(&event)?;
                start_push::drops(&created, objects, executions, deployment)
                    .await
                    .map(StartReply::Pushes)
            }
            StartEvent::Api(request) => {
                let started = match api::json_body::<PushRequest>(&request) {
                    Ok(body) => start_push::request(body, executions, deployment).await,
                    Err(e) => Err(e),
                };
                Ok(StartReply::Api(api::respond(
                    started.map(|s| (s.status, s)),
                )))
            }
            StartEvent::Request(request) => start_push::request(*request, executions, deployment)
                .await
                .map(StartReply::Started),
        }
    }
}

#[cfg(test)]
mod tests;
