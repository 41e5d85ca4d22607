//! The domain's error type. Every message names the file (or mapping source) and the field it
//! is about, so one line tells a release engineer what to fix. No variant ever carries a
//! secret value: credential errors name keys, never their contents.

use snafu::Snafu;

/// An error found while reading staged trees, mappings or credentials, or while planning.
#[derive(Debug, Snafu)]
#[snafu(visibility(pub(crate)))]
pub enum Error {
    /// A field is missing, has the wrong type, or a value that is not allowed.
    #[snafu(display("{file}: {field}: {problem}"))]
    Invalid {
        /// The file or mapping source, as the user named it.
        file: String,
        /// The dotted path of the field inside the document.
        field: String,
        /// What is wrong with it.
        problem: String,
    },

    /// A document is not well-formed YAML or JSON.
    #[snafu(display("{file}: not valid {format}: {message}"))]
    Syntax {
        /// The file or mapping source.
        file: String,
        /// "YAML" or "JSON".
        format: &'static str,
        /// What is wrong and where (the parser's words: they name keys, never values).
        message: String,
    },

    /// A file could not be read.
    #[snafu(display("{file}: cannot read: {source}"))]
    Read {
        /// The file that could not be read.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },

    /// A staged tree breaks a layout rule (a link leaving the tree, `..`, no destinations...).
    #[snafu(display("{file}: {problem}"))]
    Layout {
        /// The path inside the tree, or the tree itself.
        file: String,
        /// The rule that is broken.
        problem: String,
    },

    /// The StArMap server could not answer a query.
    #[snafu(display("StArMap query {query}: {message}"))]
    Starmap {
        /// The query, as `name=<name> version=<version>`.
        query: String,
        /// What went wrong.
        message: String,
    },
}

/// `text` on one line: control characters (a newline inside a quoted key, a NUL) escaped, so
/// that an error stays the one line a release engineer reads.
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

impl Error {
    /// An error for a StArMap server failure, for adapters that talk to the server.
    pub fn starmap(query: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Starmap {
            query: query.into(),
            message: message.into(),
        }
    }

    /// An invalid-field error, for adapters that validate documents they fetch themselves.
    pub fn invalid(
        file: impl Into<String>,
        field: impl Into<String>,
        problem: impl Into<String>,
    ) -> Self {
        Error::Invalid {
            file: file.into(),
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// The domain's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
