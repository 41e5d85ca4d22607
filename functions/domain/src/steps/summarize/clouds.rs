//! pubtools' `clouds.json` (spec §3.10, Appendix A.1): one element per destination, the push
//! item's attributes (`attrs.asdict`) with `cloud_info`; top-level `null`s are dropped, nested
//! ones kept, a set `boot_mode` is written `null` (pubtools cannot serialise its enum), dates
//! are `YYYYMMDD`. pushsource's `pub:` source reads these back.

use serde_json::{Map, Value, json};

use crate::payloads::Outcome;
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

/// The `clouds.json` element of a destination.
pub fn element(leaf: &Leaf<'_>, shipped: &Shipped<'_>) -> Value {
    let d = &leaf.work.destination;
    let build =
        leaf.upload.build.as_ref().map(
            |b| json!({"id": null, "name": b.name, "release": b.release, "version": b.version}),
        );
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
    let Value::Object(fields) = item else {
        return item;
    };
    let kept: Map<String, Value> = fields
        .into_iter()
        .filter(|(k, v)| !v.is_null() || (k == "boot_mode" && d.boot_mode.is_some()))
        .collect();
    Value::Object(kept)
}
