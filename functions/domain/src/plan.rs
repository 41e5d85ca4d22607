//! The plan of a push: for every staged image, where it goes and under which name. It is
//! what `vmpush plan` prints and what the pipeline executes; building it has no side effects.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::credentials::{Auth, AwsAuth, CloudProvider, CredentialSet, provider_for_alias};
use crate::error::{Error, Result};
use crate::item::{BillingCodes, BuildInfo, ImageKind, Layout, PushItem, Release};
use crate::starmap::{Resolver, StarmapServer, Workflow};
use crate::workflow;

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

/// Builds the plan of staged items: resolves mappings, expands the workflow, names images.
/// `credentials`, when given, must hold every account the plan uses.
pub async fn build_plan<S: StarmapServer>(
    items: Vec<PushItem>,
    resolver: &mut Resolver<S>,
    credentials: Option<&CredentialSet>,
    options: &PlanOptions,
) -> Result<Plan> {
    let mut plan = Plan {
        workflow: options.workflow,
        items: Vec::new(),
        skipped: Vec::new(),
        warnings: Vec::new(),
    };
    for item in items {
        let skip = |reason: String| Skip {
            source: item.source.clone(),
            destination: None,
            reason,
        };
        let expansion = match (item.layout, item.kind, options.workflow) {
            (Layout::AwsImages, _, PlanWorkflow::Community) => {
                workflow::ami_push::expand(&item, credentials, options)?
            }
            (Layout::AwsImages, _, PlanWorkflow::Marketplace) => {
                plan.skipped.push(skip("AWS_IMAGES items carry their own region and type and are pushed by the community workflow; the marketplace workflow needs CLOUD_IMAGES".into()));
                continue;
            }
            (Layout::CloudImages, ImageKind::Vhd, PlanWorkflow::Community) => {
                plan.skipped.push(skip(format!(
                    "Push Item {} at {} is not an AmiPushItem, dropping it from the queue.",
                    item.name, item.source
                )));
                continue;
            }
            (Layout::CloudImages, kind, _) => {
                let build = item
                    .build_info
                    .as_ref()
                    .expect("CLOUD_IMAGES items have a build");
                let cloud = match kind {
                    ImageKind::Ami => "aws",
                    ImageKind::Vhd => "azure",
                };
                let name = match item.attributes.marketplace_name.as_deref() {
                    Some(mn) if options.workflow == PlanWorkflow::Marketplace => {
                        format!("{}-{mn}", build.name)
                    }
                    _ => build.name.clone(),
                };
                let workflow = options.workflow.starmap();
                let Some(entity) = resolver
                    .lookup(&name, Some(&build.version), workflow, cloud)
                    .await?
                else {
                    let kind_name = match options.workflow {
                        PlanWorkflow::Community => "community",
                        PlanWorkflow::Marketplace => "marketplace",
                    };
                    plan.skipped.push(skip(format!(
                        "No {kind_name} mappings found for {name} on cloud {cloud}"
                    )));
                    continue;
                };
                match options.workflow {
                    PlanWorkflow::Community => {
                        workflow::community::expand(&item, &entity, credentials, options)?
                    }
                    PlanWorkflow::Marketplace => {
                        workflow::marketplace::expand(&item, &entity, credentials, options)?
                    }
                }
            }
        };
        plan.skipped.extend(expansion.skipped);
        plan.warnings.extend(expansion.warnings);
        if expansion.destinations.is_empty() {
            if let Some(reason) = expansion.no_destination_reason {
                plan.skipped.push(skip(reason));
            }
            continue;
        }
        if let Some(set) = credentials.filter(|c| !c.is_empty()) {
            for d in &expansion.destinations {
                set.get(&d.account)?;
            }
        }
        plan.items.push(PlanItem {
            source: item.source.clone(),
            name: item.name.clone(),
            staged_dir: item.staged_dir.clone(),
            layout: item.layout,
            sha256sum: item.sha256sum.clone(),
            size: item.size,
            build: item.build_info.clone(),
            destinations: expansion.destinations,
        });
    }
    Ok(plan)
}
