//! The StArMap APIv2 HTTP client (starmap-client's session): `GET {url}/api/v2/query`,
//! `Accept: application/json`, 10 s connect and read timeouts, 404 = no mapping, and 3
//! retries with exponential backoff on 500..=511 and connection errors.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use tracing::{info, warn};
use vmpush_domain::Error;
use vmpush_domain::ports::StarmapServer;

/// Timeouts and retries of the client; `Default` is the reference's.
#[derive(Debug, Clone)]
pub struct StarmapParams {
    /// Connect and read timeout (starmap-client: 10 s).
    pub timeout: Duration,
    /// Retries after the first attempt (urllib3 `Retry(total=3)`).
    pub retries: u32,
    /// Backoff before the second retry; doubled each time after it (urllib3 with
    /// `backoff_factor=2.0` sleeps 0 s, 4 s, 8 s).
    pub backoff: Duration,
}

impl Default for StarmapParams {
    fn default() -> Self {
        StarmapParams {
            timeout: Duration::from_secs(10),
            retries: 3,
            backoff: Duration::from_secs(4),
        }
    }
}

/// A StArMap server at a base URL.
#[derive(Debug, Clone)]
pub struct HttpStarmap {
    base: String,
    client: reqwest::Client,
    params: StarmapParams,
}

impl HttpStarmap {
    /// A client for `base_url` (e.g. `https://starmap.engineering.redhat.com`).
    pub fn new(base_url: &str, params: StarmapParams) -> Result<Self, Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(params.timeout)
            .read_timeout(params.timeout)
            .build()
            .map_err(|e| Error::starmap(base_url, format!("cannot build an HTTP client: {e}")))?;
        Ok(HttpStarmap {
            base: base_url.trim_end_matches('/').to_string(),
            client,
            params,
        })
    }

    /// The query URL, as starmap-client joins it.
    fn url(&self) -> String {
        format!("{}/api/v2/query", self.base)
    }

    /// The pause before retry number `retry` (1-based).
    fn backoff(&self, retry: u32) -> Duration {
        match retry {
            0 | 1 => Duration::ZERO,
            n => self.params.backoff * 2u32.saturating_pow(n - 2),
        }
    }
}

impl StarmapServer for HttpStarmap {
    async fn query(&self, name: &str, version: Option<&str>) -> Result<Option<Value>, Error> {
        let query = format!("name={name} version={}", version.unwrap_or(""));
        let mut params = vec![("name", name)];
        if let Some(v) = version.filter(|v| !v.is_empty()) {
            params.push(("version", v));
        }
        let mut attempt = 0;
        loop {
            let sent = self
                .client
                .get(self.url())
                .query(&params)
                .header(reqwest::header::ACCEPT, "application/json")
                .send()
                .await;
            let retryable = match &sent {
                Ok(r) => (500..=511).contains(&r.status().as_u16()),
                Err(e) => e.is_connect() || e.is_timeout(),
            };
            if retryable && attempt < self.params.retries {
                attempt += 1;
                let what = match &sent {
                    Ok(r) => format!("status {}", r.status()),
                    Err(e) => e.to_string(),
                };
                warn!(%query, %what, attempt, "StArMap query failed; retrying");
                tokio::time::sleep(self.backoff(attempt)).await;
                continue;
            }
            let response = sent.map_err(|e| {
                Error::starmap(&query, format!("request to {} failed: {e}", self.url()))
            })?;
            let status = response.status();
            if status == StatusCode::NOT_FOUND {
                info!(%query, "Marketplace mappings not defined");
                return Ok(None);
            }
            if !status.is_success() {
                return Err(Error::starmap(
                    &query,
                    format!("{} answered {status}", self.url()),
                ));
            }
            let body: Value = response
                .json()
                .await
                .map_err(|e| Error::starmap(&query, format!("response is not JSON: {e}")))?;
            return Ok(Some(body));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::extract::{Query, State};
    use axum::http::StatusCode as Code;
    use axum::routing::get;
    use serde_json::json;
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Fake {
        calls: Arc<Mutex<Vec<HashMap<String, String>>>>,
        failures_left: Arc<Mutex<u32>>,
    }

    async fn query(
        State(fake): State<Fake>,
        Query(q): Query<HashMap<String, String>>,
    ) -> (Code, String) {
        fake.calls.lock().unwrap().push(q.clone());
        {
            let mut left = fake.failures_left.lock().unwrap();
            if *left > 0 {
                *left -= 1;
                return (Code::SERVICE_UNAVAILABLE, "busy".into());
            }
        }
        match q.get("name").map(String::as_str) {
            Some("rhel-ec2") => (Code::OK, json!([{"name": "rhel-ec2"}]).to_string()),
            Some("broken") => (Code::BAD_REQUEST, "no".into()),
            _ => (Code::NOT_FOUND, "{}".into()),
        }
    }

    async fn serve(fake: Fake) -> String {
        let app = Router::new()
            .route("/api/v2/query", get(query))
            .with_state(fake);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}/")
    }

    fn quick() -> StarmapParams {
        StarmapParams {
            timeout: Duration::from_secs(5),
            retries: 3,
            backoff: Duration::from_millis(1),
        }
    }

    #[tokio::test]
    async fn query_sends_name_and_version_and_maps_404_to_none() {
        let fake = Fake::default();
        let client = HttpStarmap::new(&serve(fake.clone()).await, quick()).unwrap();
        let hit = client.query("rhel-ec2", Some("9.4")).await.unwrap();
        assert_eq!(hit, Some(json!([{"name": "rhel-ec2"}])));
        assert_eq!(client.query("unknown", None).await.unwrap(), None);
        let calls = fake.calls.lock().unwrap().clone();
        assert_eq!(
            calls[0],
            HashMap::from([
                ("name".into(), "rhel-ec2".into()),
                ("version".into(), "9.4".into())
            ])
        );
        assert_eq!(calls[1], HashMap::from([("name".into(), "unknown".into())]));
    }

    #[tokio::test]
    async fn server_errors_are_retried_three_times_then_fail() {
        let fake = Fake::default();
        *fake.failures_left.lock().unwrap() = 3;
        let client = HttpStarmap::new(&serve(fake.clone()).await, quick()).unwrap();
        assert!(
            client
                .query("rhel-ec2", Some("9.4"))
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(fake.calls.lock().unwrap().len(), 4);

        *fake.failures_left.lock().unwrap() = 4;
        let err = client
            .query("rhel-ec2", Some("9.4"))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("StArMap query name=rhel-ec2 version=9.4: "),
            "{err}"
        );
        assert!(err.ends_with("answered 503 Service Unavailable"), "{err}");
        assert_eq!(fake.calls.lock().unwrap().len(), 8);
    }

    #[tokio::test]
    async fn client_errors_are_not_retried() {
        let fake = Fake::default();
        let client = HttpStarmap::new(&serve(fake.clone()).await, quick()).unwrap();
        let err = client.query("broken", None).await.unwrap_err().to_string();
        assert!(err.contains("answered 400 Bad Request"), "{err}");
        assert_eq!(fake.calls.lock().unwrap().len(), 1);
    }

    #[test]
    fn backoff_follows_urllib3() {
        let c = HttpStarmap::new("http://127.0.0.1:1", StarmapParams::default()).unwrap();
        let waits: Vec<u64> = (1..=3).map(|n| c.backoff(n).as_secs()).collect();
        assert_eq!(waits, [0, 4, 8]);
    }
}
