//! The AWS Marketplace Catalog API (catalog `AWSMarketplace`): product entities, their
//! versions and delivery options, and the change sets that add, update and restrict them.

use std::future::Future;

use serde_json::Value;

use crate::steps::StepError;

/// One delivery option of a product version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryOption {
    /// Its id (what `UpdateDeliveryOptions` and `RestrictDeliveryOptions` name).
    pub id: String,
    /// `Public`, `Limited`, `Restricted`, `Draft`.
    pub visibility: String,
}

/// One version of a product, as `DescribeEntity` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductVersion {
    /// The version's id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// When it was created (ISO 8601), if shown.
    pub created: Option<String>,
    /// Its delivery options, in order.
    pub delivery_options: Vec<DeliveryOption>,
    /// The AMIs of its `AmazonMachineImage` sources.
    pub amis: Vec<String>,
}

/// A product entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    /// `AmiProduct@1.0`.
    pub entity_type: String,
    /// Its versions.
    pub versions: Vec<ProductVersion>,
}

/// A change set of the catalog, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSetSummary {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: Option<String>,
    /// `PREPARING`, `APPLYING`, `SUCCEEDED`, `CANCELLED`, `FAILED`.
    pub status: String,
}

/// A change set as described.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSetState {
    /// `PREPARING`, `APPLYING`, `SUCCEEDED`, `CANCELLED`, `FAILED`.
    pub status: String,
    /// `FailureCode` (`CLIENT_ERROR`, `SERVER_FAULT`), when it failed.
    pub failure_code: Option<String>,
    /// `FailureDescription`.
    pub failure_description: Option<String>,
    /// Every change's `ErrorDetailList` entries, as `<ErrorCode>: <ErrorMessage>`.
    pub errors: Vec<String>,
}

/// One change set to start, with one change.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeRequest {
    /// `AddDeliveryOptions`, `UpdateDeliveryOptions`, `RestrictDeliveryOptions`.
    pub change_type: String,
    /// `AmiProduct@1.0`.
    pub entity_type: String,
    /// The product entity.
    pub entity_id: String,
    /// The change's details, sent as `DetailsDocument` (an object) or as `Details` (a JSON
    /// string), as the reference sends each change type.
    pub details: Value,
    /// Send [`ChangeRequest::details`] as the `Details` string.
    pub details_as_string: bool,
    /// `APPLY` or `VALIDATE`.
    pub intent: String,
    /// `ClientRequestToken`: the same request with the same token starts one change set.
    pub token: String,
    /// `ChangeSetName`: what tells this tool's change set of a destination in a listing.
    pub name: String,
}

/// What `StartChangeSet` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    /// The change set (new, or the one its token started before).
    ChangeSet(String),
    /// `ResourceInUseException`: another change set holds the entity.
    Locked(String),
}

/// The AWS Marketplace Catalog of one seller account.
pub trait Catalog: Sync {
    /// A product entity (`DescribeEntity`).
    fn product(&self, entity_id: &str) -> impl Future<Output = Result<Product, StepError>> + Send;
    /// The change sets of an entity still `PREPARING` or `APPLYING` (`ListChangeSets`).
    fn open_change_sets(
        &self,
        entity_id: &str,
    ) -> impl Future<Output = Result<Vec<ChangeSetSummary>, StepError>> + Send;
    /// Starts a change set (`StartChangeSet`).
    fn start(
        &self,
        request: &ChangeRequest,
    ) -> impl Future<Output = Result<Started, StepError>> + Send;
    /// One change set (`DescribeChangeSet`).
    fn change_set(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<ChangeSetState, StepError>> + Send;
}

/// An AMI of the account, as far as retiring it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedImage {
    /// `ami-...`.
    pub id: String,
    /// Its EBS snapshots.
    pub snapshots: Vec<String>,
    /// Its tags.
    pub tags: Vec<(String, String)>,
}

/// The AMIs a Marketplace version points at, in their account and region: tagged when
/// published, deleted when restricted.
pub trait ProductImages: Sync {
    /// An own AMI by id; `None` when the account has none (deleted already, or not its own).
    fn image(&self, id: &str)
    -> impl Future<Output = Result<Option<OwnedImage>, StepError>> + Send;
    /// Tags an AMI.
    fn tag_image(
        &self,
        id: &str,
        tags: &[(String, String)],
    ) -> impl Future<Output = Result<(), StepError>> + Send;
    /// Deregisters an AMI.
    fn deregister(&self, id: &str) -> impl Future<Output = Result<(), StepError>> + Send;
    /// Deletes a snapshot; one already gone is not an error.
    fn delete_snapshot(&self, id: &str) -> impl Future<Output = Result<(), StepError>> + Send;
}
