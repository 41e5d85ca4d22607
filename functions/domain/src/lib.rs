//! vmpush's domain, laid out like the pipeline:
//!
//! - [`inputs`]: what a push reads — staged trees, StArMap mappings, credentials, push
//!   requests — parsed and validated before any side effect;
//! - [`plan`]: what a push will do — the workflows' rules, names, billing codes, and the work
//!   list the state machine walks;
//! - [`steps`]: one module per pipeline step, named like its function (`steps::upload` is
//!   `functions/upload`, the ASL state `Upload`, the SAM resource `UploadFunction`);
//! - [`payloads`]: every step's input and output, as the state machine passes them;
//! - [`ports`]: every trait through which a step reaches the world.
//!
//! Nothing here talks to a network or names a cloud SDK type: adapters (`vmpush-cloud`)
//! implement the ports, so every rule is testable offline.

pub mod error;
pub mod inputs;
pub mod payloads;
pub mod plan;
pub mod ports;
pub mod steps;

pub use error::{Error, Result};

/// Lower-case hex of bytes (digests in names, keys and checksums).
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
