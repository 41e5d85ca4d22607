//! The pubtools-ami path: `AWS_IMAGES` items carry their region, billing type and billing
//! codes in `staged.yaml`; no StArMap is involved. Names use raw versions and require
//! billing codes; an image is public only with `--allow-public-images`, when `public_image`
//! is true or unset for an hourly image.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::inputs::credentials::{CloudProvider, CredentialSet};
use crate::inputs::item::PushItem;
use crate::plan::model::{ImageFeatures, PlanOptions, aws_defaults};
use crate::plan::naming::{NameStyle, ami_name, rhsm_product};

use super::{Expansion, Placement, planned};

/// Plans one `AWS_IMAGES` item.
pub(crate) fn expand(
    item: &PushItem,
    credentials: Option<&CredentialSet>,
    options: &PlanOptions,
) -> Result<Expansion> {
    let opts = &options.ami_push;
    let a = &item.attributes;
    let region = a.region.clone().unwrap_or_default();
    let billing_type = a.image_type.clone().unwrap_or_default();
    let name = ami_name(item, NameStyle::PubtoolsAmi)?;
    let defaults = aws_defaults(credentials, &opts.account)?;
    let by_region = |arg: &Option<Value>, flag: &str| -> Result<Option<Value>> {
        let Some(map) = arg else { return Ok(None) };
        let entry = map.get(&region).or_else(|| map.get("default"));
        match entry {
            Some(v) => Ok(Some(v.clone())),
            None => Err(Error::invalid(
                flag,
                &region,
                "neither this region nor \"default\" is given",
            )),
        }
    };
    let strings = |v: &Value, flag: &str| -> Result<Vec<String>> {
        let values: Vec<&Value> = match v {
            Value::Object(m) => m.values().collect(),
            Value::Array(a) => a.iter().collect(),
            _ => {
                return Err(Error::invalid(
                    flag,
                    &region,
                    "expected a mapping or a list of account ids",
                ));
            }
        };
        values
            .into_iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| Error::invalid(flag, &region, "account ids must be strings"))
            })
            .collect()
    };
    let sharing = match by_region(&opts.accounts, "--accounts")? {
        Some(v) => strings(&v, "--accounts")?,
        None => defaults
            .as_ref()
            .map(|d| d.accounts.clone())
            .unwrap_or_default(),
    };
    let snapshot = match by_region(&opts.snapshot_account_ids, "--snapshot-account-ids")? {
        Some(v) => strings(&v, "--snapshot-account-ids")?,
        None => defaults
            .as_ref()
            .map(|d| d.snapshot_accounts.clone())
            .unwrap_or_default(),
    };
    let public = opts.allow_public_images
        && match a.public_image {
            Some(p) => p,
            None => billing_type == "hourly",
        };
    let mut tags = serde_json::Map::new();
    tags.insert("billing_type".into(), Value::String(billing_type.clone()));
    let destination = planned(
        item,
        Placement {
            account: opts.account.clone(),
            provider: CloudProvider::Aws,
            destination: format!("{region}-{billing_type}"),
            bucket: format!("{}-{region}", options.container_prefix),
            region: Some(region),
            ami_name: Some(name.clone()),
            image_name: name,
            public,
            rhsm: Some((
                rhsm_product(&item.release.product, &billing_type),
                opts.rhsm_provider.clone(),
            )),
            billing_type: Some(billing_type),
            sharing_accounts: sharing,
            snapshot_accounts: snapshot,
            groups: defaults
                .as_ref()
                .map(|d| d.groups.clone())
                .unwrap_or_default(),
            tags,
            marketplace: None,
            azure: None,
            features: ImageFeatures::default(),
        },
    );
    Ok(Expansion {
        destinations: vec![destination],
        ..Expansion::default()
    })
}
