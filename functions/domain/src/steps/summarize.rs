//! The result of a push, from its work list and what happened to each destination: per
//! destination `{state, ami, snapshot, region, name, error}` (states as pubtools:
//! `PUSHED`, `NOTPUSHED` when publishing failed, `UPLOADFAILED` when the image never became a
//! snapshot, `SKIPPED`), awspub's `{"images": {name: {region: ami}}}`, pubtools' push item
//! records (`pushitems.jsonl`, spec §3.10), and the notice sent to subscribers.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::payloads::{
    DestinationResult, MarketplaceResult, NoticeFailure, NoticeImage, NoticeRegion, Outcome,
    Outcomes, PushNotice, PushResult, Stage, SummaryInput, SummaryOutput, SummaryRequest,
    TaskFailure, Verdict,
};
use crate::plan::stored;
use crate::ports::{ObjectReader, ObjectWriter};
use crate::steps::{ErrorKind, StepError};

mod azure;
mod clouds;
mod outcome;

use outcome::{spread, spread_azure};

/// The result of a push, and the notice for subscribers.
pub fn summarize(input: &SummaryInput) -> Result<(PushResult, PushNotice), StepError> {
    let Some(work) = &input.work else {
        return Ok(failed_early(input));
    };
    let outcomes = spread(work, &input.outcomes)?;
    let mut destinations = Vec::new();
    let mut images: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut pushitems = Vec::new();
    let mut notice_images: Vec<NoticeImage> = Vec::new();
    let mut failures = Vec::new();
    let mut clouds_json = Vec::new();
    for (leaf, outcome) in work.leaves().zip(&outcomes) {
        let (d, upload) = (leaf.work, leaf.upload);
        let planned = &d.destination;
        let src = staged_src(&upload.source_bucket, &upload.source_key);
        let origin = origin_of(&src);
        let sha256 = outcome.sha256.clone().or_else(|| upload.sha256.clone());
        let reason = outcome.reason();
        let state = state_of(outcome);
        let name = planned
            .ami_name
            .clone()
            .unwrap_or(planned.image_name.clone());
        let region = planned.region.clone().unwrap_or_default();
        if state == "PUSHED" {
            if let Some(ami) = &outcome.ami {
                images
                    .entry(name.clone())
                    .or_default()
                    .insert(region.clone(), ami.clone());
            }
        } else {
            failures.push(NoticeFailure {
                name: name.clone(),
                region: region.clone(),
                destination: planned.destination.clone(),
                state: state.into(),
                reason: reason.clone().unwrap_or_default(),
            });
        }
        clouds_json.push(clouds::element(
            &leaf,
            &clouds::Shipped {
                state,
                outcome,
                src: &src,
                origin,
                sha256: sha256.as_deref(),
            },
            &work.starmap,
        ));
        pushitems.push(pushitem(
            &src,
            &planned.destination,
            &name,
            sha256.as_deref(),
            state,
        ));
        let position = notice_images.iter().position(|i| i.name == name);
        let image = match position {
            Some(i) => &mut notice_images[i],
            None => {
                notice_images.push(NoticeImage {
                    name: name.clone(),
                    source: src.clone(),
                    sha256: sha256.clone(),
                    product: planned.rhsm_product.clone(),
                    billing_type: planned.billing_type.clone(),
                    regions: BTreeMap::new(),
                });
                notice_images.last_mut().expect("just pushed")
            }
        };
        image.regions.insert(
            region.clone(),
            NoticeRegion {
                ami: outcome.ami.clone(),
                snapshot: outcome.snapshot.clone(),
                state: state.into(),
                public: outcome.public,
            },
        );
        destinations.push(DestinationResult {
            state: state.into(),
            ami: outcome.ami.clone(),
            snapshot: outcome.snapshot.clone(),
            region: planned.region.clone(),
            name: Some(name),
            destination: Some(planned.destination.clone()),
            account: Some(planned.account.clone()),
            source: src,
            public: outcome.public,
            error: reason,
            marketplace: outcome.marketplace.as_deref().map(MarketplaceResult::from),
            azure: None,
        });
    }
    let mut disks = Vec::new();
    let azure_outcomes = spread_azure(work, &input.outcomes)?;
    for ((upload, _, d), (outcome, sha256)) in work.azure_leaves().zip(azure_outcomes) {
        let state = state_of(outcome);
        let reported = azure::report(upload, d, outcome, sha256, state);
        if state != "PUSHED" {
            failures.push(NoticeFailure {
                name: reported.result.name.clone().unwrap_or_default(),
                region: String::new(),
                destination: d.destination.destination.clone(),
                state: state.into(),
                reason: outcome.reason().unwrap_or_default(),
            });
        }
        destinations.push(reported.result);
        pushitems.push(reported.pushitem);
        clouds_json.push(reported.cloud);
        disks.push(reported.disk);
    }
    for skip in &work.skipped {
        destinations.push(DestinationResult {
            state: "SKIPPED".into(),
            ami: None,
            snapshot: None,
            region: None,
            name: None,
            destination: skip.destination.clone(),
            account: None,
            source: skip.source.clone(),
            public: false,
            error: Some(skip.reason.clone()),
            marketplace: None,
            azure: None,
        });
    }
    let (state, error) = outcome::overall(&input.workflow, work, failures.is_empty());
    let result = PushResult {
        push_id: work.push_id.clone(),
        workflow: input.workflow.clone(),
        state: state.into(),
        destinations,
        images,
        pushitems,
        error: error.clone(),
        clouds: clouds_json,
    };
    let notice = PushNotice {
        event: "push-finished".into(),
        push_id: work.push_id.clone(),
        workflow: input.workflow.clone(),
        state: state.into(),
        images: notice_images,
        disks,
        failures,
        error,
    };
    Ok((result, notice))
}

/// The staged file of an upload, as push items name it (`s3://<bucket>/<key>`).
fn staged_src(bucket: &str, key: &str) -> String {
    format!("s3://{bucket}/{key}")
}

/// A staged file's directory (`origin`).
fn origin_of(src: &str) -> &str {
    src.rsplit_once('/').map_or(src, |(dir, _)| dir)
}

/// A destination's `pushitems.jsonl` record (spec §3.10).
fn pushitem(src: &str, dest: &str, filename: &str, sha256: Option<&str>, state: &str) -> Value {
    json!({
        "build": null, "checksums": sha256.map(|s| json!({"sha256": s})),
        "dest": dest, "filename": filename, "origin": origin_of(src),
        "signing_key": null, "src": src, "state": state,
    })
}

/// A destination's state after its outcome: `PUSHED`, `UPLOADFAILED` when the image never
/// got into the cloud's storage (or never became a snapshot), else `NOTPUSHED`.
fn state_of(outcome: &crate::payloads::Outcome) -> &'static str {
    match (outcome.reason().is_some(), outcome.failed_at) {
        (false, _) => "PUSHED",
        (true, Some(Stage::Upload | Stage::Import)) => "UPLOADFAILED",
        (true, _) => "NOTPUSHED",
    }
}

/// The result of a push that failed before its work list existed: nothing was done.
fn failed_early(input: &SummaryInput) -> (PushResult, PushNotice) {
    let error = Some(input.failure.as_ref().map_or_else(
        || "the push ended without a work list".to_string(),
        TaskFailure::reason,
    ));
    let push_id = input.push_id.clone().unwrap_or_default();
    let result = PushResult {
        push_id: push_id.clone(),
        workflow: input.workflow.clone(),
        state: "FAILED".into(),
        destinations: Vec::new(),
        images: BTreeMap::new(),
        pushitems: Vec::new(),
        error: error.clone(),
        clouds: Vec::new(),
    };
    let notice = PushNotice {
        event: "push-finished".into(),
        push_id,
        workflow: input.workflow.clone(),
        state: "FAILED".into(),
        images: Vec::new(),
        disks: Vec::new(),
        failures: Vec::new(),
        error,
    };
    (result, notice)
}

/// `pushitems.jsonl`: one sorted-key JSON line per record.
pub fn pushitems_jsonl(result: &PushResult) -> String {
    result
        .pushitems
        .iter()
        .map(|item| format!("{}\n", sorted(item)))
        .collect()
}

/// A JSON value with its object keys sorted (serde_json keeps insertion order here).
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let ordered: BTreeMap<&String, Value> =
                map.iter().map(|(k, v)| (k, sorted(v))).collect();
            json!(ordered)
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// What summarize summarises: the request with the work list and every upload's stored
/// outcomes read back from `bucket`. An upload whose outcomes are missing stands failed
/// (its execution ended without them), with the key named.
pub async fn read_back<R: ObjectReader>(
    store: &R,
    bucket: &str,
    request: &SummaryRequest,
) -> Result<SummaryInput, StepError> {
    let work = match &request.work {
        Some(index) => Some(stored::load(store, bucket, index).await?),
        None => None,
    };
    let mut outcomes = Vec::with_capacity(request.outcomes.len());
    for result in &request.outcomes {
        outcomes.push(expand(store, bucket, result).await?);
    }
    Ok(SummaryInput {
        workflow: request.workflow.clone(),
        push_id: request.push_id.clone(),
        work,
        outcomes,
        failure: request.failure.clone(),
    })
}

/// `result` with every stored outcome replaced by what it names (stored outcomes are found
/// in a map's results, one level down at most: the uploads' and the Azure branch's).
async fn expand<R: ObjectReader>(
    store: &R,
    bucket: &str,
    result: &Outcomes,
) -> Result<Outcomes, StepError> {
    match result {
        Outcomes::One(one) => read_stored(store, bucket, one).await,
        Outcomes::Many(all) => {
            let mut expanded = Vec::with_capacity(all.len());
            for item in all {
                expanded.push(match item {
                    Outcomes::One(one) => read_stored(store, bucket, one).await?,
                    many => many.clone(),
                });
            }
            Ok(Outcomes::Many(expanded))
        }
    }
}

/// The outcomes `one` names when it is stored, else `one`.
async fn read_stored<R: ObjectReader>(
    store: &R,
    bucket: &str,
    one: &Outcome,
) -> Result<Outcomes, StepError> {
    let Some(key) = &one.stored else {
        return Ok(Outcomes::One(one.clone()));
    };
    match stored::load_outcomes(store, bucket, key).await {
        Ok(outcomes) => Ok(outcomes),
        Err(e) if e.kind == ErrorKind::NotFound => Ok(Outcomes::One(Outcome {
            id: one.id.clone(),
            failed_at: Some(Stage::Upload),
            error: Some(format!(
                "its execution stored no outcomes (s3://{bucket}/{key})"
            )),
            ..Outcome::default()
        })),
        Err(e) => Err(e),
    }
}

/// Summarises a push (its stored work and outcomes read back) and writes `result.json`,
/// `images.json` (awspub's shape), `clouds.json`, `pushitems.jsonl` and the notice for
/// sns-notify (`notice.json`) under `results/<push id>/` of `bucket`.
pub async fn write<S: ObjectReader + ObjectWriter>(
    store: &S,
    bucket: &str,
    request: &SummaryRequest,
) -> Result<SummaryOutput, StepError> {
    let input = read_back(store, bucket, request).await?;
    let (result, notice) = summarize(&input)?;
    let prefix = format!("results/{}/", result.push_id);
    let pretty = |value: &Value| {
        let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
        text.push('\n');
        text.into_bytes()
    };
    let document = pretty(&serde_json::to_value(&result).unwrap_or_default());
    let images = pretty(&json!({"images": result.images}));
    let clouds = pretty(&sorted(&Value::Array(result.clouds.clone())));
    let notice_json = serde_json::to_vec(&notice).unwrap_or_default();
    for (name, body, content_type) in [
        ("result.json", document, "application/json"),
        ("images.json", images, "application/json"),
        ("clouds.json", clouds, "application/json"),
        (
            "pushitems.jsonl",
            pushitems_jsonl(&result).into_bytes(),
            "application/x-ndjson",
        ),
        ("notice.json", notice_json, "application/json"),
    ] {
        store
            .put(bucket, &format!("{prefix}{name}"), body, content_type)
            .await?;
    }
    let location = format!("s3://{bucket}/{prefix}");
    Ok(SummaryOutput {
        verdict: Verdict {
            push_id: result.push_id,
            workflow: result.workflow,
            state: result.state,
            error: result.error,
            location: location.clone(),
        },
        location,
        notice: format!("{prefix}notice.json"),
    })
}

#[cfg(test)]
mod tests;
