//! What every function's entry point shares: [`serve`] decodes the typed event (a bad one is
//! `InvalidInput` naming the field), runs the step and turns a [`StepError`] into the Lambda
//! error the state machine routes on: `errorType` is the kind (`Retry` on `Throttled` and
//! `Transient`, `Catch` on the rest), `errorMessage` the plain one-line message. The OMPS
//! body (`{"status", "error", "message"}`) belongs to the HTTP edge only ([`api`]).

pub mod api;
pub mod start_push;

pub use crate::env;

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lambda_runtime::{Context, Diagnostic, LambdaEvent, service_fn};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use vmpush_domain::steps::StepError;

use crate::pinned::with_credentials_version;

/// A step error on its way out of a function.
#[derive(Debug)]
pub struct Failure(pub StepError);

impl From<Failure> for Diagnostic {
    fn from(f: Failure) -> Self {
        Diagnostic {
            error_type: f.0.kind.error_type().into(),
            error_message: f.0.message,
        }
    }
}

/// A decoding error as one line: what was decoded, the field (when not the whole document)
/// and the problem (`publish input: destination.region: invalid type: ...`).
pub fn located(what: &str, e: &serde_path_to_error::Error<serde_json::Error>) -> String {
    match e.path().to_string().as_str() {
        "." => format!("{what}: {}", e.inner()),
        path => format!("{what}: {path}: {}", e.inner()),
    }
}

/// Decodes `payload` as `T`; an error names the step and the field.
pub fn decode<T: DeserializeOwned>(step: &str, payload: Value) -> Result<T, StepError> {
    serde_path_to_error::deserialize(payload)
        .map_err(|e| StepError::invalid(located(&format!("{step} input"), &e)))
}

/// The event's `credentials_version` (see [`crate::pinned`]), taken out of it: the steps'
/// inputs do not know it.
pub fn take_credentials_version(mut payload: Value) -> (Value, Option<String>) {
    let version = payload
        .as_object_mut()
        .and_then(|o| o.remove(CREDENTIALS_VERSION))
        .and_then(|v| v.as_str().map(str::to_string));
    (payload, version)
}

/// The event field naming the credentials secret's version.
pub const CREDENTIALS_VERSION: &str = "credentials_version";

/// Runs the function of `step`: every event is decoded as `In`, handed to `handler` with the
/// invocation's context, and its output (or error) returned to Lambda.
pub async fn serve<In, Out, F, Fut>(
    step: &'static str,
    handler: F,
) -> Result<(), lambda_runtime::Error>
where
    In: DeserializeOwned,
    Out: Serialize,
    F: Fn(In, Context) -> Fut,
    Fut: Future<Output = Result<Out, StepError>>,
{
    lambda_runtime::tracing::init_default_subscriber();
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let started = Instant::now();
        let (payload, version) = take_credentials_version(event.payload);
        let input = decode::<In>(step, payload).map_err(Failure)?;
        // boxed: the step's future (SDK calls and all) stays out of the runtime's type
        let run: Pin<Box<dyn Future<Output = Result<Out, StepError>> + '_>> =
            Box::pin(handler(input, event.context));
        let out = with_credentials_version(version, run).await;
        // the step's own time, without the wait for an instance (the benchmark's run time)
        let run_ms = started.elapsed().as_millis();
        tracing::info!(step, run_ms, ok = out.is_ok(), "invocation done");
        out.map_err(Failure)
    }))
    .await
}

/// A required environment variable, or an error naming it.
pub fn required_env(name: &str) -> Result<String, lambda_runtime::Error> {
    std::env::var(name).map_err(|_| format!("environment variable {name} is not set").into())
}

/// A whole-number environment variable, or `default` when unset.
pub fn env_u64(name: &str, default: u64) -> Result<u64, lambda_runtime::Error> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .map_err(|_| format!("{name}: {v:?} is not a whole number").into()),
        Err(_) => Ok(default),
    }
}

/// The instant `margin` before the invocation's deadline. A deadline already past when the
/// invocation starts is not a real one (`cargo lambda watch` sends a duration): then the
/// invocation gets `fallback`.
pub fn stop_before_deadline(context: &Context, margin: Duration, fallback: Duration) -> Instant {
    let deadline_ms = context.deadline;
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    if deadline_ms <= now_ms {
        tracing::warn!(
            deadline_ms,
            "the runtime's deadline is already past; using the fallback budget"
        );
        return Instant::now() + fallback;
    }
    let left = Duration::from_millis(deadline_ms - now_ms);
    Instant::now() + left.saturating_sub(margin)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;
    use vmpush_domain::steps::ErrorKind;

    use super::*;

    #[test]
    fn diagnostics_carry_the_kind_and_the_plain_message() {
        let d: Diagnostic = Failure(StepError::new(
            ErrorKind::Throttled,
            "StartExecution x: slow down",
        ))
        .into();
        assert_eq!(
            (d.error_type.as_str(), d.error_message.as_str()),
            ("Throttled", "StartExecution x: slow down")
        );
    }

    #[test]
    fn the_credentials_version_is_taken_out_of_the_event() {
        let (payload, version) = take_credentials_version(
            json!({"id": "ds-1", "credentials_version": "v-2", "region": "r"}),
        );
        assert_eq!(payload, json!({"id": "ds-1", "region": "r"}));
        assert_eq!(version.as_deref(), Some("v-2"));
        let (payload, version) =
            take_credentials_version(json!({"id": "ds-1", "credentials_version": null}));
        assert_eq!((payload, version), (json!({"id": "ds-1"}), None));
        let (payload, version) = take_credentials_version(json!(["not", "an", "object"]));
        assert_eq!((payload, version), (json!(["not", "an", "object"]), None));
    }

    #[test]
    fn a_bad_event_names_the_step_and_the_field() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Input {
            region: String,
            nested: Nested,
        }
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Nested {
            count: u32,
        }
        let e = decode::<Input>(
            "copy-regions",
            json!({"region": "r", "nested": {"count": "x"}}),
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidInput);
        assert_eq!(
            e.message,
            "copy-regions input: nested.count: invalid type: string \"x\", expected u32"
        );
        let e = decode::<Input>("copy-regions", json!({"nested": {"count": 1}})).unwrap_err();
        assert_eq!(e.message, "copy-regions input: missing field `region`");
        assert!(
            decode::<Input>(
                "copy-regions",
                json!({"region": "r", "nested": {"count": 1}})
            )
            .is_ok()
        );
    }
}
