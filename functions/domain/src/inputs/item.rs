//! Push items: one staged image with its release and attributes, as pushsource models them
//! (`AmiPushItem`, `VHDPushItem`). Attribute names and JSON keys are pushsource's.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::Result;
use crate::inputs::fields::{Located, Obj};

mod vhd;

pub use vhd::{GENERATIONS, VHD_ATTRIBUTE_KEYS, VhdAttributes, is_disk_version};

/// Whether an item is an AWS disk image or an Azure VHD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageKind {
    /// An AMI source (`raw`, `raw.xz`, ...).
    Ami,
    /// An Azure VHD source.
    Vhd,
}

/// Which staged layout an item came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Layout {
    /// `<dest>/CLOUD_IMAGES/<dir>/resources.yaml` (pubtools-marketplacesvm).
    #[serde(rename = "CLOUD_IMAGES")]
    CloudImages,
    /// `<dest>/AWS_IMAGES/<file>` with `staged.yaml` (pubtools-ami).
    #[serde(rename = "AWS_IMAGES")]
    AwsImages,
}

/// Boot mode as staged (`hybrid | uefi | legacy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BootMode {
    /// UEFI preferred, legacy BIOS allowed.
    Hybrid,
    /// UEFI only.
    Uefi,
    /// Legacy BIOS only.
    Legacy,
}

impl BootMode {
    /// The staged names, in schema order.
    pub const NAMES: [&'static str; 3] = ["hybrid", "uefi", "legacy"];

    fn parse(s: &str) -> Option<Self> {
        match s {
            "hybrid" => Some(BootMode::Hybrid),
            "uefi" => Some(BootMode::Uefi),
            "legacy" => Some(BootMode::Legacy),
            _ => None,
        }
    }

    /// The EC2 `RegisterImage` value (cloudimg's mapping).
    pub fn ec2_value(self) -> &'static str {
        match self {
            BootMode::Hybrid => "uefi-preferred",
            BootMode::Uefi => "uefi",
            BootMode::Legacy => "legacy-bios",
        }
    }
}

/// Koji-style build identity (`build_info`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct BuildInfo {
    /// Build name, e.g. `rhel-ec2`; the StArMap query name.
    pub name: String,
    /// Build version, e.g. `9.4`.
    pub version: String,
    /// Build release (respin), as a string.
    pub release: String,
}

/// Release metadata (`AmiRelease` / `VMIRelease`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Release {
    /// Short product name, e.g. `RHEL`.
    pub product: String,
    /// Release date, `YYYYMMDD`.
    pub date: String,
    /// Architecture as staged (`x86_64`, `arm64`, `aarch64`).
    pub arch: String,
    /// Respin number.
    pub respin: i64,
    /// Product version, e.g. `9.4`.
    pub version: Option<String>,
    /// Base product of a layered product.
    pub base_product: Option<String>,
    /// Base product version.
    pub base_version: Option<String>,
    /// Variant, e.g. `BaseOS`.
    pub variant: Option<String>,
    /// `ga` or `beta`.
    #[serde(rename = "type")]
    pub release_type: Option<String>,
}

/// The keys of a release mapping.
pub const RELEASE_KEYS: [&str; 9] = [
    "product",
    "date",
    "arch",
    "respin",
    "version",
    "base_product",
    "base_version",
    "variant",
    "type",
];

/// Schema strictness: `staged.yaml` is validated against pushsource's schema, `resources.yaml`
/// and StArMap meta only by type (the reference does not validate them further).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Strictness {
    /// Types and the schema's enums and ranges.
    Schema,
    /// Types only.
    Types,
}

impl Release {
    /// Reads a release mapping (all keys, `staged.yaml` rules when `Schema`).
    pub(crate) fn read(obj: &Obj<'_>, strictness: Strictness) -> Result<Self> {
        obj.deny_unknown(&RELEASE_KEYS)?;
        let arch = obj.str_nonempty("arch")?;
        let release_type = match strictness {
            Strictness::Schema => {
                if !["arm64", "x86_64"].contains(&arch.as_str()) {
                    return Err(obj.error("arch", format!("'{arch}' is not one of: arm64, x86_64")));
                }
                obj.enum_opt("type", &["ga", "beta"])?
            }
            Strictness::Types => obj.str_opt("type")?,
        };
        Ok(Release {
            product: obj.str_nonempty("product")?,
            date: read_date(obj, "date")?
                .ok_or_else(|| obj.error("date", "required date (YYYYMMDD) is missing"))?,
            arch,
            respin: obj.int_req("respin")?,
            version: obj.str_opt("version")?,
            base_product: obj.str_opt("base_product")?,
            base_version: obj.str_opt("base_version")?,
            variant: obj.str_opt("variant")?,
            release_type,
        })
    }

    /// The release as a JSON mapping (pushsource's `asdict`), for merging.
    pub(crate) fn to_map(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(m)) => m,
            _ => unreachable!("a release serialises to a mapping"),
        }
    }
}

/// Reads a date given as `YYYYMMDD` or `YYYY-MM-DD` (string, or an unquoted YAML integer),
/// normalised to `YYYYMMDD`.
pub(crate) fn read_date(obj: &Obj<'_>, key: &str) -> Result<Option<String>> {
    let text = match obj.get(key) {
        None => return Ok(None),
        Some(Value::Number(n)) if n.is_u64() => n.to_string(),
        Some(Value::String(s)) => s.replace('-', ""),
        Some(_) => return Err(obj.error(key, "expected a date string YYYYMMDD")),
    };
    let valid = text.len() == 8
        && text.bytes().all(|b| b.is_ascii_digit())
        && valid_ymd(&text[..4], &text[4..6], &text[6..]);
    if !valid {
        return Err(obj.error(key, format!("'{text}' is not a valid date (YYYYMMDD)")));
    }
    Ok(Some(text))
}

fn valid_ymd(y: &str, m: &str, d: &str) -> bool {
    let (Ok(y), Ok(m), Ok(d)) = (y.parse::<u32>(), m.parse::<u32>(), d.parse::<u32>()) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// `AmiBillingCodes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct BillingCodes {
    /// Billing name used in AMI names (`Hourly2`, `Access2`...).
    pub name: String,
    /// AWS billing product codes.
    pub codes: Vec<String>,
}

/// `AmiSecurityGroup`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SecurityGroup {
    /// First port.
    pub from_port: i64,
    /// `tcp`, `udp`, `icmp`, `icmpv6`.
    pub ip_protocol: String,
    /// CIDR ranges.
    pub ip_ranges: Vec<String>,
    /// Last port.
    pub to_port: i64,
}

/// `AmiAccessEndpointUrl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct AccessEndpointUrl {
    /// Port.
    pub port: i64,
    /// `http` or `https`.
    pub protocol: String,
}

/// The attributes of a VM push item beyond its identity and release. JSON keys are
/// pushsource's, so StArMap `meta` fills them by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Attributes {
    /// Image description (required by the model).
    pub description: Option<String>,
    /// Boot mode.
    pub boot_mode: Option<BootMode>,
    /// Billing type: `hourly`, `access`, `marketplace` (CLOUD_IMAGES items carry `AMI` here
    /// until a workflow sets it).
    #[serde(rename = "type")]
    pub image_type: Option<String>,
    /// AWS region.
    pub region: Option<String>,
    /// `hvm`.
    pub virtualization: Option<String>,
    /// EBS volume type.
    pub volume: Option<String>,
    /// Root device name.
    pub root_device: Option<String>,
    /// `simple`.
    pub sriov_net_support: Option<String>,
    /// ENA support.
    pub ena_support: Option<bool>,
    /// UEFI support (used when `boot_mode` is unset).
    pub uefi_support: Option<bool>,
    /// Billing codes.
    pub billing_codes: Option<BillingCodes>,
    /// Marketplace release notes (templated).
    pub release_notes: Option<String>,
    /// Marketplace usage instructions (templated).
    pub usage_instructions: Option<String>,
    /// Marketplace recommended instance type.
    pub recommended_instance_type: Option<String>,
    /// Marketplace entity type; the community workflow keeps the RHSM provider here.
    pub marketplace_entity_type: Option<String>,
    /// An existing AMI id.
    pub image_id: Option<String>,
    /// Whether the image is to be public.
    pub public_image: Option<bool>,
    /// Marketplace scanning port.
    pub scanning_port: Option<i64>,
    /// Marketplace user name.
    pub user_name: Option<String>,
    /// Version title.
    pub version_title: Option<String>,
    /// Marketplace security groups.
    pub security_groups: Vec<SecurityGroup>,
    /// Marketplace access endpoint.
    pub access_endpoint_url: Option<AccessEndpointUrl>,
    /// Marketplace title template (`str.format` over the release).
    pub marketplace_title_template: Option<String>,
    /// Marketplace name suffix for StArMap queries.
    pub marketplace_name: Option<String>,
}

/// Every attribute key, in pushsource's order.
pub const ATTRIBUTE_KEYS: [&str; 24] = [
    "description",
    "boot_mode",
    "type",
    "region",
    "virtualization",
    "volume",
    "root_device",
    "sriov_net_support",
    "ena_support",
    "uefi_support",
    "billing_codes",
    "release_notes",
    "usage_instructions",
    "recommended_instance_type",
    "marketplace_entity_type",
    "image_id",
    "public_image",
    "scanning_port",
    "user_name",
    "version_title",
    "security_groups",
    "access_endpoint_url",
    "marketplace_title_template",
    "marketplace_name",
];

/// Volume types of the staged schema.
pub const VOLUME_TYPES: [&str; 7] = ["standard", "gp2", "gp3", "io1", "io2", "st1", "sc1"];

impl Attributes {
    /// Reads the attribute keys present in a mapping; other keys are left to the caller.
    pub(crate) fn read(obj: &Obj<'_>, strictness: Strictness) -> Result<Self> {
        let schema = strictness == Strictness::Schema;
        let pick = |key: &str, allowed: &[&str]| {
            if schema {
                obj.enum_opt(key, allowed)
            } else {
                obj.str_opt(key)
            }
        };
        let boot_mode = match obj.enum_opt("boot_mode", &BootMode::NAMES)? {
            Some(s) => BootMode::parse(&s),
            None => None,
        };
        let scanning_port = obj.int_opt("scanning_port")?;
        if let Some(p) = scanning_port.filter(|p| schema && !(0..=65536).contains(p)) {
            return Err(obj.error("scanning_port", format!("{p} is not within 0..65536")));
        }
        Ok(Attributes {
            description: obj.str_opt("description")?,
            boot_mode,
            image_type: pick("type", &["hourly", "access", "marketplace"])?,
            region: obj.str_opt("region")?,
            virtualization: pick("virtualization", &["hvm"])?,
            volume: pick("volume", &VOLUME_TYPES)?,
            root_device: obj.str_opt("root_device")?,
            sriov_net_support: pick("sriov_net_support", &["simple"])?,
            ena_support: obj.bool_opt("ena_support")?,
            uefi_support: obj.bool_opt("uefi_support")?,
            billing_codes: read_billing_codes(obj)?,
            release_notes: obj.str_opt("release_notes")?,
            usage_instructions: obj.str_opt("usage_instructions")?,
            recommended_instance_type: obj.str_opt("recommended_instance_type")?,
            marketplace_entity_type: obj.str_opt("marketplace_entity_type")?,
            image_id: obj.str_opt("image_id")?,
            public_image: obj.bool_opt("public_image")?,
            scanning_port,
            user_name: obj.str_opt("user_name")?,
            version_title: obj.str_opt("version_title")?,
            security_groups: read_security_groups(obj, schema)?,
            access_endpoint_url: read_access_endpoint(obj, schema)?,
            marketplace_title_template: obj.str_opt("marketplace_title_template")?,
            marketplace_name: obj.str_opt("marketplace_name")?,
        })
    }

    /// The attributes as a JSON mapping (pushsource's `asdict`), for meta filling.
    pub(crate) fn to_map(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(m)) => m,
            _ => unreachable!("attributes serialise to a mapping"),
        }
    }
}

fn read_billing_codes(obj: &Obj<'_>) -> Result<Option<BillingCodes>> {
    let Some(child) = obj.child("billing_codes") else {
        return Ok(None);
    };
    let bc = child.obj()?;
    Ok(Some(BillingCodes {
        name: bc.str_req("name")?,
        codes: bc.str_list_req("codes")?,
    }))
}

fn read_security_groups(obj: &Obj<'_>, schema: bool) -> Result<Vec<SecurityGroup>> {
    let Some(child) = obj.child("security_groups") else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for item in child.list()? {
        let sg = item.obj()?;
        let ip_protocol = sg.str_req("ip_protocol")?;
        let (from_port, to_port) = (sg.int_req("from_port")?, sg.int_req("to_port")?);
        if schema {
            let range = if ip_protocol.starts_with("icmp") {
                -1..=255
            } else {
                0..=65536
            };
            for (key, port) in [("from_port", from_port), ("to_port", to_port)] {
                if !range.contains(&port) {
                    return Err(sg.error(
                        key,
                        format!(
                            "{port} is outside {}..{} for {ip_protocol}",
                            range.start(),
                            range.end()
                        ),
                    ));
                }
            }
        }
        out.push(SecurityGroup {
            from_port,
            ip_protocol,
            ip_ranges: sg.str_list_req("ip_ranges")?,
            to_port,
        });
    }
    Ok(out)
}

fn read_access_endpoint(obj: &Obj<'_>, schema: bool) -> Result<Option<AccessEndpointUrl>> {
    let Some(child) = obj.child("access_endpoint_url") else {
        return Ok(None);
    };
    let url = child.obj()?;
    let protocol = if schema {
        url.enum_opt("protocol", &["http", "https"])?
    } else {
        url.str_opt("protocol")?
    };
    Ok(Some(AccessEndpointUrl {
        port: url.int_req("port")?,
        protocol: protocol.ok_or_else(|| url.error("protocol", "required string is missing"))?,
    }))
}

/// One staged image: identity, release and attributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushItem {
    /// AMI or VHD.
    pub kind: ImageKind,
    /// Which staged layout it came from.
    pub layout: Layout,
    /// File name.
    pub name: String,
    /// Path of the image relative to its staged directory.
    pub source: String,
    /// The staged directory (tree label) the item was read from.
    pub staged_dir: String,
    /// Directory of the image relative to the staged directory.
    pub origin: String,
    /// The destination directory it was staged under.
    pub dest: Vec<String>,
    /// sha256 of the (uncompressed) image, when staged.
    pub sha256sum: Option<String>,
    /// Size of the staged file in bytes, when the file exists.
    pub size: Option<u64>,
    /// Build identity (CLOUD_IMAGES only).
    pub build_info: Option<BuildInfo>,
    /// Release metadata.
    pub release: Release,
    /// Attributes.
    #[serde(flatten)]
    pub attributes: Attributes,
    /// The attributes only VHDs have.
    #[serde(flatten)]
    pub vhd: VhdAttributes,
}

/// Reads a JSON mapping back into attributes after a merge, naming `file` in errors.
pub(crate) fn attributes_from_map(
    file: &str,
    path: &str,
    map: Map<String, Value>,
) -> Result<Attributes> {
    let value = Value::Object(map);
    let located = Located::new(file, path, &value);
    Attributes::read(&located.obj()?, Strictness::Types)
}

/// Reads a JSON mapping back into VHD attributes after a merge, naming `file` in errors.
pub(crate) fn vhd_attributes_from_map(
    file: &str,
    path: &str,
    map: Map<String, Value>,
) -> Result<VhdAttributes> {
    let value = Value::Object(map);
    let located = Located::new(file, path, &value);
    VhdAttributes::read(&located.obj()?)
}

/// Reads a JSON mapping back into a release after a merge, naming `file` in errors.
pub(crate) fn release_from_map(file: &str, path: &str, map: Map<String, Value>) -> Result<Release> {
    let value = Value::Object(map);
    let located = Located::new(file, path, &value);
    Release::read(&located.obj()?, Strictness::Types)
}

/// Disk formats `ImportSnapshot` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DiskFormat {
    /// Raw disk.
    Raw,
    /// VMware.
    Vmdk,
    /// Hyper-V.
    Vhd,
}

impl DiskFormat {
    /// The EC2 API value.
    pub fn ec2_value(self) -> &'static str {
        match self {
            DiskFormat::Raw => "RAW",
            DiskFormat::Vmdk => "VMDK",
            DiskFormat::Vhd => "VHD",
        }
    }

    /// The format of an image file, from its name (`.xz` is decompressed on upload).
    pub fn of_file(name: &str) -> Option<Self> {
        let name = name.strip_suffix(".xz").unwrap_or(name);
        match name
            .rsplit_once('.')
            .map(|(_, ext)| ext.to_ascii_lowercase())
            .as_deref()
        {
            Some("raw" | "img") => Some(DiskFormat::Raw),
            Some("vmdk") => Some(DiskFormat::Vmdk),
            Some("vhd") => Some(DiskFormat::Vhd),
            _ => None,
        }
    }
}
