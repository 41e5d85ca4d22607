//! How the checks of a long-running EC2 task (an import, a copy) are paced: each check says how
//! long the state machine waits before the next one.

use serde::{Deserialize, Serialize};

/// What a start or check knows to pace the next check: the deployment's interval and, from the
/// check before, the progress it saw and the wait that followed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pacing {
    /// The deployment's poll interval (`ImportPollSeconds`, `CopyPollSeconds`): the first wait
    /// and the shortest.
    #[serde(default)]
    pub poll_seconds: Option<u64>,
    /// Progress in percent at the previous check.
    #[serde(default)]
    pub progress: Option<String>,
    /// The wait between the previous check and this one, seconds.
    #[serde(default)]
    pub waited: Option<u64>,
}
