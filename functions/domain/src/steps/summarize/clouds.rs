//! pubtools' `clouds.json` (spec §3.10, Appendix A.1): one element per destination, the push
//! item's attributes (`attrs.asdict`) with `cloud_info`; top-level `null`s are dropped, nested
//! ones kept, a set `boot_mode` is written `null` (pubtools cannot serialise its enum), dates
//! are `YYYYMMDD`. pushsource's `pub:` source reads these back. A marketplace destination's
//! element carries the product fields and the StArMap answer it was planned from
//! (`starmap_query`, Appendix A.2), as the reference's marketplace workflow writes it.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::inputs::item::BuildInfo;
use crate::payloads::Outcome;
use crate::plan::MarketplaceTarget;
use crate::plan::worklist::Leaf;

/// What a destination's element is made of besides its work-list leaf.
pub struct Shipped<'a> {
    /// `PUSHED`, `NOTPUSHED`, `UPLOADFAILED`.
    pub state: &'a str,
    /// What happened.
    pub outcome: &'a Outcome,
    /// The staged file (`src`).
    pub src: &'a str,
    /// Its staged directory (`origin`).
    pub origin: &'a str,
    /// Its sha256.
    pub sha256: Option<&'a str>,
}

/// A push item's `build_info`, as pubtools writes it (no build id).
pub fn build_info(build: Option<&BuildInfo>) -> Option<Value> {
    build.map(|b| json!({"id": null, "name": b.name, "release": b.release, "version": b.version}))
}

/// The `clouds.json` element of a destination; `starmap` holds the work list's StArMap
/// answers.
pub fn element(leaf: &Leaf<'_>, shipped: &Shipped<'_>, starmap: &BTreeMap<String, Value>) -> Value {
    let d = &leaf.work.destination;
    let build = build_info(leaf.upload.build.as_ref());
    let item = json!({
        "billing_codes": d.billing_codes,
        "boot_mode": null,
        "build_info": build,
        "cloud_info": {"account": d.account, "provider": "aws"},
        "description": d.description,
        "dest": [d.destination],
        "ena_support": d.ena_support,
        "image_id": shipped.outcome.ami,
        "marketplace_entity_type": d.provider,
        "name": d.ami_name.as_ref().unwrap_or(&d.image_name),
        "origin": shipped.origin,
        "public_image": d.public,
        "region": d.region,
        "release": d.release,
        "root_device": d.root_device,
        "security_groups": [],
        "sha256sum": shipped.sha256,
        "src": shipped.src,
        "sriov_net_support": d.sriov_net_support,
        "state": shipped.state,
        "type": d.billing_type,
        "virtualization": d.virtualization,
        "volume": d.volume,
    });
    let Value::Object(mut fields) = item else {
        return item;
    };
    if let Some(target) = &d.marketplace {
        let query = target.starmap_query.as_ref().and_then(|k| starmap.get(k));
        marketplace_fields(&mut fields, leaf, target, query);
    }
    let kept: Map<String, Value> = fields
        .into_iter()
        .filter(|(k, v)| !v.is_null() || (k == "boot_mode" && d.boot_mode.is_some()))
        .collect();
    Value::Object(kept)
}

/// What a marketplace push item holds besides a community one: the product's entity type and
/// version fields (the templates as StArMap gave them, not formatted), `type` `AMI`, no
/// billing codes or public flag, `cloud_info.provider` the entity's cloud, and the entity.
fn marketplace_fields(
    fields: &mut Map<String, Value>,
    leaf: &Leaf<'_>,
    target: &MarketplaceTarget,
    query: Option<&Value>,
) {
    let d = &leaf.work.destination;
    // the destination's merged meta in the StArMap answer: where the templates came from
    let meta = query
        .and_then(|q| q["mappings"][&d.account]["destinations"].as_array())
        .and_then(|list| {
            list.iter()
                .find(|x| x["destination"] == d.destination.as_str())
        })
        .map(|x| &x["meta"]);
    let raw = |key: &str| meta.map(|m| m[key].clone()).filter(|v| !v.is_null());
    fields.remove("billing_codes");
    fields.remove("public_image");
    fields.insert(
        "type".into(),
        json!(d.billing_type.as_deref().unwrap_or("AMI")),
    );
    fields.insert("marketplace_entity_type".into(), json!(target.entity_type));
    if let Some(cloud) = query.and_then(|q| q["cloud"].as_str()) {
        fields.insert(
            "cloud_info".into(),
            json!({"account": d.account, "provider": cloud}),
        );
    }
    if let Some(v) = &target.version {
        let version = [
            (
                "release_notes",
                raw("release_notes").unwrap_or(json!(v.release_notes)),
            ),
            (
                "usage_instructions",
                raw("usage_instructions").unwrap_or(json!(v.usage_instructions)),
            ),
            (
                "recommended_instance_type",
                json!(v.recommended_instance_type),
            ),
            ("user_name", json!(v.user_name)),
            ("scanning_port", json!(v.scanning_port)),
            ("security_groups", json!(v.security_groups)),
            ("access_endpoint_url", json!(v.access_endpoint_url)),
        ];
        for (key, value) in version {
            if !value.is_null() {
                fields.insert(key.into(), value);
            }
        }
    }
    if let Some(q) = query {
        fields.insert("starmap_query".into(), q.clone());
    }
}
