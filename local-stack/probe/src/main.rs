//! `vmpush-probe`: a Lambda function the local stack uses to prove its wiring (Step Functions
//! tasks, S3 notifications and direct invokes reach a real Rust function through
//! `cargo lambda watch`). It answers `{"probe": "ok", "event": <event>}`, or fails with the
//! error type `ProbeFailure` when the event holds `"fail": true`, so `Retry`/`Catch` by name
//! can be exercised.

use lambda_runtime::{Diagnostic, Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

/// The error the probe raises on request.
#[derive(Debug)]
struct ProbeFailure(String);

impl From<ProbeFailure> for Diagnostic {
    fn from(e: ProbeFailure) -> Self {
        Diagnostic {
            error_type: "ProbeFailure".into(),
            error_message: e.0,
        }
    }
}

async fn handle(event: LambdaEvent<Value>) -> Result<Value, ProbeFailure> {
    if event.payload.get("fail") == Some(&Value::Bool(true)) {
        return Err(ProbeFailure("failure requested by the event".into()));
    }
    Ok(json!({"probe": "ok", "event": event.payload}))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    lambda_runtime::run(service_fn(handle)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_runtime::Context;

    #[tokio::test]
    async fn answers_the_event_or_fails_by_name() {
        let ok = handle(LambdaEvent::new(json!({"x": 1}), Context::default()))
            .await
            .unwrap();
        assert_eq!(ok, json!({"probe": "ok", "event": {"x": 1}}));
        let err = handle(LambdaEvent::new(json!({"fail": true}), Context::default()))
            .await
            .unwrap_err();
        let d: Diagnostic = err.into();
        assert_eq!(
            (d.error_type.as_str(), d.error_message.as_str()),
            ("ProbeFailure", "failure requested by the event")
        );
    }
}
