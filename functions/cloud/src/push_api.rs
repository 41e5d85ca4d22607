//! The push API as a client: `POST {base}/pushes` and `GET {base}/pushes/{id}`, signed with
//! SigV4 for the API's IAM auth (service `execute-api`), credentials from the configuration.

use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use serde::Deserialize;
use serde_json::Value;
use snafu::{OptionExt, ResultExt, Snafu};
use vmpush_domain::inputs::push::PushRequest;
use vmpush_domain::payloads::PushStatus;

/// How long one API call may take.
const TIMEOUT: Duration = Duration::from_secs(60);

/// A push API call that could not be made or was refused.
#[derive(Debug, Snafu)]
pub enum ApiError {
    /// The base address is no URL.
    #[snafu(display("--api '{base}': not a URL: {reason}"))]
    NotAUrl {
        /// The address given.
        base: String,
        /// Why it is none.
        reason: String,
    },

    /// Neither the host name nor the configuration names a region.
    #[snafu(display("--api '{base}': no region to sign for (set AWS_REGION)"))]
    NoRegion {
        /// The address given.
        base: String,
    },

    /// The configuration has no credentials provider.
    #[snafu(display("--api: no AWS credentials to sign with"))]
    NoCredentials,

    /// The credentials provider failed.
    #[snafu(display("--api: AWS credentials: {source}"))]
    Credentials {
        /// What the provider said.
        source: CredentialsError,
    },

    /// The HTTP client could not be built.
    #[snafu(display("--api: HTTP client: {source}"))]
    Client {
        /// Why.
        source: reqwest::Error,
    },

    /// The request could not be signed.
    #[snafu(display("--api: signing {url}: {reason}"))]
    Signing {
        /// The request's URL.
        url: String,
        /// Why.
        reason: String,
    },

    /// The request was not answered.
    #[snafu(display("{method} {url}: {source}"))]
    Send {
        /// The HTTP method.
        method: String,
        /// The request's URL.
        url: String,
        /// Why.
        source: reqwest::Error,
    },

    /// The API answered with an error.
    #[snafu(display("{method} {url}: {status} {detail}"))]
    Refused {
        /// The HTTP method.
        method: String,
        /// The request's URL.
        url: String,
        /// The answer's status.
        status: u16,
        /// The OMPS body's error and message, else the body.
        detail: String,
    },

    /// A success answer that is not the API's document.
    #[snafu(display("{method} {url}: unexpected answer: {source}"))]
    Unexpected {
        /// The HTTP method.
        method: String,
        /// The request's URL.
        url: String,
        /// How it differs.
        source: serde_json::Error,
    },
}

impl ApiError {
    /// Whether the caller gave a wrong address (a usage error) rather than a call failing.
    pub fn is_usage(&self) -> bool {
        matches!(self, ApiError::NotAUrl { .. } | ApiError::NoRegion { .. })
    }
}

/// `POST /pushes`'s answer.
#[derive(Debug, Deserialize)]
pub struct Started {
    /// The execution's name (`<push-id>-<8 hex>`).
    pub execution_name: String,
    /// Whether this call started it (false: the same request had started it already).
    pub started: bool,
}

/// A deployed push API.
#[derive(Debug)]
pub struct PushApi {
    http: reqwest::Client,
    base: String,
    region: String,
    credentials: SharedCredentialsProvider,
}

impl PushApi {
    /// The API at `base` (`https://<id>.execute-api.<region>.amazonaws.com/v1`), signing for
    /// the region in its host name, else the configuration's.
    pub fn new(base: &str, config: &SdkConfig) -> Result<PushApi, ApiError> {
        let base = base.trim_end_matches('/').to_string();
        let url = reqwest::Url::parse(&base).map_err(|e| ApiError::NotAUrl {
            base: base.clone(),
            reason: e.to_string(),
        })?;
        let region = signing_region(url.host_str().unwrap_or_default())
            .or_else(|| config.region().map(ToString::to_string))
            .context(NoRegionSnafu { base: &base })?;
        let credentials = config.credentials_provider().context(NoCredentialsSnafu)?;
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .context(ClientSnafu)?;
        Ok(PushApi {
            http,
            base,
            region,
            credentials,
        })
    }

    /// Starts a push (or finds the one the same request started).
    pub async fn start(&self, request: &PushRequest) -> Result<Started, ApiError> {
        let url = self.url("/pushes");
        let body = serde_json::to_vec(request).context(UnexpectedSnafu {
            method: "POST",
            url: &url,
        })?;
        let (status, answer) = self.send("POST", &url, body).await?;
        if !(200..300).contains(&status) {
            return Err(refusal("POST", &url, status, &answer));
        }
        serde_json::from_value(answer).context(UnexpectedSnafu {
            method: "POST",
            url: &url,
        })
    }

    /// Where a push stands; `None` when no such push started.
    pub async fn status(&self, push_id: &str) -> Result<Option<PushStatus>, ApiError> {
        let url = self.url(&format!("/pushes/{push_id}"));
        let (status, answer) = self.send("GET", &url, Vec::new()).await?;
        match status {
            404 => Ok(None),
            200 => serde_json::from_value(answer)
                .map(Some)
                .context(UnexpectedSnafu {
                    method: "GET",
                    url: &url,
                }),
            _ => Err(refusal("GET", &url, status, &answer)),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends one signed request; its status and JSON body.
    async fn send(&self, method: &str, url: &str, body: Vec<u8>) -> Result<(u16, Value), ApiError> {
        let credentials = self
            .credentials
            .provide_credentials()
            .await
            .context(CredentialsSnafu)?;
        let identity = Identity::from(credentials);
        let signing = |reason: String| ApiError::Signing {
            url: url.to_string(),
            reason,
        };
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("execute-api")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| signing(e.to_string()))?
            .into();
        let content_type = [("content-type", "application/json")];
        let headers = if body.is_empty() {
            &content_type[..0]
        } else {
            &content_type[..]
        };
        let signable = SignableRequest::new(
            method,
            url,
            headers.iter().copied(),
            SignableBody::Bytes(&body),
        )
        .map_err(|e| signing(e.to_string()))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| signing(e.to_string()))?
            .into_parts();
        let verb =
            reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| signing(e.to_string()))?;
        let mut request = self.http.request(verb, url);
        for (name, value) in headers.iter().copied().chain(instructions.headers()) {
            request = request.header(name, value);
        }
        let sent = SendSnafu { method, url };
        let response = request.body(body).send().await.context(sent)?;
        let status = response.status().as_u16();
        let text = response.text().await.context(sent)?;
        let answer = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, answer))
    }
}

/// The region of an `execute-api` host name (`<id>.execute-api.<region>.amazonaws.com`).
fn signing_region(host: &str) -> Option<String> {
    let (_, rest) = host.split_once(".execute-api.")?;
    rest.split('.').next().map(str::to_string)
}

/// An error answer: the OMPS body's error and message, else the body.
fn refusal(method: &str, url: &str, status: u16, answer: &Value) -> ApiError {
    let detail = match (answer["error"].as_str(), answer["message"].as_str()) {
        (Some(error), Some(message)) => format!("{error}: {message}"),
        (None, Some(message)) => message.to_string(),
        _ => answer.to_string(),
    };
    ApiError::Refused {
        method: method.to_string(),
        url: url.to_string(),
        status,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn a_wrong_address_is_a_usage_error_and_missing_credentials_are_not() {
        let no_region = SdkConfig::builder().build();
        let err = PushApi::new("not a url", &no_region).unwrap_err();
        assert!(err.is_usage(), "{err}");
        assert!(
            err.to_string().starts_with("--api 'not a url': not a URL"),
            "{err}"
        );
        let err = PushApi::new("http://127.0.0.1:9/v1/", &no_region).unwrap_err();
        assert!(err.is_usage(), "{err}");
        assert_eq!(
            err.to_string(),
            "--api 'http://127.0.0.1:9/v1': no region to sign for (set AWS_REGION)"
        );
        let in_region = SdkConfig::builder()
            .region(aws_config::Region::new("eu-west-1"))
            .build();
        let err = PushApi::new(
            "https://a1.execute-api.eu-west-2.amazonaws.com/v1",
            &in_region,
        )
        .unwrap_err();
        assert!(!err.is_usage());
        assert_eq!(err.to_string(), "--api: no AWS credentials to sign with");
    }

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
        let line = refusal(
            "POST",
            "http://api/v1/pushes",
            400,
            &json!({"status": 400, "error": "InvalidInput", "message": "sources[0]: no bucket"}),
        )
        .to_string();
        assert_eq!(
            line,
            "POST http://api/v1/pushes: 400 InvalidInput: sources[0]: no bucket"
        );
        let line = refusal(
            "GET",
            "u",
            403,
            &json!({"message": "Missing Authentication Token"}),
        )
        .to_string();
        assert_eq!(line, "GET u: 403 Missing Authentication Token");
    }
}
