//! The community workflow (marketplacesvm community-push): every destination of every
//! storage account becomes one AMI named with billing name and volume, made public when
//! hourly, registered in RHSM.

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::inputs::credentials::{CloudProvider, CredentialSet};
use crate::inputs::fields::truthy;
use crate::inputs::item::PushItem;
use crate::inputs::starmap::{Destination, Entity};
use crate::inputs::tree::basename;
use crate::plan::billing::billing_codes;
use crate::plan::model::{ImageFeatures, PlanOptions, Skip, aws_defaults, provider_of};
use crate::plan::naming::{NameStyle, ami_name, rhsm_product};

use super::fill::fill_from_meta;
use super::{Expansion, Placement, build_tags, planned};

/// Expands one item over its community entity.
pub(crate) fn expand(
    item: &PushItem,
    entity: &Entity,
    credentials: Option<&CredentialSet>,
    options: &PlanOptions,
) -> Result<Expansion> {
    let mut out = Expansion::default();
    let file = format!("StArMap entity {} (community)", entity.name);
    for mapping in &entity.mappings {
        let provider = provider_of(&file, &mapping.account)?;
        if provider != CloudProvider::Aws {
            return Err(Error::invalid(
                &file,
                format!("mappings.{}", mapping.account),
                "the community workflow publishes AMIs; this account is not an AWS one",
            ));
        }
        let defaults = aws_defaults(credentials, &mapping.account)?;
        for dest in &mapping.destinations {
            let label = format!("{file} {} {}", mapping.account, dest.destination);
            match enrich(item, entity, dest, &label, options)? {
                Enriched::Skipped(reason) => out.skipped.push(Skip {
                    source: item.source.clone(),
                    destination: Some(dest.destination.clone()),
                    reason,
                }),
                Enriched::Item(pi) => {
                    let region = pi.attributes.region.clone().unwrap_or_default();
                    let billing_type = pi.attributes.image_type.clone().unwrap_or_default();
                    let name = ami_name(
                        &pi,
                        NameStyle::Marketplacesvm {
                            template: dest.ami_version_template.as_deref(),
                        },
                    )?;
                    let meta_accounts = |key: &str, out: &mut Expansion| {
                        sharing_accounts(&dest.meta, key, &label, &mut out.warnings)
                    };
                    let accounts = meta_accounts("accounts", &mut out)?
                        .or(meta_accounts("sharing_accounts", &mut out)?)
                        .or_else(|| defaults.as_ref().map(|d| d.accounts.clone()))
                        .unwrap_or_default();
                    let snapshot_accounts = meta_accounts("snapshot_accounts", &mut out)?
                        .or_else(|| defaults.as_ref().map(|d| d.snapshot_accounts.clone()))
                        .unwrap_or_default();
                    let mut tags = build_tags(&pi);
                    tags.insert("billing_type".into(), Value::String(billing_type.clone()));
                    let rhsm_provider = pi
                        .attributes
                        .marketplace_entity_type
                        .clone()
                        .unwrap_or_else(|| "AWS".into());
                    out.destinations.push(planned(
                        &pi,
                        Placement {
                            account: mapping.account.clone(),
                            provider,
                            destination: dest.destination.clone(),
                            bucket: format!("{}-{region}", options.container_prefix),
                            region: Some(region),
                            ami_name: Some(name.clone()),
                            image_name: name,
                            public: pi.attributes.public_image == Some(true),
                            rhsm: Some((
                                rhsm_product(&pi.release.product, &billing_type),
                                rhsm_provider,
                            )),
                            billing_type: Some(billing_type),
                            sharing_accounts: accounts,
                            snapshot_accounts,
                            groups: defaults
                                .as_ref()
                                .map(|d| d.groups.clone())
                                .unwrap_or_default(),
                            tags,
                            marketplace: None,
                            azure: None,
                            features: ImageFeatures::read(&dest.meta, &label)?,
                        },
                    ));
                }
            }
        }
    }
    Ok(out)
}

enum Enriched {
    Item(Box<PushItem>),
    Skipped(String),
}

/// marketplacesvm `enrich_push_item`, in its order, plus the SAP/RHEL_HA hourly-only rule.
fn enrich(
    item: &PushItem,
    entity: &Entity,
    dest: &Destination,
    label: &str,
    options: &PlanOptions,
) -> Result<Enriched> {
    let mut pi = fill_from_meta(item, &dest.meta, label, None)?;
    let release_type = release_type(dest, label, options.beta)?;
    let (region, billing_type) = dest.destination.rsplit_once('-').ok_or_else(|| {
        Error::invalid(
            label,
            "destination",
            format!("'{}' is not <region>-<billing type>", dest.destination),
        )
    })?;
    pi.attributes.region = Some(region.to_string());
    pi.attributes.image_type = Some(billing_type.to_string());
    if options.require_billing_codes {
        pi.attributes.billing_codes = Some(billing_codes(
            &format!("StArMap entity {}", entity.name),
            &entity.billing_code_config,
            basename(&pi.source),
            billing_type,
            &dest.destination,
        )?);
    }
    pi.attributes.marketplace_entity_type =
        Some(dest.provider.clone().unwrap_or_else(|| "AWS".into()));
    let product = pi.release.product.as_str();
    let beta_ha = product == "RHEL_HA" && pi.release.release_type.as_deref() == Some("beta");
    pi.attributes.public_image = Some(billing_type == "hourly" && !beta_ha && product != "SAP");
    if pi.release.arch.eq_ignore_ascii_case("aarch64") {
        pi.release.arch = "arm64".into();
    }
    pi.release.release_type = release_type;
    pi.dest = vec![dest.destination.clone()];
    if billing_type != "hourly" && ["RHEL_HA", "SAP"].contains(&pi.release.product.as_str()) {
        return Ok(Enriched::Skipped(format!(
            "Skipping upload of '{}' for '{}' as the image is expected to be pushed only to hourly destinations",
            pi.source, dest.destination
        )));
    }
    Ok(Enriched::Item(Box::new(pi)))
}

/// The release type of a destination: its meta's `release.type` lower-cased, `beta` with
/// `--beta`; only `ga` or `beta`, unset when empty.
fn release_type(dest: &Destination, label: &str, beta: bool) -> Result<Option<String>> {
    if beta {
        return Ok(Some("beta".into()));
    }
    let value = dest.meta.get("release").and_then(|r| r.get("type"));
    let t = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.to_lowercase(),
        Some(_) => {
            return Err(Error::invalid(
                label,
                "meta.release.type",
                "expected string",
            ));
        }
    };
    match t.as_str() {
        "" => Ok(None),
        "ga" | "beta" => Ok(Some(t)),
        other => Err(Error::invalid(
            label,
            "meta.release.type",
            format!("'{other}' is not a valid release type (ga, beta)"),
        )),
    }
}

/// Sharing accounts from meta (marketplacesvm `_get_sharing_accounts`): a list is used as
/// is; a mapping contributes all its string values whatever the key (region keys are not
/// interpreted); non-string values are dropped with a warning. Unset or empty is `None`.
fn sharing_accounts(
    meta: &Map<String, Value>,
    key: &str,
    label: &str,
    warnings: &mut Vec<String>,
) -> Result<Option<Vec<String>>> {
    let value = meta.get(key);
    if !truthy(value) {
        return Ok(None);
    }
    let mut accounts = Vec::new();
    match value {
        Some(Value::Array(items)) => {
            for (i, v) in items.iter().enumerate() {
                match v {
                    Value::String(s) => accounts.push(s.clone()),
                    _ => {
                        return Err(Error::invalid(
                            label,
                            format!("meta.{key}[{i}]"),
                            "expected an account id string",
                        ));
                    }
                }
            }
        }
        Some(Value::Object(map)) => {
            for (k, v) in map {
                match v {
                    Value::String(s) => accounts.push(s.clone()),
                    other => warnings.push(format!(
                        "{label}: meta.{key}.{k}: Ignoring unsupported format for {key} {}",
                        crate::inputs::fields::type_name(other)
                    )),
                }
            }
        }
        Some(_) => {
            return Err(Error::invalid(
                label,
                format!("meta.{key}"),
                "expected a list or a mapping of account ids",
            ));
        }
        None => {}
    }
    Ok((!accounts.is_empty()).then_some(accounts))
}
