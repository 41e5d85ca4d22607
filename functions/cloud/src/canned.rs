//! Offline SDK clients for the adapters' tests: every request is answered by a function of
//! the request (status and body, as the service would send them), with no network and no
//! retries, so each error class reaches the adapter exactly as the SDK parses it.

use std::fmt;
use std::sync::Arc;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

type Answer = dyn Fn(&HttpRequest) -> (u16, String) + Send + Sync;

/// Answers every request with `answer(request)`.
#[derive(Clone)]
struct Canned(Arc<Answer>);

impl fmt::Debug for Canned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Canned")
    }
}

impl HttpConnector for Canned {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (status, body) = (self.0)(&request);
        let content_type = if body.trim_start().starts_with('{') {
            "application/x-amz-json-1.0"
        } else {
            "text/xml"
        };
        let mut response = HttpResponse::new(
            StatusCode::try_from(status).expect("an HTTP status"),
            SdkBody::from(body),
        );
        response.headers_mut().insert("content-type", content_type);
        HttpConnectorFuture::ready(Ok(response))
    }
}

impl HttpClient for Canned {
    fn http_connector(
        &self,
        _: &HttpConnectorSettings,
        _: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

/// An SDK configuration (us-east-1, test credentials, no retries) whose requests `answer`.
pub async fn config(
    answer: impl Fn(&HttpRequest) -> (u16, String) + Send + Sync + 'static,
) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .test_credentials()
        .retry_config(RetryConfig::disabled())
        .http_client(SharedHttpClient::new(Canned(Arc::new(answer))))
        .load()
        .await
}

/// A configuration answering every request with `status` and `body`.
pub async fn always(status: u16, body: &str) -> SdkConfig {
    let body = body.to_string();
    config(move |_| (status, body.clone())).await
}

/// An EC2 (`ec2Query`) error document.
pub fn query_error(code: &str) -> String {
    format!(
        "<Response><Errors><Error><Code>{code}</Code><Message>{code} happened</Message></Error></Errors><RequestID>r-1</RequestID></Response>"
    )
}

/// An `awsQuery` error document (SNS).
pub fn sns_error(code: &str) -> String {
    format!(
        "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{code} happened</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"
    )
}

/// An S3 (`restXml`) error document.
pub fn s3_error(code: &str) -> String {
    format!(
        "<Error><Code>{code}</Code><Message>{code} happened</Message><RequestId>r-1</RequestId></Error>"
    )
}

/// An `awsJson` error document (Step Functions, Secrets Manager).
pub fn json_error(code: &str) -> String {
    format!(r#"{{"__type": "{code}", "message": "{code} happened"}}"#)
}

/// The `X-Amz-Target` operation of an `awsJson` request.
pub fn target(request: &HttpRequest) -> String {
    request
        .headers()
        .get("x-amz-target")
        .and_then(|t| t.rsplit('.').next())
        .unwrap_or_default()
        .to_string()
}
