//! Partner Center's Product Ingestion API over HTTP (`graph.microsoft.com/rp/product-ingestion`,
//! `$version` of the credentials' `AZURE_API_VERSION`), with an OAuth2 client-credentials
//! token of the account's service principal (`{login}/<tenant>/oauth2/token`, resource
//! `https://graph.microsoft.com`), as cloudpub's session. `VMPUSH_AZURE_LOGIN_URL` and
//! `VMPUSH_AZURE_INGESTION_URL` point it elsewhere (the local stack's fake). Neither the
//! client secret nor the token is ever logged or put in an error; errors name the call and
//! the status.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use tracing::{debug, warn};
use vmpush_domain::inputs::credentials::{Auth, CredentialSet};
use vmpush_domain::ports::{JobStatus, ProductIngestion};
use vmpush_domain::steps::azure_publish::resources::redact_sas;
use vmpush_domain::steps::{ErrorKind, StepError};

/// Microsoft's login endpoint.
pub const LOGIN_URL: &str = "https://login.microsoftonline.com";

/// The Product Ingestion API.
pub const INGESTION_URL: &str = "https://graph.microsoft.com/rp/product-ingestion";

/// The resource the token is asked for.
const RESOURCE: &str = "https://graph.microsoft.com";

/// The Product Ingestion API of one Azure account, with its token.
pub struct PartnerCenter {
    http: reqwest::Client,
    base: String,
    version: String,
    token: String,
}

impl std::fmt::Debug for PartnerCenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartnerCenter")
            .field("base", &self.base)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// Where the login and the API are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// The login endpoint (without the tenant).
    pub login: String,
    /// The Product Ingestion API's base URL.
    pub ingestion: String,
}

impl Endpoints {
    /// Microsoft's, unless `VMPUSH_AZURE_LOGIN_URL` / `VMPUSH_AZURE_INGESTION_URL` say
    /// otherwise.
    pub fn from_env() -> Self {
        Endpoints {
            login: env_or("VMPUSH_AZURE_LOGIN_URL", LOGIN_URL),
            ingestion: env_or("VMPUSH_AZURE_INGESTION_URL", INGESTION_URL),
        }
    }
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
        .trim_end_matches('/')
        .to_string()
}

/// The step error of an answer's status: 429 throttled, 5xx transient, else fatal.
fn status_error(call: &str, status: StatusCode, body: &str) -> StepError {
    let kind = match status.as_u16() {
        429 => ErrorKind::Throttled,
        500..=599 => ErrorKind::Transient,
        404 => ErrorKind::NotFound,
        _ => ErrorKind::Fatal,
    };
    let detail: String = redact_sas(body).chars().take(300).collect();
    StepError::new(
        kind,
        format!("Partner Center {call}: HTTP {status}: {detail}"),
    )
}

fn transport(call: &str, error: &reqwest::Error) -> StepError {
    // reqwest's error text names the URL without its query; tokens travel in headers.
    StepError::new(
        ErrorKind::Transient,
        format!("Partner Center {call}: {error}"),
    )
}

impl PartnerCenter {
    /// Signs in at `endpoints` with the Azure credentials of `alias` in `credentials`.
    pub async fn connect(
        credentials: Option<&CredentialSet>,
        alias: &str,
        endpoints: &Endpoints,
    ) -> Result<Self, StepError> {
        let set = credentials.filter(|c| !c.is_empty()).ok_or_else(|| {
            StepError::invalid(format!("The credentials for {alias} were not found."))
        })?;
        let Auth::Azure(auth) = set.get(alias).map_err(StepError::from)? else {
            return Err(StepError::invalid(format!(
                "credentials of {alias}: AWS credentials for an Azure account"
            )));
        };
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| StepError::new(ErrorKind::Fatal, format!("HTTP client: {e}")))?;
        let call = "token";
        let answer = http
            .post(format!(
                "{}/{}/oauth2/token",
                endpoints.login, auth.tenant_id
            ))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", auth.client_id.as_str()),
                ("client_secret", auth.api_secret.expose()),
                ("resource", RESOURCE),
            ])
            .send()
            .await
            .map_err(|e| transport(call, &e))?;
        let status = answer.status();
        let body = answer.text().await.map_err(|e| transport(call, &e))?;
        if !status.is_success() {
            // The token endpoint's errors name the client, never its secret.
            return Err(status_error(&format!("{call} of {alias}"), status, &body));
        }
        let token = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v["access_token"].as_str().map(str::to_string))
            .ok_or_else(|| {
                StepError::new(
                    ErrorKind::Fatal,
                    format!("Partner Center {call} of {alias}: no access_token in the answer"),
                )
            })?;
        Ok(PartnerCenter {
            http,
            base: endpoints.ingestion.trim_end_matches('/').to_string(),
            version: auth.api_version.clone(),
            token,
        })
    }

    /// One call: `path` under the API, `$version` and `query` added; `None` on 404 when
    /// `missing_ok`.
    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
        missing_ok: bool,
    ) -> Result<Option<Value>, StepError> {
        let call = format!("{method} {path}");
        let mut params = vec![("$version".to_string(), self.version.clone())];
        params.extend(query.iter().filter(|(k, _)| k != "$version").cloned());
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .query(&params)
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let answer = request.send().await.map_err(|e| transport(&call, &e))?;
        let status = answer.status();
        let text = answer.text().await.map_err(|e| transport(&call, &e))?;
        debug!(%call, %status, "Partner Center");
        if status == StatusCode::NOT_FOUND && missing_ok {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(status_error(&call, status, &text));
        }
        serde_json::from_str(&text).map(Some).map_err(|e| {
            StepError::new(
                ErrorKind::Fatal,
                format!("Partner Center {call}: not JSON: {e}"),
            )
        })
    }

    async fn get(&self, path: &str, query: &[(String, String)]) -> Result<Value, StepError> {
        Ok(self
            .call(Method::GET, path, query, None, false)
            .await?
            .unwrap_or_default())
    }
}

/// A configure answer or job status as the port speaks it.
fn job(value: &Value) -> JobStatus {
    let text = |k: &str| value[k].as_str().unwrap_or_default().to_string();
    JobStatus {
        job_id: text("jobId"),
        status: text("jobStatus"),
        result: text("jobResult"),
        errors: value["errors"].as_array().cloned().unwrap_or_default(),
    }
}

/// The query parameters of a `@nextLink`.
fn next_params(link: &str) -> Vec<(String, String)> {
    let query = link.split_once('?').map_or("", |(_, q)| q);
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (decode(k), decode(v))
        })
        .collect()
}

impl ProductIngestion for PartnerCenter {
    async fn products(&self) -> Result<Vec<Value>, StepError> {
        let mut all = Vec::new();
        let mut query = Vec::new();
        loop {
            let page = self.get("/product", &query).await?;
            all.extend(page["value"].as_array().cloned().unwrap_or_default());
            match page["@nextLink"].as_str().map(next_params) {
                Some(next) if !next.is_empty() => query = next,
                _ => return Ok(all),
            }
        }
    }

    async fn resource_tree(&self, product: &str, target: &str) -> Result<Option<Value>, StepError> {
        let query = [("targetType".to_string(), target.to_string())];
        self.call(
            Method::GET,
            &format!("/resource-tree/product/{product}"),
            &query,
            None,
            true,
        )
        .await
    }

    async fn submissions(&self, product: &str) -> Result<Vec<Value>, StepError> {
        let answer = self.get(&format!("/submission/{product}"), &[]).await?;
        Ok(answer["value"].as_array().cloned().unwrap_or_default())
    }

    async fn configure(&self, body: &Value) -> Result<JobStatus, StepError> {
        let answer = self
            .call(Method::POST, "/configure", &[], Some(body), false)
            .await?
            .unwrap_or_default();
        Ok(job(&answer))
    }

    async fn job_status(&self, id: &str) -> Result<JobStatus, StepError> {
        match self.get(&format!("/configure/{id}/status"), &[]).await {
            Ok(answer) => Ok(job(&answer)),
            Err(e) if e.kind == ErrorKind::Transient => {
                warn!(job = id, error = %e.message, "a server error counts as a pending job");
                Ok(JobStatus {
                    job_id: id.to_string(),
                    status: "running".into(),
                    result: "pending".into(),
                    errors: Vec::new(),
                })
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests;
