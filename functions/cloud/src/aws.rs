//! Shared AWS plumbing: the SDK configuration (honouring `AWS_ENDPOINT_URL` and the per-service
//! `AWS_ENDPOINT_URL_<SERVICE>` variables, so the local stack needs no code path of its own)
//! and the mapping of SDK errors to the step error kinds the state machine retries on.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use vmpush_domain::steps::{ErrorKind, StepError};

/// The SDK configuration from the environment.
pub async fn sdk_config() -> SdkConfig {
    aws_config::load_defaults(BehaviorVersion::latest()).await
}

/// The SDK configuration of an emulator at `endpoint` (test credentials), for tools that
/// talk to the local stack without exporting its environment.
pub async fn emulator_config(endpoint: &str, region: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(region.to_string()))
        .test_credentials()
        .load()
        .await
}

/// Whether an endpoint override is set (the local stack, or a VPC endpoint).
pub fn endpoint_overridden() -> bool {
    std::env::var_os("AWS_ENDPOINT_URL").is_some()
}

/// Error codes AWS services use for rate limiting.
const THROTTLING: [&str; 8] = [
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "SlowDown",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
];

/// Maps an SDK error to a step error; `what` says which call on which resource failed.
pub fn classify<E>(what: &str, err: &SdkError<E, HttpResponse>) -> StepError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("");
            let status = service.raw().status().as_u16();
            let kind = if THROTTLING.contains(&code) || status == 429 {
                ErrorKind::Throttled
            } else if code.contains("NotFound")
                || code.contains("DoesNotExist")
                || code.starts_with("NoSuch")
            {
                ErrorKind::NotFound
            } else if code.contains("Exists")
                || code.contains("Duplicate")
                || code.contains("Conflict")
                || code.contains("InUse")
            {
                ErrorKind::Conflict
            } else if status >= 500 {
                ErrorKind::Transient
            } else {
                ErrorKind::Fatal
            };
            match service.err().message() {
                Some(message) => {
                    StepError::new(kind, format!("{what}: {code} (HTTP {status}): {message}"))
                }
                // no code and no message: an answer the SDK could not read; say why
                None if code.is_empty() => StepError::new(
                    kind,
                    format!("{what}: HTTP {status}: {}", DisplayErrorContext(err)),
                ),
                None => StepError::new(kind, format!("{what}: {code} (HTTP {status})")),
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            StepError::new(
                ErrorKind::Transient,
                format!("{what}: {}", DisplayErrorContext(err)),
            )
        }
        _ => StepError::new(
            ErrorKind::Fatal,
            format!("{what}: {}", DisplayErrorContext(err)),
        ),
    }
}
