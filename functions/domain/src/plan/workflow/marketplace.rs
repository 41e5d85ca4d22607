//! The marketplace workflow (marketplacesvm marketplace-push, StArMap `stratosphere`): one
//! upload per account whose destinations accept the image's architecture, then one publish
//! per destination (AWS Marketplace product or Azure `offer/plan`).
//!
//! Deliberate difference: accounts with no destination for the architecture are not
//! uploaded to (the reference uploads to every account of the entity).

use serde_json::{Map, Value};

use crate::error::Result;
use crate::inputs::credentials::{CloudProvider, CredentialSet, UPLOAD_CONTAINER_NAME};
use crate::inputs::item::PushItem;
use crate::inputs::starmap::{Entity, dict_merge};
use crate::plan::model::{
    ImageFeatures, MarketplaceTarget, PlanOptions, aws_defaults, provider_of,
};
use crate::plan::naming::{NameStyle, ami_name, azure_image_name};

use super::fill::{UPLOAD_ATTRIBUTES, fill_from_meta};
use super::{Expansion, Placement, build_tags, planned};

/// Expands one item over its marketplace entity.
pub(crate) fn expand(
    item: &PushItem,
    entity: &Entity,
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
            let marketplace = Some(MarketplaceTarget {
                entity_type: pi.attributes.marketplace_entity_type.clone(),
                overwrite: dest.overwrite,
                restrict_version: dest.restrict_version,
                restrict_major: dest.restrict_major,
                restrict_minor: dest.restrict_minor,
            });
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
                        features: ImageFeatures::read(&dest.meta, &dest_label)?,
                    }
                }
                CloudProvider::Azure => Placement {
                    account: mapping.account.clone(),
                    provider,
                    destination: dest.destination.clone(),
                    region: None,
                    billing_type: None,
                    ami_name: None,
                    image_name: azure_image_name(&account_item, "V2"),
                    public: false,
                    rhsm: None,
                    bucket: UPLOAD_CONTAINER_NAME.into(),
                    sharing_accounts: Vec::new(),
                    snapshot_accounts: Vec::new(),
                    groups: Vec::new(),
                    tags: build_tags(&account_item),
                    marketplace: None,
                    features: ImageFeatures::default(),
                },
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
