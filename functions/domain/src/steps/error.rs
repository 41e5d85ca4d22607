//! How a step fails: a kind from a fixed list, whose name is the Lambda `errorType` the state
//! machine routes on (`Retry` on `Throttled` and `Transient`, `Catch` on the rest), and a
//! one-line message that never holds a secret.

use std::fmt;

use serde_json::json;

/// The kinds of step failure; their names are the `errorType`s of the functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input is wrong; retrying cannot help.
    InvalidInput,
    /// Something the step needs does not exist.
    NotFound,
    /// The resource is in a state that forbids the operation (a duplicate, a lock).
    Conflict,
    /// Rate limited; retry with backoff.
    Throttled,
    /// A transient failure (5xx, timeout, connection); retry.
    Transient,
    /// Anything else; do not retry.
    Fatal,
}

impl ErrorKind {
    /// Every kind, in the order the ASL lists them.
    pub const ALL: [ErrorKind; 6] = [
        ErrorKind::InvalidInput,
        ErrorKind::NotFound,
        ErrorKind::Conflict,
        ErrorKind::Throttled,
        ErrorKind::Transient,
        ErrorKind::Fatal,
    ];

    /// The Lambda `errorType`.
    pub fn error_type(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "InvalidInput",
            ErrorKind::NotFound => "NotFound",
            ErrorKind::Conflict => "Conflict",
            ErrorKind::Throttled => "Throttled",
            ErrorKind::Transient => "Transient",
            ErrorKind::Fatal => "Fatal",
        }
    }

    /// The HTTP status an API answers with for this kind (OMPS-style error bodies).
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::InvalidInput => 400,
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::Throttled => 429,
            ErrorKind::Transient => 503,
            ErrorKind::Fatal => 500,
        }
    }

    /// Whether the state machine retries it.
    pub fn retryable(self) -> bool {
        matches!(self, ErrorKind::Throttled | ErrorKind::Transient)
    }
}

/// A failed step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepError {
    /// What kind of failure.
    pub kind: ErrorKind,
    /// One line naming what failed and where.
    pub message: String,
}

impl StepError {
    /// A failure of a kind.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        StepError {
            kind,
            message: message.into(),
        }
    }

    /// Bad input.
    pub fn invalid(message: impl Into<String>) -> Self {
        StepError::new(ErrorKind::InvalidInput, message)
    }

    /// The OMPS-style body: `{"status", "error", "message"}`.
    pub fn body(&self) -> String {
        json!({"status": self.kind.http_status(), "error": self.kind.error_type(), "message": self.message}).to_string()
    }
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StepError {}

impl From<crate::Error> for StepError {
    fn from(e: crate::Error) -> Self {
        let kind = match &e {
            crate::Error::Starmap { .. } => ErrorKind::Transient,
            crate::Error::Read { .. } => ErrorKind::Fatal,
            _ => ErrorKind::InvalidInput,
        };
        StepError::new(kind, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_statuses_and_bodies() {
        let names: Vec<_> = ErrorKind::ALL.iter().map(|k| k.error_type()).collect();
        assert_eq!(
            names,
            [
                "InvalidInput",
                "NotFound",
                "Conflict",
                "Throttled",
                "Transient",
                "Fatal"
            ]
        );
        let retried: Vec<_> = ErrorKind::ALL
            .iter()
            .filter(|k| k.retryable())
            .map(|k| k.error_type())
            .collect();
        assert_eq!(retried, ["Throttled", "Transient"]);
        let e = StepError::invalid("push.yaml: workflow: unknown variant `all`");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&e.body()).unwrap(),
            json!({"status": 400, "error": "InvalidInput", "message": "push.yaml: workflow: unknown variant `all`"})
        );
    }
}
