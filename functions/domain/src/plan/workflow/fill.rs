//! Filling a push item from StArMap `meta` (marketplacesvm `MappedVMIPushItemV2`): `release`
//! keys from meta win over the item's; any other attribute is taken from meta only when the
//! item's own value is unset or falsy and the meta value is truthy.

use serde_json::{Map, Value};

use crate::error::Error;
use crate::error::Result;
use crate::inputs::fields::{truthy, type_name};
use crate::inputs::item::{
    ATTRIBUTE_KEYS, ImageKind, PushItem, RELEASE_KEYS, VHD_ATTRIBUTE_KEYS, attributes_from_map,
    release_from_map, vhd_attributes_from_map,
};

/// The attributes the marketplace workflow fills before upload
/// (`ALLOWED_ATTRS_TO_UPDATE_FOR_UPLOAD`).
pub const UPLOAD_ATTRIBUTES: [&str; 10] = [
    "boot_mode",
    "description",
    "ena_support",
    "generation",
    "region",
    "release",
    "root_device",
    "sriov_net_support",
    "virtualization",
    "volume",
];

/// Fills `item` from `meta`; `allowed` limits the attributes (all when `None`). `file` names
/// the mapping in errors, whose fields read `meta.<key>`.
pub(crate) fn fill_from_meta(
    item: &PushItem,
    meta: &Map<String, Value>,
    file: &str,
    allowed: Option<&[String]>,
) -> Result<PushItem> {
    let is_allowed = |key: &str| allowed.is_none_or(|a| a.iter().any(|k| k == key));
    let mut out = item.clone();
    if is_allowed("release") {
        match meta.get("release") {
            None | Some(Value::Null) => {}
            Some(Value::Object(release)) => {
                let mut merged = item.release.to_map();
                for (key, value) in release {
                    if !RELEASE_KEYS.contains(&key.as_str()) {
                        return Err(Error::invalid(
                            file,
                            format!("meta.release.{key}"),
                            "unknown release key",
                        ));
                    }
                    merged.insert(key.clone(), value.clone());
                }
                out.release = release_from_map(file, "meta.release", merged)?;
            }
            Some(other) => {
                return Err(Error::invalid(
                    file,
                    "meta.release",
                    format!("expected a mapping, got {}", type_name(other)),
                ));
            }
        }
    }
    let mut attributes = item.attributes.to_map();
    let mut changed = false;
    for key in ATTRIBUTE_KEYS.iter().filter(|k| is_allowed(k)) {
        if !truthy(attributes.get(*key)) && truthy(meta.get(*key)) {
            attributes.insert(key.to_string(), meta[*key].clone());
            changed = true;
        }
    }
    if changed {
        out.attributes = attributes_from_map(file, "meta", attributes)?;
    }
    if item.kind == ImageKind::Vhd {
        let mut vhd = item.vhd.to_map();
        let mut changed = false;
        for key in VHD_ATTRIBUTE_KEYS.iter().filter(|k| is_allowed(k)) {
            if !truthy(vhd.get(*key)) && truthy(meta.get(*key)) {
                vhd.insert(key.to_string(), meta[*key].clone());
                changed = true;
            }
        }
        if changed {
            out.vhd = vhd_attributes_from_map(file, "meta", vhd)?;
        }
    }
    Ok(out)
}
