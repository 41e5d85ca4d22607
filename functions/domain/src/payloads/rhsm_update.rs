//! RHSM update: one shipped AMI told to RHSM.

use serde::{Deserialize, Serialize};

use crate::plan::PlannedDestination;

/// The step's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RhsmInput {
    /// The work-list destination's id.
    pub id: String,
    /// The destination, as planned.
    pub destination: PlannedDestination,
    /// The AMI published there.
    pub ami: String,
    /// Pre-push: RHSM is not written.
    #[serde(default)]
    pub pre_push: bool,
}

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RhsmAction {
    /// Nothing (pre-push, or no RHSM product).
    Skipped,
    /// The AMI was known and updated.
    Updated,
    /// The region was registered and the AMI created.
    Created,
}

/// The step's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RhsmOutput {
    /// The work-list destination's id.
    pub id: String,
    /// What was done.
    pub action: RhsmAction,
    /// The AMI.
    pub ami: String,
    /// The RHSM product.
    pub product: Option<String>,
}
