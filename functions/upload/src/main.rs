//! `vmpush-upload`: wiring only. Each invocation reads the staged file with the function's
//! own client and writes to a client of the target bucket's region; the logic is
//! [`vmpush_domain::steps::upload::run`].
//!
//! Environment: `VMPUSH_UPLOAD_IN_FLIGHT_MIB` (part data in memory at once, default 32),
//! `VMPUSH_UPLOAD_MARGIN_SECS` (no part starts later than this before the Lambda deadline,
//! default 60), `VMPUSH_UPLOAD_FALLBACK_SECS` (the budget when the runtime gives no usable
//! deadline, default 600).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use vmpush_cloud::lambda::Failure;
use vmpush_cloud::s3::uploads::S3Store;
use vmpush_cloud::s3::{client, client_in};
use vmpush_domain::steps::StepError;
use vmpush_domain::steps::upload::{Budget, Tuning, UploadInput, run};

fn env_u64(name: &str, default: u64) -> Result<u64, Error> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .map_err(|_| format!("{name}: {v:?} is not a whole number").into()),
        Err(_) => Ok(default),
    }
}

/// The instant `margin` before the invocation's deadline (milliseconds since the epoch). A
/// deadline already past when the invocation starts is not a real one (`cargo lambda watch`
/// sends a duration): then parts stop after `fallback`.
fn stop_at(deadline_ms: u64, margin: Duration, fallback: Duration) -> Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    if deadline_ms <= now_ms {
        lambda_runtime::tracing::warn!(
            deadline_ms,
            "the runtime's deadline is already past; using the fallback budget"
        );
        return Instant::now() + fallback;
    }
    let left = Duration::from_millis(deadline_ms - now_ms);
    Instant::now() + left.saturating_sub(margin)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let sdk = &vmpush_cloud::aws::sdk_config().await;
    let staging = &client(sdk);
    let tuning = &Tuning {
        in_flight_bytes: env_u64("VMPUSH_UPLOAD_IN_FLIGHT_MIB", 32)? << 20,
        ..Tuning::default()
    };
    let margin = Duration::from_secs(env_u64("VMPUSH_UPLOAD_MARGIN_SECS", 60)?);
    let fallback = Duration::from_secs(env_u64("VMPUSH_UPLOAD_FALLBACK_SECS", 600)?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let input: UploadInput = serde_json::from_value(event.payload)
            .map_err(|e| Failure(StepError::invalid(format!("upload input: {e}"))))?;
        let store = S3Store::new(staging.clone(), client_in(sdk, &input.work.region));
        let stop = stop_at(event.context.deadline, margin, fallback);
        lambda_runtime::tracing::info!(
            deadline_ms = event.context.deadline,
            parts_until_secs = stop.saturating_duration_since(Instant::now()).as_secs(),
            "invocation budget"
        );
        let budget = Budget {
            deadline: Some(stop),
            max_parts: None,
        };
        run(&store, &input, tuning, budget).await.map_err(Failure)
    }))
    .await
}
