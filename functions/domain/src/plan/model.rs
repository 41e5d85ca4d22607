//! What a plan is made of: options, planned destinations, items, skips, and the account
//! helpers the workflows share. No module here depends on the workflows that fill it.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::inputs::credentials::{Auth, AwsAuth, CloudProvider, CredentialSet, provider_for_alias};
use crate::inputs::item::{BillingCodes, BuildInfo, Layout, Release};
use crate::inputs::starmap::Workflow;

/// The workflows `vmpush plan --workflow` offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlanWorkflow {
    /// community-push: storage accounts, billing codes, RHSM, public hourly images.
    Community,
    /// marketplace-push: AWS Marketplace products and Azure offers (StArMap `stratosphere`).
    Marketplace,
}

impl PlanWorkflow {
    /// The StArMap workflow it maps to.
    pub fn starmap(self) -> Workflow {
        match self {
            PlanWorkflow::Community => Workflow::Community,
            PlanWorkflow::Marketplace => Workflow::Stratosphere,
        }
    }
}

/// Options of the pubtools-ami path (`AWS_IMAGES` items), named as its flags.
#[derive(Debug, Clone)]
pub struct AmiPushOptions {
    /// The account alias the images go to (credentials key).
    pub account: String,
    /// RHSM provider short name (`--aws-provider-name`, default `AWS`).
    pub rhsm_provider: String,
    /// `--accounts '{"<region>|default": {"<label>": "<account>"}}'`.
    pub accounts: Option<Value>,
    /// `--snapshot-account-ids '{"<region>|default": ["<account>"]}'`.
    pub snapshot_account_ids: Option<Value>,
    /// `--allow-public-images`.
    pub allow_public_images: bool,
}

impl Default for AmiPushOptions {
    fn default() -> Self {
        AmiPushOptions {
            account: "aws-us-storage".into(),
            rhsm_provider: "AWS".into(),
            accounts: None,
            snapshot_account_ids: None,
            allow_public_images: false,
        }
    }
}

/// What shapes a plan besides its inputs.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// The workflow.
    pub workflow: PlanWorkflow,
    /// `--beta`: release type forced to `beta` (community).
    pub beta: bool,
    /// `--container-prefix`: buckets are `<prefix>-<region>` (default `redhat-cloudimg`).
    pub container_prefix: String,
    /// `COMMUNITY_PUSH_REQUIRE_BILLING_CODES` (default true).
    pub require_billing_codes: bool,
    /// `ALLOWED_ATTRS_TO_UPDATE_FOR_UPLOAD` override (marketplace).
    pub upload_attributes: Option<Vec<String>>,
    /// Options of the `AWS_IMAGES` (pubtools-ami) path.
    pub ami_push: AmiPushOptions,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            workflow: PlanWorkflow::Community,
            beta: false,
            container_prefix: "redhat-cloudimg".into(),
            require_billing_codes: true,
            upload_attributes: None,
            ami_push: AmiPushOptions::default(),
        }
    }
}

/// What the plan will ask the AWS Marketplace to do for a destination.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct MarketplaceTarget {
    /// Entity type, e.g. `AmiProduct`.
    pub entity_type: Option<String>,
    /// Replace the existing version with the same title.
    pub overwrite: bool,
    /// Restrict old versions after publishing.
    pub restrict_version: bool,
    /// Majors to keep.
    pub restrict_major: Option<i64>,
    /// Minors to keep.
    pub restrict_minor: Option<i64>,
}

/// One place an image goes to, with everything the pipeline needs to put it there.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct PlannedDestination {
    /// Account alias (credentials key).
    pub account: String,
    /// Cloud provider of the account.
    pub provider: CloudProvider,
    /// The mapping's destination string.
    pub destination: String,
    /// AWS region.
    pub region: Option<String>,
    /// AWS partition (`aws`, `aws-cn`, `aws-us-gov`).
    pub partition: Option<String>,
    /// `hourly`, `access`, `marketplace`.
    pub billing_type: Option<String>,
    /// AMI name (also the snapshot name); `None` for Azure.
    pub ami_name: Option<String>,
    /// Image name: the AMI name on AWS, the VHD image name on Azure.
    pub image_name: String,
    /// Billing codes sent as billing products.
    pub billing_codes: Option<BillingCodes>,
    /// Whether the image is made public when shipped.
    pub public: bool,
    /// RHSM image group; `None` when RHSM is not updated.
    pub rhsm_product: Option<String>,
    /// RHSM provider short name (`AWS`, `ACN`, `AGOV`).
    pub rhsm_provider: Option<String>,
    /// Architecture as registered (`x86_64`, `arm64`).
    pub architecture: String,
    /// EC2 boot mode (`uefi-preferred`, `uefi`, `legacy-bios`).
    pub boot_mode: Option<String>,
    /// EBS volume type.
    pub volume: Option<String>,
    /// S3 bucket or Azure container of the upload.
    pub bucket: String,
    /// Accounts the image is shared with.
    pub sharing_accounts: Vec<String>,
    /// Accounts the snapshot is shared with.
    pub snapshot_accounts: Vec<String>,
    /// Launch-permission groups.
    pub groups: Vec<String>,
    /// Tags of the AMI and its snapshot.
    pub tags: Map<String, Value>,
    /// Image description.
    pub description: Option<String>,
    /// Virtualization type.
    pub virtualization: Option<String>,
    /// Root device name.
    pub root_device: Option<String>,
    /// ENA support.
    pub ena_support: Option<bool>,
    /// SR-IOV support.
    pub sriov_net_support: Option<String>,
    /// The release after StArMap meta and workflow rules.
    pub release: Release,
    /// AWS Marketplace publishing, for marketplace destinations.
    pub marketplace: Option<MarketplaceTarget>,
}

/// One staged image and its destinations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanItem {
    /// Path of the image relative to its staged directory.
    pub source: String,
    /// File name.
    pub name: String,
    /// The staged directory.
    pub staged_dir: String,
    /// Staged layout.
    pub layout: Layout,
    /// sha256 of the image, when staged.
    pub sha256sum: Option<String>,
    /// File size in bytes.
    pub size: Option<u64>,
    /// Build identity.
    pub build: Option<BuildInfo>,
    /// Where it goes.
    pub destinations: Vec<PlannedDestination>,
}

/// An image, or one of its destinations, that will not be pushed, and why.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Skip {
    /// Path of the image relative to its staged directory.
    pub source: String,
    /// The destination skipped, or `None` for the whole image.
    pub destination: Option<String>,
    /// Why.
    pub reason: String,
}

/// The whole plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// The workflow.
    pub workflow: PlanWorkflow,
    /// Images with at least one destination.
    pub items: Vec<PlanItem>,
    /// What is skipped.
    pub skipped: Vec<Skip>,
    /// Non-fatal findings.
    pub warnings: Vec<String>,
}

impl Plan {
    /// How many destinations the plan has.
    pub fn destination_count(&self) -> usize {
        self.items.iter().map(|i| i.destinations.len()).sum()
    }
}

/// The AWS partition of a region.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// Credential defaults for an account: the AWS `auth` when credentials were given.
pub(crate) fn aws_defaults(
    credentials: Option<&CredentialSet>,
    account: &str,
) -> Result<Option<AwsAuth>> {
    match credentials {
        Some(set) if !set.is_empty() => match set.get(account)? {
            Auth::Aws(aws) => Ok(Some(aws)),
            Auth::Azure(_) => Ok(None),
        },
        _ => Ok(None),
    }
}

/// The provider of an account alias used in a mapping.
pub(crate) fn provider_of(file: &str, account: &str) -> Result<CloudProvider> {
    provider_for_alias(account).ok_or_else(|| {
        Error::invalid(
            file,
            format!("mappings.{account}"),
            format!("No provider found for {account}"),
        )
    })
}
