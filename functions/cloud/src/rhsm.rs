//! RHSM's cloud-access API over HTTPS with a client certificate (pubtools `--rhsm-cert` /
//! `--rhsm-key`). As in pubtools, `provider_image_groups` is joined to the host root (a base
//! path is dropped), and so are `amis`; `regions` is relative (appended to the base path).
//! Connection errors are retried (3 attempts), and so are 5xx answers to writes.

use std::path::Path;
use std::time::Duration;

use tracing::warn;
use vmpush_domain::ports::Rhsm;
use vmpush_domain::ports::{Reply, RhsmWrites};
use vmpush_domain::steps::{ErrorKind, StepError};

use crate::env;

/// Connection-error retries, as pubtools' executor (3 attempts).
const ATTEMPTS: u32 = 3;

/// An RHSM client.
#[derive(Debug, Clone)]
pub struct HttpRhsm {
    base: reqwest::Url,
    client: reqwest::Client,
}

fn read(path: &Path) -> Result<Vec<u8>, StepError> {
    std::fs::read(path)
        .map_err(|e| StepError::new(ErrorKind::Fatal, format!("{}: {e}", path.display())))
}

impl HttpRhsm {
    /// The client the environment configures: `VMPUSH_RHSM_URL`, with `RHSM_CERT` / `RHSM_KEY`
    /// (pubtools' names) for the client certificate and `VMPUSH_RHSM_CA` for a private CA;
    /// `None` without a URL.
    pub fn from_env() -> Result<Option<Self>, StepError> {
        let Some(url) = env("VMPUSH_RHSM_URL") else {
            return Ok(None);
        };
        let (cert, key, ca) = (env("RHSM_CERT"), env("RHSM_KEY"), env("VMPUSH_RHSM_CA"));
        let identity = cert
            .as_deref()
            .zip(key.as_deref())
            .map(|(c, k)| (Path::new(c), Path::new(k)));
        HttpRhsm::new(&url, identity, ca.as_deref().map(Path::new)).map(Some)
    }

    /// A client for `base_url`, with a client certificate and key (PEM files) and an extra CA.
    pub fn new(
        base_url: &str,
        identity: Option<(&Path, &Path)>,
        ca: Option<&Path>,
    ) -> Result<Self, StepError> {
        let base = reqwest::Url::parse(base_url)
            .map_err(|e| StepError::invalid(format!("RHSM URL '{base_url}': {e}")))?;
        let tls = |what: &str, e: reqwest::Error| {
            StepError::new(ErrorKind::Fatal, format!("RHSM {what}: {e}"))
        };
        let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(60));
        if let Some((cert, key)) = identity {
            let mut pem = read(cert)?;
            pem.extend(read(key)?);
            builder = builder.identity(
                reqwest::Identity::from_pem(&pem).map_err(|e| tls("client certificate", e))?,
            );
        }
        if let Some(ca) = ca {
            builder = builder.add_root_certificate(
                reqwest::Certificate::from_pem(&read(ca)?).map_err(|e| tls("CA", e))?,
            );
        }
        Ok(HttpRhsm {
            base,
            client: builder.build().map_err(|e| tls("client", e))?,
        })
    }

    async fn get(&self, url: reqwest::Url) -> Result<serde_json::Value, StepError> {
        let mut attempt = 1;
        loop {
            match self.client.get(url.clone()).send().await {
                Ok(r) if r.status().is_success() => {
                    return r.json().await.map_err(|e| {
                        StepError::new(ErrorKind::Transient, format!("GET {url}: {e}"))
                    });
                }
                Ok(r) => {
                    let kind = if r.status().is_server_error() {
                        ErrorKind::Transient
                    } else {
                        ErrorKind::Fatal
                    };
                    return Err(StepError::new(
                        kind,
                        format!("GET {url} answered {}", r.status()),
                    ));
                }
                Err(e) if attempt < ATTEMPTS && (e.is_connect() || e.is_timeout()) => {
                    warn!(%url, attempt, "RHSM connection failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1 << attempt)).await;
                    attempt += 1;
                }
                Err(e) => {
                    return Err(StepError::new(
                        ErrorKind::Transient,
                        format!("GET {url}: {e}"),
                    ));
                }
            }
        }
    }
}

impl HttpRhsm {
    fn url(&self, path: &str) -> Result<reqwest::Url, StepError> {
        self.base
            .join(path)
            .map_err(|e| StepError::invalid(format!("RHSM URL: {e}")))
    }

    /// Sends a JSON body; connection errors and 5xx answers are retried.
    async fn send(
        &self,
        method: reqwest::Method,
        url: reqwest::Url,
        body: &serde_json::Value,
    ) -> Result<Reply, StepError> {
        let mut attempt = 1;
        loop {
            let sent = self
                .client
                .request(method.clone(), url.clone())
                .json(body)
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_server_error() && attempt < ATTEMPTS => {
                    warn!(%url, %method, status = %r.status(), attempt, "RHSM failed; retrying");
                }
                Ok(r) => {
                    let status = r.status().as_u16();
                    let text = r.text().await.unwrap_or_default();
                    return Ok(Reply {
                        status,
                        body: text.chars().take(300).collect(),
                    });
                }
                Err(e) if attempt < ATTEMPTS && (e.is_connect() || e.is_timeout()) => {
                    warn!(%url, %method, attempt, "RHSM connection failed; retrying");
                }
                Err(e) => {
                    return Err(StepError::new(
                        ErrorKind::Transient,
                        format!("{method} {url}: {e}"),
                    ));
                }
            }
            tokio::time::sleep(Duration::from_secs(1 << attempt)).await;
            attempt += 1;
        }
    }
}

impl RhsmWrites for HttpRhsm {
    async fn create_region(&self, body: &serde_json::Value) -> Result<Reply, StepError> {
        let url = self.url("v1/internal/cloud_access_providers/amazon/regions")?;
        self.send(reqwest::Method::POST, url, body).await
    }

    async fn update_ami(&self, body: &serde_json::Value) -> Result<Reply, StepError> {
        let url = self.url("/v1/internal/cloud_access_providers/amazon/amis")?;
        self.send(reqwest::Method::PUT, url, body).await
    }

    async fn create_ami(&self, body: &serde_json::Value) -> Result<Reply, StepError> {
        let url = self.url("/v1/internal/cloud_access_providers/amazon/amis")?;
        self.send(reqwest::Method::POST, url, body).await
    }
}

impl Rhsm for HttpRhsm {
    async fn image_groups(&self) -> Result<Vec<(String, String)>, StepError> {
        let url = self
            .base
            .join("/v1/internal/cloud_access_providers/amazon/provider_image_groups")
            .map_err(|e| StepError::invalid(format!("RHSM URL: {e}")))?;
        let body = self.get(url.clone()).await?;
        let groups = body["body"].as_array().ok_or_else(|| {
            StepError::new(
                ErrorKind::Fatal,
                format!("GET {url}: no \"body\" list in the answer"),
            )
        })?;
        Ok(groups
            .iter()
            .filter_map(|g| {
                Some((
                    g["name"].as_str()?.to_string(),
                    g["providerShortName"].as_str()?.to_string(),
                ))
            })
            .collect())
    }
}
