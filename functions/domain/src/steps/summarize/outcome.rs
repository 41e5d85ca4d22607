//! What happened to each destination, from the state machine's results: every outcome names
//! the work-list node it stands for by id. A destination takes its own outcome, else that of
//! its copy, its import or its upload (a failure caught there stands for every destination
//! below it). Nothing is matched by position.

use std::collections::HashMap;

use crate::payloads::{Outcome, Outcomes};
use crate::plan::worklist::WorkList;
use crate::steps::StepError;

/// The outcome of every destination, in [`WorkList::leaves`] order. An outcome naming no node
/// of the work list, or a destination without one, is an error naming it.
pub fn spread<'a>(work: &WorkList, results: &'a [Outcomes]) -> Result<Vec<&'a Outcome>, StepError> {
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
