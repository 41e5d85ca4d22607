//! StArMap APIv2 query responses (starmap-client `models.py`), decoded with the reference's
//! validation: unknown keys are ignored, required fields are checked by type, and an explicit
//! `null` for `meta` or `billing-code-config` is refused (omit the key instead).

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::error::Result;
use crate::inputs::fields::{Located, Obj, type_name};

use super::merge::dict_merge;

/// The StArMap workflow of an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Workflow {
    /// Community AMIs (storage accounts, RHSM, public sharing).
    Community,
    /// AWS Marketplace and Azure offers.
    Stratosphere,
}

impl Workflow {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Workflow::Community => "community",
            Workflow::Stratosphere => "stratosphere",
        }
    }
}

/// A billing type a billing-code rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BillingType {
    /// Pay-as-you-go.
    Hourly,
    /// Bring your own subscription.
    Access,
    /// Marketplace.
    Marketplace,
}

impl BillingType {
    /// Parses a billing type name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "hourly" => Some(BillingType::Hourly),
            "access" => Some(BillingType::Access),
            "marketplace" => Some(BillingType::Marketplace),
            _ => None,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            BillingType::Hourly => "hourly",
            BillingType::Access => "access",
            BillingType::Marketplace => "marketplace",
        }
    }

    /// The billing name used when a rule has none (`Hourly2`, `Access2`, `Marketplace`).
    pub fn default_name(self) -> &'static str {
        match self {
            BillingType::Hourly => "Hourly2",
            BillingType::Access => "Access2",
            BillingType::Marketplace => "Marketplace",
        }
    }
}

/// A `billing-code-config` rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BillingRule {
    /// The rule's key in `billing-code-config`.
    pub key: String,
    /// Billing product codes.
    pub codes: Vec<String>,
    /// Prefix of the image file name this rule applies to.
    pub image_name: String,
    /// Billing types this rule applies to.
    pub image_types: Vec<BillingType>,
    /// Billing name, or the type's default.
    pub name: Option<String>,
}

/// One destination of a mapping, with its merged meta.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Destination {
    /// Community: `<region>-<type>`; marketplace: product id; Azure: `offer/plan`.
    pub destination: String,
    /// Replace the existing version (marketplace).
    pub overwrite: bool,
    /// Restrict older versions (marketplace).
    pub restrict_version: bool,
    /// Architecture filter; `None` = any.
    pub architecture: Option<String>,
    /// Majors to keep.
    pub restrict_major: Option<i64>,
    /// Minors to keep.
    pub restrict_minor: Option<i64>,
    /// AMI version template (`{major}.{minor}`...).
    pub ami_version_template: Option<String>,
    /// Always the mapping's provider.
    pub provider: Option<String>,
    /// Custom tags.
    pub tags: Option<Vec<(String, String)>>,
    /// Azure: compare only the SAS base URL.
    pub vhd_check_base_sas_only: Option<bool>,
    /// Merged meta (entity < mapping < destination).
    pub meta: Map<String, Value>,
    /// Destination id.
    pub id: Option<String>,
}

/// The mapping of one account alias.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mapping {
    /// The account alias (`aws-us-storage`...).
    pub account: String,
    /// Destinations, in order.
    pub destinations: Vec<Destination>,
    /// RHSM provider short name (`AWS`, `ACN`, `AGOV`).
    pub provider: Option<String>,
    /// Merged meta (entity < mapping).
    pub meta: Map<String, Value>,
}

/// A `QueryResponseEntity`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entity {
    /// Build name the entity answers for.
    pub name: String,
    /// `aws` or `azure`.
    pub cloud: String,
    /// Workflow.
    pub workflow: Workflow,
    /// Account mappings, in order.
    pub mappings: Vec<Mapping>,
    /// Billing-code rules, in order.
    pub billing_code_config: Vec<BillingRule>,
    /// The entity's own meta as given.
    pub meta: Option<Map<String, Value>>,
}

impl Entity {
    /// The entity as pubtools echoes it in `clouds.json` (`attrs.asdict`: `billing_code_config`
    /// and `mappings` as mappings by name, merged metas, unset fields `null`).
    pub fn starmap_query(&self) -> Value {
        let rules: Map<String, Value> = self
            .billing_code_config
            .iter()
            .map(|r| {
                let types: Vec<&str> = r.image_types.iter().map(|t| t.as_str()).collect();
                let rule = json!({"codes": r.codes, "image_name": r.image_name,
                                  "image_types": types, "name": r.name});
                (r.key.clone(), rule)
            })
            .collect();
        let mappings: Map<String, Value> = self
            .mappings
            .iter()
            .map(|m| {
                let destinations: Vec<Value> = m
                    .destinations
                    .iter()
                    .map(|d| {
                        let tags = d.tags.as_ref().map(|t| {
                            t.iter()
                                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                                .collect::<Map<String, Value>>()
                        });
                        json!({
                            "ami_version_template": d.ami_version_template,
                            "architecture": d.architecture,
                            "destination": d.destination,
                            "id": d.id,
                            "meta": d.meta,
                            "overwrite": d.overwrite,
                            "provider": d.provider,
                            "restrict_major": d.restrict_major,
                            "restrict_minor": d.restrict_minor,
                            "restrict_version": d.restrict_version,
                            "tags": tags,
                            "vhd_check_base_sas_only": d.vhd_check_base_sas_only,
                        })
                    })
                    .collect();
                let mapping = json!({"destinations": destinations, "meta": m.meta,
                                     "provider": m.provider});
                (m.account.clone(), mapping)
            })
            .collect();
        json!({
            "billing_code_config": rules,
            "cloud": self.cloud,
            "mappings": mappings,
            "meta": self.meta,
            "name": self.name,
            "workflow": self.workflow.as_str(),
        })
    }
}

/// Decodes a query response: a list of entities. `file` names the source in errors
/// (`--repo`, a repo file, or the server query).
pub fn decode_entities(file: &str, value: &Value) -> Result<Vec<Entity>> {
    let root = Located::new(file, "", value);
    if !value.is_array() {
        return Err(root.error(format!(
            "expected the root to be a list, got {}",
            type_name(value)
        )));
    }
    root.list()?.iter().map(decode_entity).collect()
}

/// A `meta` mapping: absent is fine, explicit `null` or a non-mapping is refused.
fn meta_of(obj: &Obj<'_>, key: &str) -> Result<Option<Map<String, Value>>> {
    match obj.map().get(key) {
        None => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m.clone())),
        Some(Value::Null) => {
            Err(obj.error(key, "expected a mapping, got null (omit the key instead)"))
        }
        Some(other) => Err(obj.error(key, format!("expected a mapping, got {}", type_name(other)))),
    }
}

fn decode_entity(located: &Located<'_>) -> Result<Entity> {
    let obj = located.obj()?;
    let workflow = match obj.str_req("workflow")?.as_str() {
        "community" => Workflow::Community,
        "stratosphere" => Workflow::Stratosphere,
        other => {
            return Err(obj.error(
                "workflow",
                format!("'{other}' is not a valid Workflow (community, stratosphere)"),
            ));
        }
    };
    let meta = meta_of(&obj, "meta")?;
    let upper = meta.clone().unwrap_or_default();
    let mut mappings = Vec::new();
    let mappings_loc = obj
        .child("mappings")
        .ok_or_else(|| obj.error("mappings", "required mapping is missing"))?;
    let mappings_obj = mappings_loc.obj()?;
    for (account, value) in mappings_obj.map() {
        let located = Located::new(obj.file(), mappings_obj.field(account), value);
        mappings.push(decode_mapping(account, &located, &upper)?);
    }
    Ok(Entity {
        name: obj.str_req("name")?,
        cloud: obj.str_req("cloud")?,
        workflow,
        mappings,
        billing_code_config: decode_billing(&obj)?,
        meta,
    })
}

fn decode_billing(obj: &Obj<'_>) -> Result<Vec<BillingRule>> {
    match obj.map().get("billing-code-config") {
        None => return Ok(Vec::new()),
        Some(Value::Null) => {
            return Err(obj.error(
                "billing-code-config",
                "expected a mapping, got null (omit the key instead)",
            ));
        }
        Some(_) => {}
    }
    let config = obj
        .child("billing-code-config")
        .expect("present and not null");
    let config = config.obj()?;
    let mut rules = Vec::new();
    for (key, value) in config.map() {
        let located = Located::new(config.file(), config.field(key), value);
        let rule = located.obj()?;
        let mut image_types = Vec::new();
        for t in rule.str_list_req("image_types")? {
            image_types.push(BillingType::parse(&t).ok_or_else(|| {
                rule.error(
                    "image_types",
                    format!("'{t}' is not one of: access, hourly, marketplace"),
                )
            })?);
        }
        rules.push(BillingRule {
            key: key.clone(),
            codes: rule.str_list_req("codes")?,
            image_name: rule.str_req("image_name")?,
            image_types,
            name: rule.str_opt("name")?,
        });
    }
    Ok(rules)
}

fn decode_mapping(
    account: &str,
    located: &Located<'_>,
    upper: &Map<String, Value>,
) -> Result<Mapping> {
    let obj = located.obj()?;
    let meta = dict_merge(upper, &meta_of(&obj, "meta")?.unwrap_or_default());
    let provider = obj.str_opt("provider")?;
    let destinations = match obj.child("destinations") {
        None => return Err(obj.error("destinations", "required list is missing")),
        Some(list) => list
            .list()?
            .iter()
            .map(|d| decode_destination(d, &meta, provider.clone()))
            .collect::<Result<Vec<_>>>()?,
    };
    Ok(Mapping {
        account: account.to_string(),
        destinations,
        provider,
        meta,
    })
}

fn decode_destination(
    located: &Located<'_>,
    upper: &Map<String, Value>,
    provider: Option<String>,
) -> Result<Destination> {
    let obj = located.obj()?;
    Ok(Destination {
        destination: obj.str_req("destination")?,
        overwrite: obj.bool_req("overwrite")?,
        restrict_version: obj.bool_req("restrict_version")?,
        architecture: obj.str_opt("architecture")?,
        restrict_major: obj.int_opt("restrict_major")?,
        restrict_minor: obj.int_opt("restrict_minor")?,
        ami_version_template: obj.str_opt("ami_version_template")?,
        provider,
        tags: obj.str_map_opt("tags")?,
        vhd_check_base_sas_only: obj.bool_opt("vhd_check_base_sas_only")?,
        meta: dict_merge(upper, &meta_of(&obj, "meta")?.unwrap_or_default()),
        id: obj.str_opt("id")?,
    })
}

#[cfg(test)]
mod tests;
