//! The Product Ingestion resources the azure-publish step reads and edits, as JSON values in
//! Microsoft's shapes: which resource is which, the reference's SAS comparison
//! (`is_sas_eq`), the disk version put into a plan's technical configuration, the SKUs
//! recomputed from its disk versions, and what makes an offer "already being changed".

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::plan::AzureTarget;

/// The schema of `configure` requests.
pub const CONFIGURE_SCHEMA: &str = "https://schema.mp.microsoft.com/schema/configure/2022-07-01";

/// The kind of a resource: the path segment of its `$schema` before the version
/// (`plan`, `submission`, `virtual-machine-plan-technical-configuration`, …).
pub fn kind(resource: &Value) -> &str {
    let schema = resource["$schema"].as_str().unwrap_or_default();
    let mut parts = schema.trim_end_matches('/').rsplit('/');
    parts.next();
    parts.next().unwrap_or_default()
}

/// The kind of a plan's technical configuration.
pub const TECH_CONFIG: &str = "virtual-machine-plan-technical-configuration";

/// The resources of a tree (`resources`).
pub fn resources(tree: &Value) -> &[Value] {
    tree["resources"].as_array().map_or(&[], Vec::as_slice)
}

/// The plan named `plan` (its `identity.externalId`) in a tree.
pub fn plan<'a>(tree: &'a Value, plan: &str) -> Option<&'a Value> {
    resources(tree)
        .iter()
        .find(|r| kind(r) == "plan" && r["identity"]["externalId"] == plan)
}

/// The technical configuration of plan `plan_id` in a tree.
pub fn tech_config<'a>(tree: &'a Value, plan_id: &str) -> Option<&'a Value> {
    resources(tree)
        .iter()
        .find(|r| kind(r) == TECH_CONFIG && r["plan"] == plan_id)
}

/// The durable id of a resource id (`product/<id>` → `<id>`).
pub fn durable_id(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}

/// Whether two SAS URIs stand for the same disk, as the reference's `is_sas_eq`: the same
/// URL and the same query parameters except `st`, `se`, `sv` and `sig` (which differ each
/// time a SAS is signed); with `base_only`, the URL alone.
pub fn is_sas_eq(a: &str, b: &str, base_only: bool) -> bool {
    let (base_a, query_a) = a.split_once('?').unwrap_or((a, ""));
    let (base_b, query_b) = b.split_once('?').unwrap_or((b, ""));
    if base_a != base_b {
        return false;
    }
    if base_only {
        return true;
    }
    let params = |query: &str| -> BTreeMap<String, String> {
        query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| p.split_once('=').unwrap_or((p, "")))
            .filter(|(k, _)| !["st", "se", "sv", "sig"].contains(k))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    params(query_a) == params(query_b)
}

/// `text` with every SAS signature (`sig=...`) replaced by `sig=REDACTED`: Partner Center's
/// messages may quote a disk's URI, and none of it may reach an error, a log or a history.
pub fn redact_sas(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("sig=") {
        out.push_str(&rest[..at + 4]);
        out.push_str("REDACTED");
        rest = &rest[at + 4..];
        let end = rest
            .find(|c: char| c == '&' || c == '"' || c == '\'' || c.is_whitespace())
            .unwrap_or(rest.len());
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The disk URIs of a technical configuration.
fn disk_uris(config: &Value) -> impl Iterator<Item = &str> {
    config["vmImageVersions"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|v| v["vmImages"].as_array().into_iter().flatten())
        .filter_map(|image| image["source"]["osDisk"]["uri"].as_str())
}

/// Whether a technical configuration has the disk at `sas` (the reference's
/// `is_sas_present`).
pub fn has_disk(config: &Value, sas: &str, base_only: bool) -> bool {
    disk_uris(config).any(|uri| is_sas_eq(uri, sas, base_only))
}

/// Partner Center's image type of `architecture` and generation `V1`/`V2`
/// (`x64Gen2`, `arm64Gen1`, …).
fn image_type(architecture: &str, generation: &str) -> String {
    format!("{architecture}Gen{}", generation.trim_start_matches('V'))
}

/// The images of the destination's disk: the main generation's, and Gen1's too when it
/// supports legacy (the reference's `create_vm_image_definitions`).
fn images(target: &AzureTarget, sas: &str) -> Vec<Value> {
    let source = json!({"sourceType": "sasUri", "osDisk": {"uri": sas}, "dataDisks": []});
    let mut out = vec![json!({
        "imageType": image_type(&target.architecture, &target.generation),
        "source": source,
    })];
    if target.support_legacy && target.generation == "V2" {
        out.push(json!({"imageType": image_type(&target.architecture, "V1"), "source": source}));
    }
    out
}

/// A new disk version (the reference's `create_disk_version_from_scratch`).
fn disk_version(target: &AzureTarget, sas: &str) -> Value {
    json!({
        "versionNumber": target.disk_version,
        "vmImages": images(target, sas),
        "lifecycleState": "generallyAvailable",
    })
}

/// The technical configuration with the destination's disk: with `overwrite`, its only
/// disk version; else the disk version of that number gets this architecture's images (its
/// other architecture's stay), or is appended. The SKUs are recomputed.
pub fn with_disk(config: &Value, target: &AzureTarget, sas: &str) -> Value {
    let mut config = config.clone();
    let mut versions = config["vmImageVersions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if target.overwrite {
        versions = vec![disk_version(target, sas)];
    } else if let Some(existing) = versions
        .iter_mut()
        .find(|v| v["versionNumber"] == target.disk_version.as_str())
    {
        let prefix = format!("{}Gen", target.architecture);
        let mut kept: Vec<Value> = existing["vmImages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|i| {
                !i["imageType"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with(&prefix)
            })
            .cloned()
            .collect();
        let mut ours = images(target, sas);
        ours.append(&mut kept);
        existing["vmImages"] = Value::Array(ours);
    } else {
        versions.push(disk_version(target, sas));
    }
    config["skus"] = skus(&versions, target, &config["skus"]);
    config["vmImageVersions"] = Value::Array(versions);
    config
}

/// The SKUs of a plan's disk versions (the reference's `update_skus`): `<plan>` for the
/// main generation's x64 images, `<plan>-gen1`/`-gen2` for the other generation's,
/// `<plan>-arm64` (and `-arm64-gen<n>`) for arm64's; each SKU keeps the `securityType` of
/// the first existing SKU; sorted by id.
fn skus(versions: &[Value], target: &AzureTarget, old: &Value) -> Value {
    let plan = &target.plan;
    let main = target.generation.trim_start_matches('V');
    let alternate = if main == "1" { "2" } else { "1" };
    let security = old
        .as_array()
        .and_then(|s| s.first())
        .map(|s| s["securityType"].clone())
        .filter(|s| !s.is_null());
    let mut by_type: BTreeMap<String, String> = BTreeMap::new();
    let types = versions
        .iter()
        .flat_map(|v| v["vmImages"].as_array().into_iter().flatten())
        .filter_map(|i| i["imageType"].as_str());
    for image_type in types {
        let Some((arch, generation)) = image_type.split_once("Gen") else {
            continue;
        };
        let base = if arch == "arm64" {
            format!("{plan}-arm64")
        } else {
            plan.clone()
        };
        let id = match generation {
            g if g == main => base,
            g if g == alternate => format!("{base}-gen{alternate}"),
            _ => continue,
        };
        by_type.entry(image_type.to_string()).or_insert(id);
    }
    let mut skus: Vec<Value> = by_type
        .into_iter()
        .map(|(image_type, id)| {
            let mut sku = json!({"imageType": image_type, "skuId": id});
            if let Some(security) = &security {
                sku["securityType"] = security.clone();
            }
            sku
        })
        .collect();
    skus.sort_by(|a, b| a["skuId"].as_str().cmp(&b["skuId"].as_str()));
    Value::Array(skus)
}

/// The resources of `draft` that differ from `published` (preview or live), by id, leaving
/// out technical configurations, submissions and `url` fields (the reference's
/// `ensure_offer_is_writable`): an offer with such changes is being changed by someone else.
pub fn pending_changes(draft: &Value, published: &Value) -> Vec<String> {
    let compared = |tree: &Value| -> BTreeMap<String, Value> {
        resources(tree)
            .iter()
            .filter(|r| ![TECH_CONFIG, "submission"].contains(&kind(r)))
            .map(|r| {
                let mut r = r.clone();
                if let Some(map) = r.as_object_mut() {
                    map.remove("url");
                }
                let key = r["id"]
                    .as_str()
                    .map_or_else(|| kind(&r).to_string(), str::to_string);
                (key, r)
            })
            .collect()
    };
    let (draft, published) = (compared(draft), compared(published));
    let mut changed: Vec<String> = draft
        .iter()
        .filter(|(id, r)| published.get(*id) != Some(r))
        .map(|(id, _)| id.clone())
        .collect();
    changed.extend(
        published
            .keys()
            .filter(|id| !draft.contains_key(*id))
            .cloned(),
    );
    changed.sort();
    changed.dedup();
    changed
}

#[cfg(test)]
mod tests;
