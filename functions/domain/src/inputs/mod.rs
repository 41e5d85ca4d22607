//! What a push reads, parsed and validated before any side effect: staged trees and their
//! metadata, StArMap mappings, credentials documents and push requests. Every error names
//! the file and the field.

pub mod credentials;
pub(crate) mod fields;
pub mod item;
pub mod push;
pub mod staged;
pub mod starmap;
pub mod tree;
