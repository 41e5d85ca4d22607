//! What happened to each destination, from the state machine's results: every outcome names
//! the work-list node it stands for by id. A destination takes its own outcome, else that of
//! its copy, its import or its upload (a failure caught there stands for every destination
//! below it). Nothing is matched by position.

use std::collections::HashMap;

use crate::payloads::{Outcome, Outcomes};
use crate::plan::PlanWorkflow;
use crate::plan::worklist::WorkList;
use crate::steps::StepError;

/// The outcome of every destination, in [`WorkList::leaves`] order. An outcome naming no node
/// of the work list, or a destination without one, is an error naming it.
pub fn spread<'a>(work: &WorkList, results: &'a [Outcomes]) -> Result<Vec<&'a Outcome>, StepError> {
    let by_id = by_id(work, results)?;
    work.leaves()
        .map(|leaf| {
            leaf.lineage()
                .into_iter()
                .find_map(|id| by_id.get(id).copied())
                .ok_or_else(|| {
                    StepError::invalid(format!(
                        "summary: no outcome for {} in {} ({})",
                        leaf.work.destination.destination, leaf.copy.region, leaf.work.id
                    ))
                })
        })
        .collect()
}

/// The outcome of every Azure destination, in [`WorkList::azure_leaves`] order, with the
/// VHD's sha256 its upload found: a failed upload's outcome stands for its destinations,
/// else the destination's own, else (a pre-push, which publishes nothing) the upload's.
pub fn spread_azure<'a>(
    work: &WorkList,
    results: &'a [Outcomes],
) -> Result<Vec<(&'a Outcome, Option<&'a str>)>, StepError> {
    let by_id = by_id(work, results)?;
    work.azure_leaves()
        .map(|(upload, _, d)| {
            let uploaded = by_id.get(upload.id.as_str()).copied();
            let own = by_id.get(d.id.as_str()).copied();
            let sha256 = uploaded.and_then(|u| u.sha256.as_deref());
            match (uploaded, own) {
                (Some(u), _) if u.reason().is_some() => Ok((u, sha256)),
                (_, Some(own)) => Ok((own, sha256)),
                (Some(u), None) => Ok((u, sha256)),
                (None, None) => Err(StepError::invalid(format!(
                    "summary: no outcome for {} of {} ({})",
                    d.destination.destination, d.destination.account, d.id
                ))),
            }
        })
        .collect()
}

/// The outcomes by the node they name; one naming no node is an error.
fn by_id<'a>(
    work: &WorkList,
    results: &'a [Outcomes],
) -> Result<HashMap<&'a str, &'a Outcome>, StepError> {
    let nodes = work.node_ids();
    let mut by_id: HashMap<&str, &Outcome> = HashMap::new();
    for outcome in results.iter().flat_map(Outcomes::flatten) {
        if !nodes.contains(outcome.id.as_str()) {
            return Err(StepError::invalid(format!(
                "summary: an outcome names {:?}, which is no node of the work list",
                outcome.id
            )));
        }
        by_id.entry(&outcome.id).or_insert(outcome);
    }
    Ok(by_id)
}

/// The push's state and, when it failed as a whole, why (spec §3.8, §3.11): `FAILED` when a
/// destination was not pushed, or when nothing was to be pushed (`No push item was
/// processed.`; with `workflow: all`, the reference's `both workflows were empty`).
pub fn overall(
    workflow: &str,
    work: &WorkList,
    all_pushed: bool,
) -> (&'static str, Option<String>) {
    let combined = workflow == PlanWorkflow::All.as_str();
    let empty = work.leaves().next().is_none() && work.azure_leaves().next().is_none();
    match (combined, all_pushed, empty) {
        (true, false, _) => (
            "FAILED",
            Some("Combined VM push failed: at least one workflow failed.".into()),
        ),
        (true, true, true) => (
            "FAILED",
            Some("Combined VM push failed: both workflows were empty.".into()),
        ),
        (false, _, true) => ("FAILED", Some("No push item was processed.".into())),
        (_, true, false) => ("PUSHED", None),
        (false, false, false) => ("FAILED", None),
    }
}
