//! One module per pipeline step, named exactly like its function folder, crate, SAM resource
//! and ASL state (`upload`: `functions/upload`, `vmpush-upload`, `UploadFunction`, `Upload`).
//! Each takes its typed input from its payload types, reaches the world through
//! [`crate::ports`], and fails with a [`StepError`].

pub mod copy_regions;
mod error;
pub mod import_snapshot;
pub mod publish;
pub mod push_status;
pub mod resolve_mapping;
pub mod rhsm_update;
pub mod sns_notify;
pub mod summarize;
pub mod upload;

pub use error::{ErrorKind, StepError};
