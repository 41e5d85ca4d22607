//! Start push: what starting a push answers, to an API caller and in the function's output.

use serde::{Deserialize, Serialize};

/// One push started (or found started) by start-push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Started {
    /// The HTTP status it stands for: 202 started, 200 already running, 400 a drop rejected
    /// for invalid input (its execution records the error).
    pub status: u16,
    /// The push.
    pub push_id: String,
    /// Its execution's name (`<push-id>-<8 hex of the request>`).
    pub execution_name: String,
    /// Its execution's ARN.
    pub execution_arn: String,
    /// Whether this call started it.
    pub started: bool,
    /// Why a drop was rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The pushes an S3 notification started, one per drop's `push.yaml` among its records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartedPushes {
    /// Each drop's push.
    pub pushes: Vec<Started>,
}
