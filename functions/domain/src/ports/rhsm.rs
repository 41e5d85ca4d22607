//! RHSM's cloud-access provider API: the image groups the pre-check reads, and the AMI
//! and region writes of rhsm-update.

use std::future::Future;

use serde_json::Value;

use crate::steps::StepError;

/// RHSM's cloud-access provider API, as far as the pre-check needs it.
pub trait Rhsm: Sync {
    /// The image groups: `(name, providerShortName)`.
    fn image_groups(&self)
    -> impl Future<Output = Result<Vec<(String, String)>, StepError>> + Send;
}

/// RHSM's write calls. Each returns whether RHSM answered with a success status; transport
/// failures are errors.
pub trait RhsmWrites: Sync {
    /// `POST .../amazon/regions`.
    fn create_region(&self, body: &Value) -> impl Future<Output = Result<Reply, StepError>> + Send;
    /// `PUT .../amazon/amis`.
    fn update_ami(&self, body: &Value) -> impl Future<Output = Result<Reply, StepError>> + Send;
    /// `POST .../amazon/amis`.
    fn create_ami(&self, body: &Value) -> impl Future<Output = Result<Reply, StepError>> + Send;
}

/// An HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Body text (for error messages).
    pub body: String,
}

impl Reply {
    /// Whether the status is 2xx.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}
