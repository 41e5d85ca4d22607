//! Resolving a push: staged trees (the same parser as `vmpush plan`, over an S3 listing) →
//! StArMap → the workflow's plan → the RHSM pre-check (spec §3.5.5: every destination that
//! updates RHSM must find its image group for its provider), before any side effect → the
//! work list of uploads, imports, copies and destinations → the survey of what exists of it
//! ([`survey`]). Nothing here writes anywhere; the function then stores the work list in the
//! results bucket and returns its index ([`crate::plan::stored`]).

use crate::inputs::credentials::CredentialSet;
use crate::inputs::push::{Push, StarmapMode};
use crate::inputs::staged::read_staged;
use crate::inputs::starmap::{Resolver, decode_entities};
use crate::plan::worklist::{WorkList, work_list};
use crate::plan::{Plan, PlanOptions, build_plan};
use crate::ports::Rhsm;
use crate::ports::StagedTrees;
use crate::ports::StarmapServer;
use crate::ports::Surveys;
use crate::steps::StepError;
use tracing::info;

pub mod survey;

/// What resolving needs besides the push.
pub struct Context<'a, T, R, S, V> {
    /// Staged trees.
    pub trees: &'a T,
    /// RHSM, when configured.
    pub rhsm: Option<&'a R>,
    /// The StArMap server for online and hybrid pushes.
    pub starmap: Option<S>,
    /// Credentials (`CLOUD_CREDENTIALS`), when given.
    pub credentials: Option<&'a CredentialSet>,
    /// `COMMUNITY_PUSH_REQUIRE_BILLING_CODES`.
    pub require_billing_codes: bool,
    /// The accounts' regions, to survey what exists ([`survey`]); none: each step looks
    /// itself up.
    pub surveys: Option<&'a V>,
}

/// Resolves a push into its work list.
pub async fn run<T: StagedTrees, R: Rhsm, S: StarmapServer, V: Surveys>(
    push: &Push,
    context: Context<'_, T, R, S, V>,
) -> Result<WorkList, StepError> {
    let mut items = Vec::new();
    for source in &push.sources {
        let tree = context
            .trees
            .staged_tree(&source.bucket, &source.prefix)
            .await?;
        items.extend(read_staged(&tree)?.items);
    }
    let request = &push.request;
    let local = match &request.starmap.repo {
        Some(repo) => decode_entities("starmap.repo", &serde_json::Value::Array(repo.clone()))?,
        None => Vec::new(),
    };
    let server = match request.starmap.mode {
        StarmapMode::Offline => None,
        StarmapMode::Online | StarmapMode::Hybrid => context.starmap,
    };
    let mut resolver = Resolver::new(local, server);
    let mut options = PlanOptions {
        workflow: request.workflow,
        beta: request.beta,
        require_billing_codes: context.require_billing_codes,
        ..PlanOptions::default()
    };
    if let Some(prefix) = &request.container_prefix {
        options.container_prefix = prefix.clone();
    }
    let plan = build_plan(items, &mut resolver, context.credentials, &options).await?;
    if plan
        .items
        .iter()
        .flat_map(|i| &i.destinations)
        .any(|d| d.rhsm_product.is_some())
    {
        let rhsm = context.rhsm.ok_or_else(|| {
            StepError::invalid("RHSM URL not provided for the RHSM client (VMPUSH_RHSM_URL)")
        })?;
        precheck(&plan, &rhsm.image_groups().await?)?;
    }
    let mut list = work_list(&push.push_id, &plan, &push.sources)?;
    if let Some(surveys) = context.surveys {
        survey::survey(surveys, &mut list, request.pre_push).await;
    }
    info!(push_id = %push.push_id, uploads = list.uploads.len(),
          destinations = list.leaves().count(), azure_uploads = list.azure_uploads.len(),
          azure_destinations = list.azure_leaves().count(), skipped = list.skipped.len(), "work list");
    Ok(list)
}

/// Fails, naming every missing product, when a destination's RHSM product is not in RHSM.
pub fn precheck(plan: &Plan, groups: &[(String, String)]) -> Result<(), StepError> {
    let mut missing: Vec<String> = Vec::new();
    for item in &plan.items {
        for d in &item.destinations {
            let (Some(product), Some(provider)) = (&d.rhsm_product, &d.rhsm_provider) else {
                continue;
            };
            if !groups.iter().any(|(n, p)| n == product && p == provider) {
                let line = format!(
                    "Product not in RHSM: {product} (provider {provider}) for {} at {}",
                    item.source, d.destination
                );
                if !missing.contains(&line) {
                    missing.push(line);
                }
            }
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(StepError::invalid(format!(
            "Pre-push verification of push items in metadata service failed: {}",
            missing.join("; ")
        )))
    }
}

#[cfg(test)]
mod tests;
