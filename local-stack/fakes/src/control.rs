//! What every fake shares: the request log, seeded fault injection and the `/_fake/*`
//! control endpoints.

use std::sync::{Arc, Mutex};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Request bodies larger than this are not recorded (no API here sends one).
const MAX_BODY: usize = 1 << 20;

/// One request as a fake received it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Recorded {
    /// HTTP method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Raw query string.
    pub query: String,
    /// JSON body (`null` when empty or not JSON).
    pub body: Value,
    /// Status answered.
    pub status: u16,
    /// The access key id a SigV4-signed request was signed with (never the signature).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
}

/// The access key id of a SigV4 `Authorization` header (`... Credential=<key>/<scope>, ...`).
fn signer(parts: &axum::http::request::Parts) -> Option<String> {
    let header = parts.headers.get("authorization")?.to_str().ok()?;
    let credential = header.split("Credential=").nth(1)?;
    credential.split('/').next().map(str::to_string)
}

/// How a fake answers an injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultKind {
    /// Rate limiting: 429 (`ThrottlingException` for AWS-style services).
    Throttle,
    /// A server error: 503.
    Unavailable,
    /// Refused: 403 (`AccessDeniedException`), which no client retries.
    Denied,
}

/// Fault injection settings: each request fails with probability `rate`, drawn from an RNG
/// seeded with `seed`, so a run is reproducible.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FaultConfig {
    /// Probability in 0..=1.
    pub rate: f64,
    /// RNG seed.
    #[serde(default)]
    pub seed: u64,
    /// Kinds to pick from (uniformly).
    #[serde(default = "default_kinds")]
    pub kinds: Vec<FaultKind>,
    /// The HTTP methods faults apply to (empty: all), e.g. `["PUT", "POST"]` for writes only.
    #[serde(default)]
    pub methods: Vec<String>,
}

fn default_kinds() -> Vec<FaultKind> {
    vec![FaultKind::Throttle, FaultKind::Unavailable]
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            rate: 0.0,
            seed: 0,
            kinds: default_kinds(),
            methods: Vec::new(),
        }
    }
}

/// How a fake writes its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorStyle {
    /// Plain JSON `{"error": ...}` (RHSM, StArMap).
    Plain,
    /// AWS rest-json: `x-amzn-ErrorType` header and `{"message": ...}`.
    AwsJson,
}

/// The shared state of one fake: its log and its fault injection.
#[derive(Clone)]
pub struct Control {
    style: ErrorStyle,
    log: Arc<Mutex<Vec<Recorded>>>,
    faults: Arc<Mutex<(FaultConfig, fastrand::Rng)>>,
}

impl Control {
    /// A control block for a fake answering errors in `style`.
    pub fn new(style: ErrorStyle, faults: FaultConfig) -> Self {
        let rng = fastrand::Rng::with_seed(faults.seed);
        Control {
            style,
            log: Arc::new(Mutex::new(Vec::new())),
            faults: Arc::new(Mutex::new((faults, rng))),
        }
    }

    /// The requests served so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().expect("log lock").clone()
    }

    /// Replaces the fault settings (and reseeds).
    pub fn set_faults(&self, config: FaultConfig) {
        let rng = fastrand::Rng::with_seed(config.seed);
        *self.faults.lock().expect("faults lock") = (config, rng);
    }

    fn draw_fault(&self, method: &str) -> Option<FaultKind> {
        let mut guard = self.faults.lock().expect("faults lock");
        let (config, rng) = &mut *guard;
        let applies = config.methods.is_empty() || config.methods.iter().any(|m| m == method);
        if !applies || config.rate <= 0.0 || config.kinds.is_empty() || rng.f64() >= config.rate {
            return None;
        }
        Some(config.kinds[rng.usize(..config.kinds.len())])
    }

    /// An error response in this fake's style.
    pub fn error(&self, status: StatusCode, aws_type: &str, message: &str) -> Response {
        match self.style {
            ErrorStyle::Plain => (status, Json(json!({"error": message}))).into_response(),
            ErrorStyle::AwsJson => {
                let mut r = (status, Json(json!({"message": message}))).into_response();
                r.headers_mut().insert(
                    "x-amzn-ErrorType",
                    HeaderValue::from_str(aws_type).expect("ascii error type"),
                );
                r
            }
        }
    }
}

/// `value` with every SAS signature (`sig=...`) in its strings replaced by `sig=REDACTED`:
/// a log shows which disk a request named, never a token that reads it.
pub fn redacted(value: Value) -> Value {
    match value {
        Value::String(text) if text.contains("sig=") => {
            let mut out = String::with_capacity(text.len());
            let mut rest = text.as_str();
            while let Some(at) = rest.find("sig=") {
                out.push_str(&rest[..at + 4]);
                out.push_str("REDACTED");
                rest = &rest[at + 4..];
                rest = rest.find(['&', '"', ' ']).map_or("", |end| &rest[end..]);
            }
            out.push_str(rest);
            Value::String(out)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(redacted).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, redacted(v))).collect())
        }
        other => other,
    }
}

/// Middleware: injects faults, then records the request and the status served.
pub async fn record(State(control): State<Control>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    if parts.uri.path().starts_with("/_fake/") {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let bytes = to_bytes(body, MAX_BODY).await.unwrap_or_default();
    let mut recorded = Recorded {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        body: redacted(serde_json::from_slice(&bytes).unwrap_or(Value::Null)),
        status: 0,
        signer: signer(&parts),
    };
    let response = match control.draw_fault(parts.method.as_str()) {
        Some(FaultKind::Throttle) => control.error(
            StatusCode::TOO_MANY_REQUESTS,
            "ThrottlingException",
            "Rate exceeded (injected)",
        ),
        Some(FaultKind::Unavailable) => control.error(
            StatusCode::SERVICE_UNAVAILABLE,
            "InternalServiceException",
            "Service unavailable (injected)",
        ),
        Some(FaultKind::Denied) => control.error(
            StatusCode::FORBIDDEN,
            "AccessDeniedException",
            "Access denied (injected)",
        ),
        None => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
    };
    recorded.status = response.status().as_u16();
    control.log.lock().expect("log lock").push(recorded);
    response
}

/// The `/_fake/*` routes: requests (GET, DELETE), faults (POST) and reset (POST, which
/// calls `reset` to restore the fake's seeded state and clears the log).
pub fn routes(control: Control, reset: impl Fn() + Clone + Send + Sync + 'static) -> Router {
    let c1 = control.clone();
    let c2 = control.clone();
    let c3 = control.clone();
    let c4 = control;
    Router::new()
        .route(
            "/_fake/requests",
            get(move || async move { Json(c1.requests()) }).delete(move || async move {
                c2.log.lock().expect("log lock").clear();
                StatusCode::NO_CONTENT
            }),
        )
        .route(
            "/_fake/faults",
            post(move |Json(config): Json<FaultConfig>| async move {
                c3.set_faults(config);
                StatusCode::NO_CONTENT
            }),
        )
        .route(
            "/_fake/reset",
            post(move || async move {
                reset();
                c4.log.lock().expect("log lock").clear();
                c4.set_faults(FaultConfig::default());
                StatusCode::NO_CONTENT
            }),
        )
}
