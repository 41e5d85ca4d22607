//! What a plan is made of: options, planned destinations, items, skips, and the account
//! helpers the workflows share. No module here depends on the workflows that fill it.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::inputs::credentials::{Auth, AwsAuth, CloudProvider, CredentialSet, provider_for_alias};
use crate::inputs::fields::Located;
use crate::inputs::item::{
    AccessEndpointUrl, BillingCodes, BuildInfo, Layout, Release, SecurityGroup,
};
use crate::inputs::starmap::Workflow;

/// The workflows `vmpush plan --workflow` offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlanWorkflow {
    /// community-push: storage accounts, billing codes, RHSM, public hourly images.
    Community,
    /// marketplace-push: AWS Marketplace products and Azure offers (StArMap `stratosphere`).
    Marketplace,
    /// pubtools-marketplacesvm-push `--workflow all` (spec §3.8): both workflows over the same
    /// items in one push, marketplace destinations first.
    All,
}

impl PlanWorkflow {
    /// The single workflows it runs, in the reference's order (marketplace first).
    pub fn parts(self) -> &'static [PlanWorkflow] {
        match self {
            PlanWorkflow::Community => &[PlanWorkflow::Community],
            PlanWorkflow::Marketplace => &[PlanWorkflow::Marketplace],
            PlanWorkflow::All => &[PlanWorkflow::Marketplace, PlanWorkflow::Community],
        }
    }

    /// The StArMap workflow of a single workflow; `None` for `All`.
    pub fn starmap(self) -> Option<Workflow> {
        match self {
            PlanWorkflow::Community => Some(Workflow::Community),
            PlanWorkflow::Marketplace => Some(Workflow::Stratosphere),
            PlanWorkflow::All => None,
        }
    }

    /// The name `--workflow` and push requests give it.
    pub fn as_str(self) -> &'static str {
        match self {
            PlanWorkflow::Community => "community",
            PlanWorkflow::Marketplace => "marketplace",
            PlanWorkflow::All => "all",
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
    /// The hour the plan is made, `YYYYMMDDHH` (UTC): the patch of generated Azure disk
    /// versions, fixed in the plan so every retry publishes the same version.
    pub hour: String,
}

/// The current hour, `YYYYMMDDHH` (UTC).
pub fn current_hour() -> String {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    // 2026-12-03T11:04:49Z
    now.chars().filter(char::is_ascii_digit).take(10).collect()
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
            hour: current_hour(),
        }
    }
}

/// What the plan will ask the AWS Marketplace to do for a destination.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct MarketplaceTarget {
    /// Entity type, e.g. `AmiProduct` (the change sets name `<type>@1.0`).
    pub entity_type: Option<String>,
    /// Replace the existing version with the same title.
    pub overwrite: bool,
    /// Restrict old versions after publishing.
    pub restrict_version: bool,
    /// Majors to keep.
    pub restrict_major: Option<i64>,
    /// Minors to keep.
    pub restrict_minor: Option<i64>,
    /// The product version the image becomes (AWS destinations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<VersionRequest>,
    /// The key of the StArMap answer this destination was planned from, in the plan's (and
    /// the work list's) `starmap`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starmap_query: Option<String>,
}

/// What the plan will ask Partner Center to do for an Azure destination (the reference's
/// `AzurePublishingMetadata`, spec §3.6.9): a disk version of a plan's technical
/// configuration, from the VHD's read-only SAS URI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct AzureTarget {
    /// The offer (product) name: the destination before `/`.
    pub offer: String,
    /// The plan: the destination after `/`.
    pub plan: String,
    /// The disk version: the item's, else `<major>.<minor>.<YYYYMMDDHH>` of the build version.
    pub disk_version: String,
    /// `V1` or `V2`: the generation of the main SKU.
    pub generation: String,
    /// The main SKU's id (default: the plan, or `<plan>-arm64`).
    pub sku_id: Option<String>,
    /// Also publish the image as the other generation.
    pub support_legacy: bool,
    /// The other generation's SKU id (default `<sku>-gen1`/`-gen2`).
    pub legacy_sku_id: Option<String>,
    /// Recommended VM sizes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recommended_sizes: Vec<String>,
    /// Partner Center's architecture: `x64` or `arm64`.
    pub architecture: String,
    /// Replace the draft's disk versions with this one.
    pub overwrite: bool,
    /// Compare SAS URIs by their base URL only (`vhd_check_base_sas_only`).
    pub check_base_sas_only: bool,
    /// Submit only the changed plan resources (`meta.modular_push`).
    pub modular_push: bool,
}

/// A new version of an AWS Marketplace AMI product, as the reference fills it (spec §3.6.8):
/// every template already formatted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct VersionRequest {
    /// `VersionTitle`: `marketplace_title_template` over the release, else
    /// `"<version> <YYYYMMDD>-<respin>"`.
    pub title: String,
    /// `ReleaseNotes`, `release_notes` over the version (`{major_minor}`, `{major_version}`,
    /// `{minor_version}`).
    pub release_notes: String,
    /// `UsageInstructions`, formatted like the release notes.
    pub usage_instructions: String,
    /// `RecommendedInstanceType`.
    #[serde(default)]
    pub recommended_instance_type: Option<String>,
    /// `AmiSource.UserName`.
    #[serde(default)]
    pub user_name: Option<String>,
    /// `AmiSource.OperatingSystemName`: the first `-` part of the base product (or the
    /// build name), upper case.
    pub os_name: String,
    /// `AmiSource.OperatingSystemVersion`: the base version, else the version.
    pub os_version: String,
    /// `AmiSource.ScanningPort`.
    #[serde(default)]
    pub scanning_port: Option<i64>,
    /// `SecurityGroups`.
    #[serde(default)]
    pub security_groups: Vec<SecurityGroup>,
    /// `AccessEndpointUrl`, when set.
    #[serde(default)]
    pub access_endpoint_url: Option<AccessEndpointUrl>,
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
    /// Partner Center publishing, for Azure destinations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure: Option<AzureTarget>,
    /// EC2 image features beyond pushsource's attributes (absent: none asked).
    #[serde(default, skip_serializing_if = "ImageFeatures::is_empty")]
    pub features: ImageFeatures,
}

impl PlannedDestination {
    /// The destination's own tags of its AMI and snapshot: the plan's `tags` (strings as they
    /// are, other values as JSON) and `billing_type`; publish adds the push's provenance tags.
    pub fn own_tags(&self) -> Vec<(String, String)> {
        let mut tags: Vec<(String, String)> = self
            .tags
            .iter()
            .map(|(k, v)| {
                let value = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                (k.clone(), value)
            })
            .collect();
        if let Some(billing) = &self.billing_type {
            tags.retain(|(key, _)| key != "billing_type");
            tags.push(("billing_type".into(), billing.clone()));
        }
        tags
    }
}

/// EC2 image features pushsource has no attribute for, read from a destination's StArMap
/// `meta` under awspub's names: `tpm_support` and `imds_support` (`v2.0`), `uefi_data`
/// (the base64 UEFI variable store, at most 64 KiB) and `root_device_volume_size` (GiB).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ImageFeatures {
    /// NitroTPM support (`v2.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm_support: Option<String>,
    /// Instances must use IMDSv2 (`v2.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imds_support: Option<String>,
    /// The UEFI variable store, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uefi_data: Option<String>,
    /// Root volume size in GiB (default: the snapshot's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_device_volume_size: Option<u32>,
}

/// The largest UEFI variable store EC2 takes (base64 characters).
const MAX_UEFI_DATA: usize = 64 * 1024;

/// The largest EBS volume, in GiB.
const MAX_VOLUME_GIB: i64 = 65_536;

impl ImageFeatures {
    /// Whether no feature is asked.
    pub fn is_empty(&self) -> bool {
        *self == ImageFeatures::default()
    }

    /// The features of a destination's `meta` (the mapping file `file`); a bad value is an
    /// error naming its field.
    pub(crate) fn read(meta: &Map<String, Value>, file: &str) -> Result<Self> {
        let value = Value::Object(meta.clone());
        let located = Located::new(file, "meta", &value);
        let meta = located.obj()?;
        let version = |key: &str| -> Result<Option<String>> {
            match meta.str_opt(key)? {
                Some(v) if v != "v2.0" => Err(meta.error(key, format!("'{v}' is not v2.0"))),
                v => Ok(v),
            }
        };
        let uefi_data = meta.str_opt("uefi_data")?;
        if let Some(data) = &uefi_data {
            let base64 = data
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
            if data.is_empty() || !base64 || data.len() > MAX_UEFI_DATA {
                return Err(meta.error(
                    "uefi_data",
                    format!("not base64 of at most {MAX_UEFI_DATA} characters"),
                ));
            }
        }
        let size = match meta.int_opt("root_device_volume_size")? {
            None => None,
            Some(gib) if (1..=MAX_VOLUME_GIB).contains(&gib) => u32::try_from(gib).ok(),
            Some(gib) => {
                return Err(meta.error(
                    "root_device_volume_size",
                    format!("{gib} GiB is not within 1..{MAX_VOLUME_GIB}"),
                ));
            }
        };
        Ok(ImageFeatures {
            tpm_support: version("tpm_support")?,
            imds_support: version("imds_support")?,
            uefi_data,
            root_device_volume_size: size,
        })
    }
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
    /// The StArMap answers marketplace destinations were planned from, each as pubtools
    /// echoes it (`attrs.asdict` of the entity), by the key their
    /// [`MarketplaceTarget::starmap_query`] names.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub starmap: BTreeMap<String, Value>,
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn features(meta: Value) -> Result<ImageFeatures> {
        let Value::Object(meta) = meta else {
            unreachable!("a mapping")
        };
        ImageFeatures::read(&meta, "mapping.yaml aws-us-storage us-east-1-hourly")
    }

    #[test]
    fn image_features_come_from_awspubs_names_in_the_meta() {
        assert_eq!(
            features(json!({"tpm_support": "v2.0", "imds_support": "v2.0",
                "uefi_data": "QU1aTlVFRkk=", "root_device_volume_size": 20, "other": 1}))
            .unwrap(),
            ImageFeatures {
                tpm_support: Some("v2.0".into()),
                imds_support: Some("v2.0".into()),
                uefi_data: Some("QU1aTlVFRkk=".into()),
                root_device_volume_size: Some(20),
            }
        );
        assert!(features(json!({})).unwrap().is_empty());
    }

    #[test]
    fn bad_image_features_name_the_file_and_field() {
        for (meta, expected) in [
            (
                json!({"tpm_support": "v1.2"}),
                "mapping.yaml aws-us-storage us-east-1-hourly: meta.tpm_support: 'v1.2' is not v2.0",
            ),
            (
                json!({"imds_support": "v1"}),
                "mapping.yaml aws-us-storage us-east-1-hourly: meta.imds_support: 'v1' is not v2.0",
            ),
            (
                json!({"uefi_data": "not base64!"}),
                "mapping.yaml aws-us-storage us-east-1-hourly: meta.uefi_data: not base64 of at most 65536 characters",
            ),
            (
                json!({"root_device_volume_size": 0}),
                "mapping.yaml aws-us-storage us-east-1-hourly: meta.root_device_volume_size: 0 GiB is not within 1..65536",
            ),
        ] {
            assert_eq!(features(meta).unwrap_err().to_string(), expected);
        }
        assert!(features(json!({"root_device_volume_size": "8"})).is_err());
    }
}
