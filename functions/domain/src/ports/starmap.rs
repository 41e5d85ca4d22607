//! StArMap's APIv2 query endpoint.

use std::future::Future;

use serde_json::Value;

use crate::error::Result;

/// The StArMap APIv2 server: `GET {url}/api/v2/query?name=&version=`.
pub trait StarmapServer: Sync {
    /// The raw query response; `Ok(None)` when the server has no mapping (404).
    fn query(
        &self,
        name: &str,
        version: Option<&str>,
    ) -> impl Future<Output = Result<Option<Value>>> + Send;
}
