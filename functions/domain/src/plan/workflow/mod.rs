//! Workflow expansion: from a push item (and its StArMap entity) to planned destinations.

pub(crate) mod ami_push;
pub(crate) mod community;
pub(crate) mod fill;
pub(crate) mod marketplace;

use serde_json::{Map, Value};

use crate::inputs::credentials::CloudProvider;
use crate::inputs::item::PushItem;
use crate::plan::model::{
    AzureTarget, ImageFeatures, MarketplaceTarget, PlannedDestination, Skip, partition,
};

/// What a workflow made of one item.
#[derive(Debug, Default)]
pub(crate) struct Expansion {
    /// Planned destinations.
    pub destinations: Vec<PlannedDestination>,
    /// Destinations skipped by rule.
    pub skipped: Vec<Skip>,
    /// Non-fatal findings.
    pub warnings: Vec<String>,
    /// Why the item has no destination at all, when that is worth reporting.
    pub no_destination_reason: Option<String>,
}

/// Where and how one destination is pushed; the rest comes from the item.
pub(crate) struct Placement {
    pub account: String,
    pub provider: CloudProvider,
    pub destination: String,
    pub region: Option<String>,
    pub billing_type: Option<String>,
    pub ami_name: Option<String>,
    pub image_name: String,
    pub public: bool,
    pub rhsm: Option<(String, String)>,
    pub bucket: String,
    pub sharing_accounts: Vec<String>,
    pub snapshot_accounts: Vec<String>,
    pub groups: Vec<String>,
    pub tags: Map<String, Value>,
    pub marketplace: Option<MarketplaceTarget>,
    pub azure: Option<AzureTarget>,
    pub features: ImageFeatures,
}

/// The architecture EC2 registers (`aarch64` is `arm64` there).
pub(crate) fn ec2_arch(arch: &str) -> String {
    if arch == "aarch64" {
        "arm64".into()
    } else {
        arch.into()
    }
}

/// A planned destination from a filled item and its placement.
pub(crate) fn planned(item: &PushItem, p: Placement) -> PlannedDestination {
    let a = &item.attributes;
    let boot_mode = match (a.boot_mode, a.uefi_support) {
        (Some(mode), _) => Some(mode.ec2_value().to_string()),
        (None, Some(true)) => Some("uefi-preferred".to_string()),
        (None, Some(false)) => Some("legacy-bios".to_string()),
        (None, None) => None,
    };
    let (rhsm_product, rhsm_provider) = match p.rhsm {
        Some((product, provider)) => (Some(product), Some(provider)),
        None => (None, None),
    };
    PlannedDestination {
        partition: p
            .region
            .as_deref()
            .filter(|_| p.provider == CloudProvider::Aws)
            .map(|r| partition(r).to_string()),
        account: p.account,
        provider: p.provider,
        destination: p.destination,
        region: p.region,
        billing_type: p.billing_type,
        ami_name: p.ami_name,
        image_name: p.image_name,
        billing_codes: a.billing_codes.clone(),
        public: p.public,
        rhsm_product,
        rhsm_provider,
        architecture: ec2_arch(&item.release.arch),
        boot_mode,
        volume: a.volume.clone(),
        bucket: p.bucket,
        sharing_accounts: p.sharing_accounts,
        snapshot_accounts: p.snapshot_accounts,
        groups: p.groups,
        tags: p.tags,
        description: a.description.clone(),
        virtualization: a.virtualization.clone(),
        root_device: a.root_device.clone(),
        ena_support: a.ena_support,
        sriov_net_support: a.sriov_net_support.clone(),
        release: item.release.clone(),
        marketplace: p.marketplace,
        azure: p.azure,
        features: p.features,
    }
}

/// The provenance tags cloudimg puts on the S3 object, snapshot and AMI
/// (`nvra`, `name`, `version`, `release`, `arch`, `buildid`). `buildid` is `"None"` when the
/// build id is unknown, as the reference writes it, so existing images are found by tag.
pub(crate) fn build_tags(item: &PushItem) -> Map<String, Value> {
    let mut tags = Map::new();
    if let Some(b) = &item.build_info {
        let arch = &item.release.arch;
        let mut put = |k: &str, v: String| {
            tags.insert(k.to_string(), Value::String(v));
        };
        put(
            "nvra",
            format!("{}-{}-{}.{arch}", b.name, b.version, b.release),
        );
        put("name", b.name.clone());
        put("version", b.version.clone());
        put("release", b.release.clone());
        put("arch", arch.clone());
        put("buildid", "None".into());
    }
    tags
}
