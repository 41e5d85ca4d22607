//! The attributes only Azure VHDs have (pushsource `VHDPushItem`, spec §1.5.5), filled from
//! StArMap `meta` by the marketplace workflow.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Result;
use crate::inputs::fields::Obj;

/// The keys of [`VhdAttributes`], in pushsource's order.
pub const VHD_ATTRIBUTE_KEYS: [&str; 6] = [
    "generation",
    "sku_id",
    "support_legacy",
    "legacy_sku_id",
    "disk_version",
    "recommended_sizes",
];

/// Hyper-V generations Partner Center takes.
pub const GENERATIONS: [&str; 2] = ["V1", "V2"];

/// `VHDPushItem`'s own attributes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VhdAttributes {
    /// `V1` or `V2` (unset: `V2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<String>,
    /// The SKU of the main generation (unset: the plan's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku_id: Option<String>,
    /// Also publish the image as the other generation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_legacy: Option<bool>,
    /// The SKU of the legacy generation (only with `support_legacy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy_sku_id: Option<String>,
    /// The disk version (`<major>.<minor>.<patch>`, patch may be `*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_version: Option<String>,
    /// Recommended VM sizes, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recommended_sizes: Vec<String>,
}

impl VhdAttributes {
    /// Reads the VHD keys of a mapping, with pushsource's validators.
    pub(crate) fn read(obj: &Obj<'_>) -> Result<Self> {
        let generation = obj.enum_opt("generation", &GENERATIONS)?;
        let support_legacy = obj.bool_opt("support_legacy")?;
        let legacy_sku_id = obj.str_opt("legacy_sku_id")?;
        if legacy_sku_id.is_some() && support_legacy != Some(true) {
            return Err(obj.error("legacy_sku_id", "only allowed when support_legacy is true"));
        }
        let disk_version = obj.str_opt("disk_version")?;
        if let Some(v) = disk_version.as_deref().filter(|v| !is_disk_version(v)) {
            return Err(obj.error(
                "disk_version",
                format!("'{v}' is not <major>.<minor>.<patch> (patch a number or *)"),
            ));
        }
        let mut recommended_sizes = obj.str_list_opt("recommended_sizes")?.unwrap_or_default();
        recommended_sizes.sort();
        Ok(VhdAttributes {
            generation,
            sku_id: obj.str_opt("sku_id")?,
            support_legacy,
            legacy_sku_id,
            disk_version,
            recommended_sizes,
        })
    }

    /// The attributes as a JSON mapping (unset ones absent), for meta filling.
    pub(crate) fn to_map(&self) -> serde_json::Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(m)) => m,
            _ => unreachable!("attributes serialise to a mapping"),
        }
    }
}

/// Whether `v` matches pushsource's `^(\d+\.)(\d+\.)(\*|\d+)$`.
pub fn is_disk_version(v: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let parts: Vec<&str> = v.split('.').collect();
    matches!(parts.as_slice(), [a, b, c] if digits(a) && digits(b) && (*c == "*" || digits(c)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::inputs::fields::Located;

    fn read(value: Value) -> Result<VhdAttributes> {
        let located = Located::new("mapping.yaml", "meta", &value);
        VhdAttributes::read(&located.obj()?)
    }

    #[test]
    fn vhd_attributes_are_read_with_pushsources_rules() {
        let a = read(
            json!({"generation": "V1", "sku_id": "rhel9", "support_legacy": true,
            "legacy_sku_id": "rhel9-gen1", "disk_version": "9.4.*",
            "recommended_sizes": ["Standard_D2s_v3", "Standard_B2s"]}),
        )
        .unwrap();
        assert_eq!(a.generation.as_deref(), Some("V1"));
        assert_eq!(a.legacy_sku_id.as_deref(), Some("rhel9-gen1"));
        assert_eq!(a.recommended_sizes, ["Standard_B2s", "Standard_D2s_v3"]);
        assert_eq!(read(json!({})).unwrap(), VhdAttributes::default());
    }

    #[test]
    fn bad_vhd_attributes_name_the_field() {
        for (value, message) in [
            (
                json!({"generation": "V3"}),
                "mapping.yaml: meta.generation: 'V3' is not one of: V1, V2",
            ),
            (
                json!({"legacy_sku_id": "x-gen1"}),
                "mapping.yaml: meta.legacy_sku_id: only allowed when support_legacy is true",
            ),
            (
                json!({"disk_version": "9.4"}),
                "mapping.yaml: meta.disk_version: '9.4' is not <major>.<minor>.<patch> (patch a number or *)",
            ),
        ] {
            assert_eq!(read(value).unwrap_err().to_string(), message);
        }
    }

    #[test]
    fn disk_versions_follow_the_pattern() {
        for good in ["1.0.0", "9.4.2026120311", "10.1.*"] {
            assert!(is_disk_version(good), "{good}");
        }
        for bad in ["9.4", "9.4.1.2", "a.b.c", "9..1", "9.4.**", "", "9.4.1 "] {
            assert!(!is_disk_version(bad), "{bad}");
        }
    }
}
