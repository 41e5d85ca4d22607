//! An Azure destination in the result: its entry (with the disk version the offer got), its
//! push item record (`filename` the staged file, as pubtools names Azure items), its
//! `clouds.json` element (a VHD push item's attributes with `cloud_info` provider `azure`)
//! and its line in the notice. No SAS appears: the blob is named by its URL without a query.

use serde_json::{Map, Value, json};

use crate::payloads::{AzureResult, DestinationResult, NoticeDisk, Outcome};
use crate::plan::worklist::{AzureDestinationWork, AzureUploadWork};

/// Everything the result says about one Azure destination.
pub struct Reported {
    /// Its entry in `destinations`.
    pub result: DestinationResult,
    /// Its `pushitems.jsonl` record.
    pub pushitem: Value,
    /// Its `clouds.json` element.
    pub cloud: Value,
    /// Its line in the notice.
    pub disk: NoticeDisk,
}

/// Reports destination `d` of upload `upload` in state `state` after `outcome`; `sha256` is
/// the VHD's, as the upload found it.
pub fn report(
    upload: &AzureUploadWork,
    d: &AzureDestinationWork,
    outcome: &Outcome,
    sha256: Option<&str>,
    state: &str,
) -> Reported {
    let planned = &d.destination;
    let target = planned.azure.as_ref();
    let src = super::staged_src(&upload.source_bucket, &upload.source_key);
    let origin = super::origin_of(&src);
    let filename = upload
        .source_key
        .rsplit('/')
        .next()
        .unwrap_or(&upload.source_key);
    let sha256 = sha256.map(str::to_string).or_else(|| upload.sha256.clone());
    let published = outcome.azure.as_deref();
    let field = |f: fn(&crate::plan::AzureTarget) -> String| target.map(f).unwrap_or_default();
    let azure = AzureResult {
        offer: field(|t| t.offer.clone()),
        plan: field(|t| t.plan.clone()),
        disk_version: field(|t| t.disk_version.clone()),
        blob_url: published.map(|p| p.blob_url.clone()).unwrap_or_default(),
        existing: published.is_some_and(|p| p.existing),
        configured: published.is_some_and(|p| p.configured),
        submitted: published.map(|p| p.submitted.clone()).unwrap_or_default(),
    };
    let blob_url = Some(azure.blob_url.clone()).filter(|u| !u.is_empty());
    let build = super::clouds::build_info(upload.build.as_ref());
    let element = json!({
        "build_info": build,
        "cloud_info": {"account": planned.account, "provider": "azure"},
        "description": planned.description,
        "dest": [planned.destination],
        "disk_version": azure.disk_version,
        "generation": target.map(|t| t.generation.clone()),
        "legacy_sku_id": target.and_then(|t| t.legacy_sku_id.clone()),
        "name": filename,
        "origin": origin,
        "recommended_sizes": target.map(|t| t.recommended_sizes.clone()).unwrap_or_default(),
        "release": planned.release,
        "sha256sum": sha256,
        "sku_id": target.and_then(|t| t.sku_id.clone()),
        "src": src,
        "state": state,
        "support_legacy": target.is_some_and(|t| t.support_legacy),
    });
    let cloud = match element {
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .filter(|(_, v)| !v.is_null())
                .collect::<Map<_, _>>(),
        ),
        other => other,
    };
    let pushitem = super::pushitem(
        &src,
        &planned.destination,
        filename,
        sha256.as_deref(),
        state,
    );
    let disk = NoticeDisk {
        account: planned.account.clone(),
        offer: azure.offer.clone(),
        plan: azure.plan.clone(),
        disk_version: azure.disk_version.clone(),
        blob_url,
        source: src.clone(),
        sha256,
        state: state.into(),
    };
    let result = DestinationResult {
        state: state.into(),
        ami: None,
        snapshot: None,
        region: None,
        name: Some(filename.to_string()),
        destination: Some(planned.destination.clone()),
        account: Some(planned.account.clone()),
        source: src,
        public: false,
        error: outcome.reason(),
        marketplace: None,
        azure: Some(azure),
    };
    Reported {
        result,
        pushitem,
        cloud,
        disk,
    }
}
