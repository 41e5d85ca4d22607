//! vmpush's domain: staged trees, StArMap mappings, credentials, naming, billing and plans.
//!
//! Nothing here talks to a network or names a cloud SDK type: adapters (`vmpush-cloud`)
//! implement the small traits this crate defines ([`tree::FileTree`],
//! [`starmap::StarmapServer`]), so every rule is testable offline.

pub mod billing;
pub mod copy_regions;
pub mod credentials;
pub mod error;
mod fields;
pub mod import;
pub mod item;
pub mod naming;
pub mod notify;
pub mod plan;
pub mod ports;
pub mod progress;
pub mod publish;
pub mod push;
pub mod result;
pub mod rhsm;
pub mod rhsm_update;
pub mod staged;
pub mod starmap;
pub mod step;
pub mod tree;
pub mod upload;
mod workflow;
pub mod worklist;

pub use error::{Error, Result};
