//! RHSM's cloud-access API over HTTPS with a client certificate (pubtools `--rhsm-cert` /
//! `--rhsm-key`). As in pubtools, `provider_image_groups` is joined to the host root (a base
//! path is dropped), and so are `amis`; `regions` is relative (appended to the base path).
//! Connection errors are retried (3 attempts); so are timeouts and 5xx answers to `PUT`s, never
//! to `POST`s (see [`HttpRhsm`]'s `send`).

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use tracing::warn;
use vmpush_domain::ports::Rhsm;
use vmpush_domain::ports::{Reply, RhsmWrites};
use vmpush_domain::steps::{ErrorKind, StepError};

use crate::env;

/// Connection-error retries, as pubtools' executor (3 attempts).
const ATTEMPTS: u32 = 3;

/// The variable naming the Secrets Manager secret that holds the client certificate (the
/// template's `RhsmCertificateSecretArn`).
pub const CERT_SECRET_ENV: &str = "VMPUSH_RHSM_CERT_SECRET";

/// An RHSM client.
#[derive(Debug, Clone)]
pub struct HttpRhsm {
    base: reqwest::Url,
    client: reqwest::Client,
}

/// What RHSM's mutual TLS needs: the client certificate and its key (PEM, in memory only),
/// and a private CA to trust, when there is one. Its debug output shows no key.
#[derive(Clone, Default)]
pub struct ClientTls {
    /// The certificate (chain) followed by the key, PEM.
    identity: Option<Vec<u8>>,
    /// Extra root certificates, PEM.
    ca: Option<Vec<u8>>,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls")
            .field("identity", &self.identity.as_ref().map(|_| "<redacted>"))
            .field("ca", &self.ca.is_some())
            .finish()
    }
}

/// The JSON form of a certificate secret.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CertificateSecret {
    certificate: String,
    key: String,
    #[serde(default)]
    ca: Option<String>,
}

fn read(path: &Path) -> Result<Vec<u8>, StepError> {
    std::fs::read(path)
        .map_err(|e| StepError::new(ErrorKind::Fatal, format!("{}: {e}", path.display())))
}

impl ClientTls {
    /// pubtools' files: `RHSM_CERT` and `RHSM_KEY` (both or neither), `VMPUSH_RHSM_CA`.
    pub fn from_files_env() -> Result<Self, StepError> {
        let (cert, key) = (env("RHSM_CERT"), env("RHSM_KEY"));
        Self::from_files(
            cert.as_deref().map(Path::new),
            key.as_deref().map(Path::new),
        )
    }

    /// The client certificate and key files (`--rhsm-cert`, `--rhsm-key`: both or neither),
    /// with the CA file `VMPUSH_RHSM_CA` names, if any.
    pub fn from_files(cert: Option<&Path>, key: Option<&Path>) -> Result<Self, StepError> {
        let identity = match (cert, key) {
            (Some(cert), Some(key)) => {
                let mut pem = read(cert)?;
                pem.push(b'\n');
                pem.extend(read(key)?);
                Some(pem)
            }
            (None, None) => None,
            _ => {
                return Err(StepError::invalid(
                    "RHSM_CERT and RHSM_KEY: set both (the client certificate and its key) or neither",
                ));
            }
        };
        let ca = env("VMPUSH_RHSM_CA")
            .map(|path| read(Path::new(&path)))
            .transpose()?;
        Ok(ClientTls { identity, ca })
    }

    /// The certificate a secret's value holds, `what` naming the secret in errors (which
    /// never quote the value): either JSON `{"certificate": PEM, "key": PEM, "ca": PEM}` (`ca`
    /// optional), or PEM text holding the certificate and its private key.
    pub fn from_secret(what: &str, value: &[u8]) -> Result<Self, StepError> {
        let invalid = |why: &str| StepError::invalid(format!("{what}: {why}"));
        let text = std::str::from_utf8(value).map_err(|_| invalid("not UTF-8 text"))?;
        let (identity, ca) = if text.trim_start().starts_with('{') {
            let secret: CertificateSecret = serde_json::from_str(text).map_err(|e| {
                // serde's own words for missing and unknown fields name fields only; others
                // (wrong types) may quote a value
                let detail = e.to_string();
                let why = match detail.split(" at line ").next() {
                    Some(d) if d.starts_with("missing field") || d.starts_with("unknown field") => d,
                    _ if e.is_data() => "a field that is not a string",
                    _ => "not JSON",
                };
                invalid(&format!(
                    "not a {{\"certificate\", \"key\", \"ca\"}} document (line {}, column {}: {why})",
                    e.line(),
                    e.column(),
                ))
            })?;
            (
                format!("{}\n{}", secret.certificate, secret.key),
                secret.ca.filter(|ca| !ca.trim().is_empty()),
            )
        } else {
            (text.to_string(), None)
        };
        if !identity.contains("-----BEGIN CERTIFICATE-----") {
            return Err(invalid("no PEM certificate (-----BEGIN CERTIFICATE-----)"));
        }
        if !(identity.contains("PRIVATE KEY-----")) {
            return Err(invalid("no PEM private key (-----BEGIN PRIVATE KEY-----)"));
        }
        Ok(ClientTls {
            identity: Some(identity.into_bytes()),
            ca: ca.map(String::into_bytes),
        })
    }
}

impl HttpRhsm {
    /// The client the environment configures: `VMPUSH_RHSM_URL`, with the client certificate
    /// of the secret [`CERT_SECRET_ENV`] names (read once, kept in memory) or else pubtools'
    /// files ([`ClientTls::from_files_env`]); `None` without a URL.
    #[cfg(feature = "secrets")]
    pub async fn from_env(config: &aws_config::SdkConfig) -> Result<Option<Self>, StepError> {
        let Some(url) = env("VMPUSH_RHSM_URL") else {
            return Ok(None);
        };
        let tls = match env(CERT_SECRET_ENV) {
            Some(secret) => {
                let value = crate::secrets::SecretCredentials::new(config)
                    .value(&secret)
                    .await?;
                ClientTls::from_secret(&format!("RHSM certificate secret {secret}"), &value)?
            }
            None => ClientTls::from_files_env()?,
        };
        HttpRhsm::new(&url, &tls).map(Some)
    }

    /// A client for `base_url`, presenting `tls`.
    pub fn new(base_url: &str, tls: &ClientTls) -> Result<Self, StepError> {
        let base = reqwest::Url::parse(base_url)
            .map_err(|e| StepError::invalid(format!("RHSM URL '{base_url}': {e}")))?;
        let tls_error = |what: &str, e: reqwest::Error| {
            StepError::new(ErrorKind::InvalidInput, format!("RHSM {what}: {e}"))
        };
        let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(60));
        if let Some(pem) = &tls.identity {
            builder = builder.identity(
                reqwest::Identity::from_pem(pem).map_err(|e| tls_error("client certificate", e))?,
            );
        }
        if let Some(ca) = &tls.ca {
            for certificate in
                reqwest::Certificate::from_pem_bundle(ca).map_err(|e| tls_error("CA", e))?
            {
                builder = builder.add_root_certificate(certificate);
            }
        }
        Ok(HttpRhsm {
            base,
            client: builder
                .build()
                .map_err(|e| StepError::new(ErrorKind::Fatal, format!("RHSM client: {e}")))?,
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

    /// Sends a JSON body. A `PUT` (idempotent) is retried on connection errors, timeouts and
    /// 5xx answers; a `POST` only when the connection was never made, since a lost answer may
    /// hide an applied write (the step reads it back instead).
    async fn send(
        &self,
        method: reqwest::Method,
        url: reqwest::Url,
        body: &serde_json::Value,
    ) -> Result<Reply, StepError> {
        let idempotent = method == reqwest::Method::PUT;
        let mut attempt = 1;
        loop {
            let sent = self
                .client
                .request(method.clone(), url.clone())
                .json(body)
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_server_error() && idempotent && attempt < ATTEMPTS => {
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
                Err(e)
                    if attempt < ATTEMPTS && (e.is_connect() || (idempotent && e.is_timeout())) =>
                {
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

#[cfg(test)]
mod tests {
    use super::*;

    const CERT: &str =
        "-----BEGIN CERTIFICATE-----\nMIIB-not-a-real-one\n-----END CERTIFICATE-----";
    const KEY: &str = "-----BEGIN PRIVATE KEY-----\nMC4-secret-part\n-----END PRIVATE KEY-----";

    #[test]
    fn a_secret_holds_json_or_pem_and_errors_never_quote_it() {
        let json = serde_json::json!({"certificate": CERT, "key": KEY, "ca": CERT}).to_string();
        let tls = ClientTls::from_secret("secret s", json.as_bytes()).unwrap();
        assert_eq!(
            tls.identity.as_deref(),
            Some(format!("{CERT}\n{KEY}").as_bytes())
        );
        assert_eq!(tls.ca.as_deref(), Some(CERT.as_bytes()));
        assert!(!format!("{tls:?}").contains("secret-part"), "{tls:?}");

        let pem = format!("{CERT}\n{KEY}\n");
        let tls = ClientTls::from_secret("secret s", pem.as_bytes()).unwrap();
        assert_eq!(tls.identity.as_deref(), Some(pem.as_bytes()));
        assert_eq!(tls.ca, None);

        for (value, expected) in [
            (
                CERT.to_string(),
                "secret s: no PEM private key (-----BEGIN PRIVATE KEY-----)",
            ),
            (
                KEY.to_string(),
                "secret s: no PEM certificate (-----BEGIN CERTIFICATE-----)",
            ),
            (
                serde_json::json!({"certificate": CERT}).to_string(),
                "secret s: not a {\"certificate\", \"key\", \"ca\"} document (line 1, column 93: missing field `key`)",
            ),
            (
                serde_json::json!({"certificate": CERT, "key": 7}).to_string(),
                "secret s: not a {\"certificate\", \"key\", \"ca\"} document (line 1, column 100: a field that is not a string)",
            ),
            (
                format!("{{\"certificate\": \"{KEY}"),
                "secret s: not a {\"certificate\", \"key\", \"ca\"} document (line 2, column 0: not JSON)",
            ),
        ] {
            let err = ClientTls::from_secret("secret s", value.as_bytes()).unwrap_err();
            assert_eq!(
                (err.kind, err.message.as_str()),
                (ErrorKind::InvalidInput, expected)
            );
        }
        let err = ClientTls::from_secret("secret s", &[0xff, 0xfe]).unwrap_err();
        assert_eq!(err.message, "secret s: not UTF-8 text");
    }

    /// A POST whose answer is a 5xx is sent once (the step reads the AMI back); a PUT is
    /// retried.
    #[tokio::test]
    async fn posts_are_never_repeated_and_puts_are() {
        use axum::routing::any;
        use std::sync::{Arc, Mutex};
        let calls = Arc::new(Mutex::new(Vec::<String>::new()));
        let seen = calls.clone();
        let app = axum::Router::new().route(
            "/{*path}",
            any(move |method: axum::http::Method| {
                let seen = seen.clone();
                async move {
                    seen.lock().unwrap().push(method.to_string());
                    (axum::http::StatusCode::SERVICE_UNAVAILABLE, "busy")
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let rhsm = HttpRhsm::new(&format!("http://{addr}/"), &ClientTls::default()).unwrap();
        let body = serde_json::json!({"amiID": "ami-1"});
        let reply = rhsm.create_ami(&body).await.unwrap();
        assert_eq!(reply.status, 503);
        assert_eq!(*calls.lock().unwrap(), ["POST"]);
        let region = rhsm.create_region(&body).await.unwrap();
        assert_eq!(region.status, 503);
        assert_eq!(*calls.lock().unwrap(), ["POST", "POST"]);
        calls.lock().unwrap().clear();
        let reply = rhsm.update_ami(&body).await.unwrap();
        assert_eq!(reply.status, 503);
        assert_eq!(*calls.lock().unwrap(), ["PUT"; ATTEMPTS as usize]);
    }

    #[test]
    fn a_key_that_is_no_key_fails_the_client_naming_the_certificate_only() {
        let pem = format!("{CERT}\n{KEY}\n");
        let tls = ClientTls::from_secret("secret s", pem.as_bytes()).unwrap();
        let err = HttpRhsm::new("https://rhsm.example/", &tls).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput);
        assert!(
            err.message.starts_with("RHSM client certificate: "),
            "{err}"
        );
        assert!(!err.message.contains("secret-part"), "{err}");
    }
}
