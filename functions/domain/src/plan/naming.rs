//! AMI and image names, exactly as the reference builds them: pubtools-marketplacesvm
//! `name_from_push_item` (with `ami_version_template`), pubtools-ami `name_from_metadata`
//! (raw versions, billing mandatory) and cloudimg's Azure image name.

use crate::error::{Error, Result};
use crate::inputs::item::{BillingCodes, PushItem};

/// The default version template (`{major}.{minor}`).
pub const DEFAULT_VERSION_TEMPLATE: &str = "{major}.{minor}";

/// A value a Python `str.format` placeholder is replaced with.
#[derive(Debug, Clone, Copy)]
pub enum FormatValue<'a> {
    /// Text (`str`, `int` and `None` as Python prints them).
    Text(&'a str),
    /// A `datetime.date` given as `YYYYMMDD`: `{d}` prints `YYYY-MM-DD`, `{d:%Y%m%d}` takes
    /// the `strftime` codes `%Y %m %d %y %j %%`.
    Date(&'a str),
}

/// Formats `template` as Python's `str.format(**values)` does, for the placeholders `lookup`
/// knows: `{{`/`}}` escapes, a single `}` and an unknown name are errors of `field` in `file`
/// (Python's `ValueError` and `KeyError`), and format specs only for dates.
pub fn python_format<'a>(
    file: &str,
    field: &str,
    template: &str,
    lookup: impl Fn(&str) -> Result<Option<FormatValue<'a>>>,
) -> Result<String> {
    let bad = |m: String| Error::invalid(file, field, m);
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
                let mut inner = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == '}' {
                        closed = true;
                        break;
                    }
                    inner.push(c);
                }
                if !closed {
                    return Err(bad(format!("template '{template}' has a single '{{'")));
                }
                let (name, spec) = match inner.split_once(':') {
                    Some((n, s)) => (n, Some(s)),
                    None => (inner.as_str(), None),
                };
                let value = lookup(name)?.ok_or_else(|| {
                    bad(format!(
                        "template '{template}' uses unknown placeholder {{{name}}}"
                    ))
                })?;
                match (value, spec.filter(|s| !s.is_empty())) {
                    (FormatValue::Text(t), None) => out.push_str(t),
                    (FormatValue::Date(d), spec) => out.push_str(&strftime(d, spec.unwrap_or("%Y-%m-%d")).ok_or_else(|| {
                        bad(format!("template '{template}': {{{inner}}} is not a date format this tool knows (%Y %m %d %y %j %%)"))
                    })?),
                    (FormatValue::Text(_), Some(_)) => {
                        return Err(bad(format!(
                            "template '{template}': format specs are supported for dates only ({{{inner}}})"
                        )));
                    }
                }
            }
            '}' => return Err(bad(format!("template '{template}' has a single '}}'"))),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// `strftime` of a `YYYYMMDD` date for the codes [`python_format`] takes.
fn strftime(date: &str, spec: &str) -> Option<String> {
    let valid = date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit());
    if !valid {
        return None;
    }
    let (y, m, d) = (&date[..4], &date[4..6], &date[6..]);
    let mut out = String::new();
    let mut chars = spec.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            'Y' => out.push_str(y),
            'm' => out.push_str(m),
            'd' => out.push_str(d),
            'y' => out.push_str(&y[2..]),
            'j' => out.push_str(&format!("{:03}", day_of_year(y, m, d)?)),
            '%' => out.push('%'),
            _ => return None,
        }
    }
    Some(out)
}

/// The day of the year of a date (1-based).
fn day_of_year(y: &str, m: &str, d: &str) -> Option<u32> {
    let (y, m, d): (u32, usize, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&m) || d == 0 || d > days[m - 1] {
        return None;
    }
    Some(days[..m - 1].iter().sum::<u32>() + d)
}

/// Formats a dotted version through a Python `str.format` template over `major`, `minor`,
/// `patch` (by position) and `version` (the whole). A placeholder the version has no
/// component for is an error, as Python's `KeyError` is.
pub fn format_version(file: &str, field: &str, version: &str, template: &str) -> Result<String> {
    let parts: Vec<&str> = version.split('.').collect();
    python_format(file, field, template, |name| {
        let index = match name {
            "version" => return Ok(Some(FormatValue::Text(version))),
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
        parts
            .get(index)
            .map(|p| Some(FormatValue::Text(p)))
            .ok_or_else(|| {
                Error::invalid(
                    file,
                    field,
                    format!(
                        "version '{version}' has no {name} component for template '{template}'"
                    ),
                )
            })
    })
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
