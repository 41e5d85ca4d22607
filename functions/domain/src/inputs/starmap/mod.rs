//! StArMap APIv2: the destination mapping service of pubtools-marketplacesvm.

mod merge;
mod model;
mod resolve;

pub use merge::dict_merge;
pub use model::{
    BillingRule, BillingType, Destination, Entity, Mapping, Workflow, decode_entities,
};
pub use resolve::{Mode, NoServer, Resolver};

use crate::error::Result;
use crate::inputs::fields::parse_document;

/// Reads a `--repo` JSON value or `--repo-file` YAML/JSON document: a list of entities.
pub fn read_repo(file: &str, bytes: &[u8]) -> Result<Vec<Entity>> {
    decode_entities(file, &parse_document(file, bytes)?)
}

/// Reads a `--repo` / `--repo-file` document as [`read_repo`] does (every entity is checked),
/// keeping the entities as written, for a push request's `starmap.repo`.
pub fn read_repo_values(file: &str, bytes: &[u8]) -> Result<Vec<serde_json::Value>> {
    let document = parse_document(file, bytes)?;
    decode_entities(file, &document)?;
    Ok(document.as_array().cloned().unwrap_or_default())
}
