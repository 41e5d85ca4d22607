//! AMI and image names, exactly as the reference builds them: pubtools-marketplacesvm
//! `name_from_push_item` (with `ami_version_template`), pubtools-ami `name_from_metadata`
//! (raw versions, billing mandatory) and cloudimg's Azure image name.

use crate::error::{Error, Result};
use crate::inputs::item::{BillingCodes, PushItem};

/// The default version template (`{major}.{minor}`).
pub const DEFAULT_VERSION_TEMPLATE: &str = "{major}.{minor}";

/// Formats a dotted version through a Python `str.format` template over `major`, `minor`,
/// `patch` (by position) and `version` (the whole). A placeholder the version has no
/// component for is an error, as Python's `KeyError` is.
pub fn format_version(file: &str, field: &str, version: &str, template: &str) -> Result<String> {
    let parts: Vec<&str> = version.split('.').collect();
    let lookup = |name: &str| -> Result<&str> {
        let index = match name {
            "version" => return Ok(version),
            "major" => 0,
            "minor" => 1,
            "patch" => 2,
            other => {
                return Err(Error::invalid(
                    file,
                    field,
                    format!(
                        "template '{template}' uses unknown placeholder {{{other}}} (known: major, minor, patch, version)"
                    ),
                ));
            }
        };
        parts.get(index).copied().ok_or_else(|| {
            Error::invalid(
                file,
                field,
                format!("version '{version}' has no {name} component for template '{template}'"),
            )
        })
    };
    let mut out = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let name: String = chars.by_ref().take_while(|&c| c != '}').collect();
                out.push_str(lookup(&name)?);
            }
            '}' => {
                return Err(Error::invalid(
                    file,
                    field,
                    format!("template '{template}' has a single '}}'"),
                ));
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

/// Which naming the name follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameStyle<'a> {
    /// pubtools-marketplacesvm: versions through templates (base version always
    /// `{major}.{minor}`, version through `ami_version_template` or the default), billing
    /// name and volume appended only when billing codes are set.
    Marketplacesvm {
        /// The destination's `ami_version_template`, if any.
        template: Option<&'a str>,
    },
    /// pubtools-ami: raw versions; billing codes mandatory.
    PubtoolsAmi,
}

/// Where a name's inputs come from, for messages.
fn item_file(item: &PushItem) -> String {
    format!("{}/{}", item.staged_dir.trim_end_matches('/'), item.source)
}

/// The AMI name of a push item (also its snapshot name).
pub fn ami_name(item: &PushItem, style: NameStyle<'_>) -> Result<String> {
    let file = item_file(item);
    let release = &item.release;
    let fmt = |field: &str, v: &str, template: Option<&str>| match style {
        NameStyle::PubtoolsAmi => Ok(v.to_string()),
        NameStyle::Marketplacesvm { .. } => format_version(
            &file,
            field,
            v,
            template.unwrap_or(DEFAULT_VERSION_TEMPLATE),
        ),
    };
    let mut parts: Vec<String> = Vec::new();
    if let Some(base_product) = release.base_product.as_deref().filter(|s| !s.is_empty()) {
        parts.push(base_product.to_string());
        if let Some(base_version) = release.base_version.as_deref().filter(|s| !s.is_empty()) {
            parts.push(fmt("release.base_version", base_version, None)?);
        }
    }
    parts.push(release.product.clone());
    let mut underscored = Vec::new();
    if let Some(version) = release.version.as_deref().filter(|s| !s.is_empty()) {
        let template = match style {
            NameStyle::Marketplacesvm { template } => template.filter(|t| !t.is_empty()),
            NameStyle::PubtoolsAmi => None,
        };
        underscored.push(fmt("release.version", version, template)?);
    }
    let virtualization = item.attributes.virtualization.as_deref().ok_or_else(|| {
        Error::invalid(
            &file,
            "virtualization",
            "required for the AMI name (set it in the staged metadata or StArMap meta)",
        )
    })?;
    underscored.push(virtualization.to_uppercase());
    if let Some(t) = release.release_type.as_deref().filter(|s| !s.is_empty()) {
        underscored.push(t.to_uppercase());
    }
    parts.push(underscored.join("_"));
    parts.push(release.date.clone());
    parts.push(release.arch.clone());
    parts.push(release.respin.to_string());
    let billing = match (&item.attributes.billing_codes, style) {
        (Some(bc), _) => Some(bc),
        (None, NameStyle::PubtoolsAmi) => {
            return Err(Error::invalid(
                &file,
                "billing_codes",
                "required by the AWS_IMAGES (pubtools-ami) naming",
            ));
        }
        (None, _) => None,
    };
    if let Some(BillingCodes { name, .. }) = billing {
        let volume = item.attributes.volume.as_deref().ok_or_else(|| {
            Error::invalid(
                &file,
                "volume",
                "required for the AMI name when billing codes are set",
            )
        })?;
        parts.push(name.clone());
        parts.push(volume.to_uppercase());
    }
    Ok(parts.join("-"))
}

/// The Azure image name (cloudimg): AWS-like with the VM generation instead of the
/// virtualization, raw versions and no billing suffix, e.g. `rhel-azure-9.4_V2-20240501-x86_64-1`.
pub fn azure_image_name(item: &PushItem, generation: &str) -> String {
    let r = &item.release;
    let mut parts = Vec::new();
    if let Some(bp) = r.base_product.as_deref().filter(|s| !s.is_empty()) {
        parts.push(bp.to_string());
        if let Some(bv) = r.base_version.as_deref().filter(|s| !s.is_empty()) {
            parts.push(bv.to_string());
        }
    }
    parts.push(r.product.clone());
    let mut underscored = Vec::new();
    if let Some(v) = r.version.as_deref().filter(|s| !s.is_empty()) {
        underscored.push(v.to_string());
    }
    underscored.push(generation.to_string());
    if let Some(t) = r.release_type.as_deref().filter(|s| !s.is_empty()) {
        underscored.push(t.to_uppercase());
    }
    parts.push(underscored.join("_"));
    parts.extend([r.date.clone(), r.arch.clone(), r.respin.to_string()]);
    parts.join("-")
}

/// The RHSM image group (product) name: the product, plus `_HOURLY` for hourly images.
pub fn rhsm_product(product: &str, billing_type: &str) -> String {
    if billing_type.eq_ignore_ascii_case("hourly") {
        format!("{product}_HOURLY")
    } else {
        product.to_string()
    }
}

#[cfg(test)]
mod tests;
