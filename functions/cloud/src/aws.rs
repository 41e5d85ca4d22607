//! Shared AWS plumbing: the SDK configuration (honouring `AWS_ENDPOINT_URL` and the per-service
//! `AWS_ENDPOINT_URL_<SERVICE>` variables, so the local stack needs no code path of its own)
//! and the mapping of SDK errors to the step error kinds the state machine retries on.

use std::fmt;

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

/// One failed SDK call as AWS answered it, read once from the SDK error: the class the state
/// machine retries on, the service's error code and a one-line account. It is the `source` of
/// every adapter module's typed error, which adds the operation, resource and region.
#[derive(Debug)]
pub struct SdkFailure {
    kind: ErrorKind,
    code: String,
    status: Option<u16>,
    detail: String,
}

impl SdkFailure {
    /// How the state machine treats it.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The service's error code (`InvalidAMIName.Duplicate`), empty when it sent none.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The HTTP status of the answer, when one came.
    pub fn status(&self) -> Option<u16> {
        self.status
    }
}

impl fmt::Display for SdkFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

impl std::error::Error for SdkFailure {}

impl<E> From<SdkError<E, HttpResponse>> for SdkFailure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    fn from(err: SdkError<E, HttpResponse>) -> Self {
        let status = err.raw_response().map(|r| r.status().as_u16());
        match &err {
            SdkError::ServiceError(service) => {
                let code = service.err().code().unwrap_or("").to_string();
                let status = service.raw().status().as_u16();
                let kind = kind_of(&code, status);
                let detail = match service.err().message() {
                    Some(message) => format!("{code} (HTTP {status}): {message}"),
                    // no code and no message: an answer the SDK could not read; say why
                    None if code.is_empty() => {
                        format!("HTTP {status}: {}", DisplayErrorContext(&err))
                    }
                    None => format!("{code} (HTTP {status})"),
                };
                SdkFailure {
                    kind,
                    code,
                    status: Some(status),
                    detail,
                }
            }
            SdkError::TimeoutError(_)
            | SdkError::DispatchFailure(_)
            | SdkError::ResponseError(_) => SdkFailure {
                kind: ErrorKind::Transient,
                code: String::new(),
                status,
                detail: DisplayErrorContext(&err).to_string(),
            },
            _ => SdkFailure {
                kind: ErrorKind::Fatal,
                code: String::new(),
                status,
                detail: DisplayErrorContext(&err).to_string(),
            },
        }
    }
}

/// The class of a service error from its code and HTTP status.
fn kind_of(code: &str, status: u16) -> ErrorKind {
    if THROTTLING.contains(&code) || status == 429 {
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
    }
}

/// Reads the SDK error of a call into an [`SdkFailure`], ready for an adapter's `context`.
pub trait SdkResultExt<T> {
    /// The call's result with its error read.
    fn failure(self) -> Result<T, SdkFailure>;
}

impl<T, E> SdkResultExt<T> for Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    fn failure(self) -> Result<T, SdkFailure> {
        self.map_err(SdkFailure::from)
    }
}

/// The step error of an adapter's typed error: its message with every context, and the kind of
/// the [`SdkFailure`] it wraps, else `own` (an answer the adapter could not use).
pub fn step_error(error: &(dyn std::error::Error + 'static), own: ErrorKind) -> StepError {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if let Some(failure) = e.downcast_ref::<SdkFailure>() {
            return StepError::new(failure.kind, error.to_string());
        }
        cause = e.source();
    }
    StepError::new(own, error.to_string())
}
