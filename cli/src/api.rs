//! The push API as a client: `POST {base}/pushes` and `GET {base}/pushes/{id}`, signed with
//! SigV4 for the API's IAM auth (service `execute-api`), credentials from the AWS chain.

use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use serde::Deserialize;
use serde_json::Value;
use vmpush_domain::inputs::push::PushRequest;
use vmpush_domain::payloads::PushStatus;

use crate::Failure;

/// How long one API call may take.
const TIMEOUT: Duration = Duration::from_secs(60);

/// `POST /pushes`'s answer.
#[derive(Debug, Deserialize)]
pub struct Started {
    /// The execution's name (`<push-id>-<8 hex>`).
    pub execution_name: String,
    /// Whether this call started it (false: the same request had started it already).
    pub started: bool,
}

/// A deployed push API.
pub struct PushApi {
    http: reqwest::Client,
    base: String,
    region: String,
    credentials: SharedCredentialsProvider,
}

impl PushApi {
    /// The API at `base` (`https://<id>.execute-api.<region>.amazonaws.com/v1`), signing for
    /// the region in its host name, else the configuration's.
    pub fn new(base: &str, config: &SdkConfig) -> Result<PushApi, Failure> {
        let base = base.trim_end_matches('/').to_string();
        let url = reqwest::Url::parse(&base)
            .map_err(|e| Failure::Usage(format!("--api '{base}': not a URL: {e}")))?;
        let region = signing_region(url.host_str().unwrap_or_default())
            .or_else(|| config.region().map(ToString::to_string))
            .ok_or_else(|| {
                Failure::Usage(format!(
                    "--api '{base}': no region to sign for (set AWS_REGION)"
                ))
            })?;
        let credentials = config
            .credentials_provider()
            .ok_or_else(|| Failure::Input("--api: no AWS credentials to sign with".into()))?;
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| Failure::Input(format!("--api: HTTP client: {e}")))?;
        Ok(PushApi {
            http,
            base,
            region,
            credentials,
        })
    }

    /// Starts a push (or finds the one the same request started).
    pub async fn start(&self, request: &PushRequest) -> Result<Started, Failure> {
        let body = serde_json::to_vec(request).map_err(|e| Failure::Input(e.to_string()))?;
        let (status, answer) = self.send("POST", "/pushes", body).await?;
        if !(200..300).contains(&status) {
            return Err(refusal("POST", &self.url("/pushes"), status, &answer));
        }
        serde_json::from_value(answer)
            .map_err(|e| Failure::Input(format!("POST {}: unexpected answer: {e}", self.base)))
    }

    /// Where a push stands; `None` when no such push started.
    pub async fn status(&self, push_id: &str) -> Result<Option<PushStatus>, Failure> {
        let path = format!("/pushes/{push_id}");
        let (status, answer) = self.send("GET", &path, Vec::new()).await?;
        match status {
            404 => Ok(None),
            200 => serde_json::from_value(answer).map(Some).map_err(|e| {
                Failure::Input(format!("GET {}: unexpected answer: {e}", self.url(&path)))
            }),
            _ => Err(refusal("GET", &self.url(&path), status, &answer)),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends one signed request; its status and JSON body.
    async fn send(&self, method: &str, path: &str, body: Vec<u8>) -> Result<(u16, Value), Failure> {
        let url = self.url(path);
        let credentials = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|e| Failure::Input(format!("--api: AWS credentials: {e}")))?;
        let identity = Identity::from(credentials);
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("execute-api")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| Failure::Input(format!("--api: signing: {e}")))?
            .into();
        let content_type = [("content-type", "application/json")];
        let headers = if body.is_empty() {
            &content_type[..0]
        } else {
            &content_type[..]
        };
        let signable = SignableRequest::new(
            method,
            &url,
            headers.iter().copied(),
            SignableBody::Bytes(&body),
        )
        .map_err(|e| Failure::Input(format!("--api: signing {url}: {e}")))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| Failure::Input(format!("--api: signing {url}: {e}")))?
            .into_parts();
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|e| Failure::Input(e.to_string()))?;
        let mut request = self.http.request(method.clone(), &url);
        for (name, value) in headers.iter().copied().chain(instructions.headers()) {
            request = request.header(name, value);
        }
        let response = request
            .body(body)
            .send()
            .await
            .map_err(|e| Failure::Input(format!("{method} {url}: {e}")))?;
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .map_err(|e| Failure::Input(format!("{method} {url}: {e}")))?;
        let answer = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, answer))
    }
}

/// The region of an `execute-api` host name (`<id>.execute-api.<region>.amazonaws.com`).
fn signing_region(host: &str) -> Option<String> {
    let (_, rest) = host.split_once(".execute-api.")?;
    rest.split('.').next().map(str::to_string)
}

/// An error answer as one line: the OMPS body's error and message, else the body.
fn refusal(method: &str, url: &str, status: u16, answer: &Value) -> Failure {
    let detail = match (answer["error"].as_str(), answer["message"].as_str()) {
        (Some(error), Some(message)) => format!("{error}: {message}"),
        (None, Some(message)) => message.to_string(),
        _ => answer.to_string(),
    };
    Failure::Input(format!("{method} {url}: {status} {detail}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn regions_come_from_execute_api_host_names() {
        assert_eq!(
            signing_region("a1b2c3.execute-api.eu-west-2.amazonaws.com").as_deref(),
            Some("eu-west-2")
        );
        assert_eq!(signing_region("127.0.0.1"), None);
    }

    #[test]
    fn refusals_name_the_call_and_the_service_reason() {
        let Failure::Input(line) = refusal(
            "POST",
            "http://api/v1/pushes",
            400,
            &json!({"status": 400, "error": "InvalidInput", "message": "sources[0]: no bucket"}),
        ) else {
            panic!("an input failure");
        };
        assert_eq!(
            line,
            "POST http://api/v1/pushes: 400 InvalidInput: sources[0]: no bucket"
        );
        let Failure::Input(line) = refusal(
            "GET",
            "u",
            403,
            &json!({"message": "Missing Authentication Token"}),
        ) else {
            panic!("an input failure");
        };
        assert_eq!(line, "GET u: 403 Missing Authentication Token");
    }
}
