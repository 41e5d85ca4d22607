//! What every function's entry point shares: step errors become Lambda errors whose
//! `errorType` is the step error kind (what the state machine's `Retry`/`Catch` match) and
//! whose message is the OMPS-style `{"status", "error", "message"}` body.

use lambda_runtime::Diagnostic;
use vmpush_domain::steps::StepError;

/// A step error on its way out of a function.
#[derive(Debug)]
pub struct Failure(pub StepError);

impl From<StepError> for Failure {
    fn from(e: StepError) -> Self {
        Failure(e)
    }
}

impl From<Failure> for Diagnostic {
    fn from(f: Failure) -> Self {
        Diagnostic {
            error_type: f.0.kind.error_type().into(),
            error_message: f.0.body(),
        }
    }
}

/// A required environment variable, or an error naming it.
pub fn required_env(name: &str) -> Result<String, lambda_runtime::Error> {
    std::env::var(name).map_err(|_| format!("environment variable {name} is not set").into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmpush_domain::steps::ErrorKind;

    #[test]
    fn diagnostics_carry_the_kind_and_the_omps_body() {
        let d: Diagnostic = Failure(StepError::new(
            ErrorKind::Throttled,
            "StartExecution x: slow down",
        ))
        .into();
        assert_eq!(d.error_type, "Throttled");
        let body: serde_json::Value = serde_json::from_str(&d.error_message).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"status": 429, "error": "Throttled", "message": "StartExecution x: slow down"})
        );
    }
}
