//! Errors of the local stack, each naming the step, the command or file, and where its log is.

use std::path::PathBuf;

use snafu::Snafu;

/// What went wrong while managing the local stack.
#[derive(Debug, Snafu)]
#[snafu(visibility(pub(crate)))]
pub enum Error {
    /// A tool the stack needs is not on this machine.
    #[snafu(display("{tool} is required for the local stack: {hint}"))]
    MissingTool {
        /// The tool.
        tool: String,
        /// How to get it.
        hint: String,
    },

    /// A command failed.
    #[snafu(display("{what} failed (exit {code:?}); see {}", log.display()))]
    Command {
        /// What was being done.
        what: String,
        /// Its exit code.
        code: Option<i32>,
        /// Its log.
        log: PathBuf,
    },

    /// A file or process operation failed.
    #[snafu(display("{what}: {source}"))]
    Io {
        /// What was being done.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },

    /// A service did not become ready in time.
    #[snafu(display("{service} did not answer on {url} within {seconds} s; see {}", log.display()))]
    NotReady {
        /// The service.
        service: String,
        /// Where it was probed.
        url: String,
        /// How long we waited.
        seconds: u64,
        /// Its log.
        log: PathBuf,
    },

    /// The stack's state file is unreadable.
    #[snafu(display("{}: {message}", path.display()))]
    State {
        /// The state file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },

    /// The stack is not running.
    #[snafu(display("the local stack is not running (no {})", path.display()))]
    NotRunning {
        /// The state file that is missing.
        path: PathBuf,
    },

    /// A control request to a running service failed.
    #[snafu(display("{service}: {message}"))]
    Control {
        /// The service.
        service: String,
        /// What failed.
        message: String,
    },
}

/// The local stack's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
