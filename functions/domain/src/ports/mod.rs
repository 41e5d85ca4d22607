//! Every trait through which a step reaches the world, with the vocabulary it speaks: object
//! stores and staged trees, Azure page blobs, Step Functions executions, EC2 (imports, snapshot copies, AMIs),
//! the AWS Marketplace Catalog, Partner Center's Product Ingestion API, RHSM, StArMap and notification topics. Adapters in
//! `vmpush-cloud` implement them over the AWS SDK and HTTP; tests implement them in memory. (Staged trees themselves are read
//! through [`crate::inputs::tree::FileTree`], whose implementations are the domain's own.)

mod blobs;
mod catalog;
mod ec2;
mod executions;
mod ingestion;
#[cfg(any(test, feature = "testing"))]
pub mod memory;
mod rhsm;
mod starmap;
mod store;
mod topic;

pub use blobs::*;
pub use catalog::*;
pub use ec2::*;
pub use executions::*;
pub use ingestion::*;
pub use rhsm::*;
pub use starmap::*;
pub use store::*;
pub use topic::*;

use std::future::Future;

use crate::steps::StepError;

/// Reads small objects (metadata, push requests) from an object store.
pub trait ObjectReader: Sync {
    /// The whole object, refused when larger than `limit` bytes.
    fn read_small(
        &self,
        bucket: &str,
        key: &str,
        limit: u64,
    ) -> impl Future<Output = Result<Vec<u8>, StepError>> + Send;
}

/// Writes objects (results) to an object store.
pub trait ObjectWriter: Sync {
    /// Stores `body` at `key` of `bucket`, replacing what is there.
    fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> impl Future<Output = Result<(), StepError>> + Send;
}

/// Reads staged trees from an object store.
pub trait StagedTrees: Sync {
    /// The tree under `prefix` of `bucket`, with its metadata files' contents.
    fn staged_tree(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> impl Future<Output = Result<crate::inputs::tree::MemoryTree, StepError>> + Send;
}
