//! The marketplace workflow (marketplacesvm marketplace-push, StArMap `stratosphere`): one
//! upload per account whose destinations accept the image's architecture, then one publish
//! per destination (AWS Marketplace product or Azure `offer/plan`).
//!
//! Deliberate difference: accounts with no destination for the architecture are not
//! uploaded to (the reference uploads to every account of the entity).

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::inputs::credentials::{CloudProvider, CredentialSet, UPLOAD_CONTAINER_NAME};
use crate::inputs::fields::truthy;
use crate::inputs::item::{PushItem, is_disk_version};
use crate::inputs::starmap::{Destination, Entity, dict_merge};
use crate::plan::model::{
    AzureTarget, ImageFeatures, MarketplaceTarget, PlanOptions, VersionRequest, aws_defaults,
    provider_of,
};
use crate::plan::naming::{FormatValue, NameStyle, ami_name, azure_image_name, python_format};

use super::fill::{UPLOAD_ATTRIBUTES, fill_from_meta};
use super::{Expansion, Placement, build_tags, planned};

/// Expands one item over its marketplace entity; `query` is the key of the entity in the
/// plan's StArMap answers.
pub(crate) fn expand(
    item: &PushItem,
    entity: &Entity,
    query: &str,
    credentials: Option<&CredentialSet>,
    options: &PlanOptions,
) -> Result<Expansion> {
    let mut out = Expansion::default();
    let file = format!("StArMap entity {} (stratosphere)", entity.name);
    let upload_attributes: Vec<String> = match &options.upload_attributes {
        Some(list) => list.clone(),
        None => UPLOAD_ATTRIBUTES.iter().map(|s| s.to_string()).collect(),
    };
    for mapping in &entity.mappings {
        let arch = item.release.arch.as_str();
        let targets: Vec<_> = mapping
            .destinations
            .iter()
            .filter(|d| d.architecture.as_deref().is_none_or(|a| a == arch))
            .collect();
        if targets.is_empty() {
            continue;
        }
        let provider = provider_of(&file, &mapping.account)?;
        let label = format!("{file} {}", mapping.account);
        let account_meta = mapping
            .destinations
            .iter()
            .fold(Map::new(), |acc, d| dict_merge(&acc, &d.meta));
        let account_item = fill_from_meta(item, &account_meta, &label, Some(&upload_attributes))?;
        let template = mapping
            .destinations
            .first()
            .and_then(|d| d.ami_version_template.as_deref());
        let mut custom_tags = Map::new();
        for (k, v) in mapping
            .destinations
            .iter()
            .flat_map(|d| d.tags.iter().flatten())
        {
            custom_tags.insert(k.clone(), Value::String(v.clone()));
        }
        for dest in targets {
            let dest_label = format!("{label} {}", dest.destination);
            let pi = fill_from_meta(&account_item, &dest.meta, &dest_label, None)?;
            let marketplace = match provider {
                CloudProvider::Aws => Some(MarketplaceTarget {
                    entity_type: Some(entity_type(&pi, &dest_label)?),
                    overwrite: dest.overwrite,
                    restrict_version: dest.restrict_version,
                    restrict_major: dest.restrict_major,
                    restrict_minor: dest.restrict_minor,
                    version: Some(version_request(&pi, &dest_label)?),
                    starmap_query: Some(query.to_string()),
                }),
                CloudProvider::Azure => None,
            };
            let placement = match provider {
                CloudProvider::Aws => {
                    let defaults = aws_defaults(credentials, &mapping.account)?;
                    let name = ami_name(&account_item, NameStyle::Marketplacesvm { template })?;
                    let sharing = match account_meta.get("sharing_accounts") {
                        Some(Value::Array(a)) if !a.is_empty() => a
                            .iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect(),
                        _ => defaults
                            .as_ref()
                            .map(|d| d.accounts.clone())
                            .unwrap_or_default(),
                    };
                    let mut tags = build_tags(&account_item);
                    tags.extend(custom_tags.clone());
                    Placement {
                        account: mapping.account.clone(),
                        provider,
                        destination: dest.destination.clone(),
                        region: Some(
                            account_item
                                .attributes
                                .region
                                .clone()
                                .or_else(|| defaults.as_ref().map(|d| d.region.clone()))
                                .unwrap_or_else(|| "us-east-1".into()),
                        ),
                        billing_type: pi.attributes.image_type.clone().filter(|t| t != "AMI"),
                        ami_name: Some(name.clone()),
                        image_name: name,
                        public: false,
                        rhsm: None,
                        bucket: defaults
                            .as_ref()
                            .map(|d| d.s3_bucket.clone())
                            .unwrap_or_else(|| UPLOAD_CONTAINER_NAME.into()),
                        sharing_accounts: sharing,
                        snapshot_accounts: defaults
                            .as_ref()
                            .map(|d| d.snapshot_accounts.clone())
                            .unwrap_or_default(),
                        groups: defaults
                            .as_ref()
                            .map(|d| d.groups.clone())
                            .unwrap_or_default(),
                        tags,
                        marketplace,
                        azure: None,
                        features: ImageFeatures::read(&dest.meta, &dest_label)?,
                    }
                }
                CloudProvider::Azure => {
                    let generation = account_item.vhd.generation.as_deref().unwrap_or("V2");
                    let mut tags = build_tags(&account_item);
                    tags.extend(custom_tags.clone());
                    Placement {
                        account: mapping.account.clone(),
                        provider,
                        destination: dest.destination.clone(),
                        region: None,
                        billing_type: None,
                        ami_name: None,
                        image_name: azure_image_name(&account_item, generation),
                        public: false,
                        rhsm: None,
                        bucket: UPLOAD_CONTAINER_NAME.into(),
                        sharing_accounts: Vec::new(),
                        snapshot_accounts: Vec::new(),
                        groups: Vec::new(),
                        tags,
                        marketplace: None,
                        azure: Some(azure_target(&pi, dest, &dest_label, &options.hour)?),
                        features: ImageFeatures::default(),
                    }
                }
            };
            out.destinations.push(planned(&pi, placement));
        }
    }
    if out.destinations.is_empty() {
        out.no_destination_reason = Some(format!(
            "Filtering out archive with no destinations: {}",
            item.source
        ));
    }
    Ok(out)
}

/// What Partner Center is asked for a destination `offer/plan` (spec §3.6.9), from the item
/// filled with the destination's meta; `hour` (`YYYYMMDDHH`) is the generated disk version's
/// patch.
fn azure_target(
    item: &PushItem,
    dest: &Destination,
    label: &str,
    hour: &str,
) -> Result<AzureTarget> {
    let (offer, plan) = dest
        .destination
        .split_once('/')
        .filter(|(offer, plan)| !offer.is_empty() && !plan.is_empty() && !plan.contains('/'))
        .ok_or_else(|| {
            Error::invalid(
                label,
                "destination",
                format!("'{}' is not <offer>/<plan>", dest.destination),
            )
        })?;
    let vhd = &item.vhd;
    let disk_version = match &vhd.disk_version {
        Some(v) => v.clone(),
        None => {
            let version = item
                .build_info
                .as_ref()
                .map(|b| b.version.as_str())
                .or(item.release.version.as_deref())
                .unwrap_or_default();
            match version.split('.').collect::<Vec<_>>().as_slice() {
                [major, minor, ..] if !major.is_empty() && !minor.is_empty() => {
                    format!("{major}.{minor}.{hour}")
                }
                _ => {
                    return Err(Error::invalid(
                        label,
                        "build.version",
                        format!(
                            "'{version}' has no minor version, which the Azure disk version <major>.<minor>.<YYYYMMDDHH> needs (or set meta.disk_version)"
                        ),
                    ));
                }
            }
        }
    };
    if !is_disk_version(&disk_version) {
        return Err(Error::invalid(
            label,
            "build.version",
            format!("the disk version '{disk_version}' is not <major>.<minor>.<patch>"),
        ));
    }
    let architecture = match item.release.arch.as_str() {
        "x86_64" => "x64",
        "aarch64" | "arm64" => "arm64",
        other => {
            return Err(Error::invalid(
                label,
                "release.arch",
                format!("'{other}' is not x86_64 or aarch64, the architectures Azure takes"),
            ));
        }
    };
    let support_legacy = vhd.support_legacy.unwrap_or(false);
    Ok(AzureTarget {
        offer: offer.to_string(),
        plan: plan.to_string(),
        disk_version,
        generation: vhd.generation.clone().unwrap_or_else(|| "V2".into()),
        sku_id: vhd.sku_id.clone(),
        support_legacy,
        legacy_sku_id: vhd.legacy_sku_id.clone(),
        recommended_sizes: vhd.recommended_sizes.clone(),
        architecture: architecture.to_string(),
        overwrite: dest.overwrite,
        check_base_sas_only: dest.vhd_check_base_sas_only.unwrap_or(false),
        modular_push: truthy(dest.meta.get("modular_push")),
    })
}

/// The product's entity type: `marketplace_entity_type`, which every change set names.
fn entity_type(item: &PushItem, label: &str) -> Result<String> {
    item.attributes
        .marketplace_entity_type
        .clone()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            Error::invalid(
                label,
                "meta.marketplace_entity_type",
                "required to publish to an AWS Marketplace product (e.g. AmiProduct)",
            )
        })
}

/// The product version a destination's image becomes (cloudpub's `VersionMapping` as the
/// reference fills it): templates formatted now, so a bad one fails the plan.
fn version_request(item: &PushItem, label: &str) -> Result<VersionRequest> {
    let release = &item.release;
    let a = &item.attributes;
    let version = release
        .version
        .as_deref()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            Error::invalid(
                label,
                "release.version",
                "required for an AWS Marketplace version",
            )
        })?;
    let parts: Vec<&str> = version.split('.').collect();
    if parts.len() < 2 {
        return Err(Error::invalid(
            label,
            "release.version",
            format!(
                "'{version}' has no minor version, which release notes and usage instructions are formatted with"
            ),
        ));
    }
    let major_minor = format!("{}.{}", parts[0], parts[1]);
    let by_version = |field: &str, template: Option<&str>| -> Result<String> {
        let template = template.ok_or_else(|| {
            Error::invalid(label, field, "required for an AWS Marketplace version")
        })?;
        python_format(label, field, template, |name| {
            Ok(match name {
                "major_minor" => Some(FormatValue::Text(&major_minor)),
                "major_version" => Some(FormatValue::Text(parts[0])),
                "minor_version" => Some(FormatValue::Text(parts[1])),
                _ => None,
            })
        })
    };
    let title = match a
        .marketplace_title_template
        .as_deref()
        .filter(|t| !t.is_empty())
    {
        Some(template) => {
            let respin = release.respin.to_string();
            let text = |v: &Option<String>| v.as_deref().unwrap_or("None").to_string();
            let values = [
                ("product", release.product.clone()),
                ("arch", release.arch.clone()),
                ("respin", respin),
                ("version", text(&release.version)),
                ("base_product", text(&release.base_product)),
                ("base_version", text(&release.base_version)),
                ("variant", text(&release.variant)),
                ("type", text(&release.release_type)),
            ];
            python_format(label, "meta.marketplace_title_template", template, |name| {
                Ok(match name {
                    "date" => Some(FormatValue::Date(&release.date)),
                    _ => values
                        .iter()
                        .find(|(k, _)| *k == name)
                        .map(|(_, v)| FormatValue::Text(v)),
                })
            })?
        }
        None => format!("{version} {}-{}", release.date, release.respin),
    };
    let os_name = release
        .base_product
        .clone()
        .or_else(|| item.build_info.as_ref().map(|b| b.name.clone()))
        .unwrap_or_else(|| release.product.clone());
    Ok(VersionRequest {
        title,
        release_notes: by_version("meta.release_notes", a.release_notes.as_deref())?,
        usage_instructions: by_version("meta.usage_instructions", a.usage_instructions.as_deref())?,
        recommended_instance_type: a.recommended_instance_type.clone(),
        user_name: a.user_name.clone(),
        os_name: os_name.split('-').next().unwrap_or_default().to_uppercase(),
        os_version: release
            .base_version
            .clone()
            .unwrap_or_else(|| version.to_string()),
        scanning_port: a.scanning_port,
        security_groups: a.security_groups.clone(),
        access_endpoint_url: a.access_endpoint_url.clone(),
    })
}
