//! The plan of a push: for every staged image, where it goes and under which name. It is
//! what `vmpush plan` prints and what the pipeline executes; building it has no side effects.
//!
//! [`model`] holds what a plan is made of, [`workflow`] the rules of each workflow that fill
//! it, [`naming`] and [`billing`] the names and billing codes they compute, [`checks`] the
//! clouds' rules a plan must keep, and [`worklist`] the tree the state machine walks, derived
//! from a plan.

pub mod billing;
pub mod checks;
mod model;
pub mod naming;
pub mod sharing;
pub mod stored;
mod workflow;
pub mod worklist;

pub use model::*;

use std::collections::BTreeMap;

use crate::error::Result;
use crate::inputs::credentials::CredentialSet;
use crate::inputs::item::{ImageKind, Layout, PushItem};
use crate::inputs::starmap::Resolver;
use crate::ports::StarmapServer;

/// Builds the plan of staged items: resolves mappings, expands the workflow, names images.
/// `credentials`, when given, must hold every account the plan uses. With
/// [`PlanWorkflow::All`] every item is expanded by both workflows, marketplace destinations
/// first; each workflow reports its own skips.
pub async fn build_plan<S: StarmapServer>(
    items: Vec<PushItem>,
    resolver: &mut Resolver<S>,
    credentials: Option<&CredentialSet>,
    options: &PlanOptions,
) -> Result<Plan> {
    let mut plan = Plan {
        workflow: options.workflow,
        items: Vec::new(),
        skipped: Vec::new(),
        warnings: Vec::new(),
        starmap: BTreeMap::new(),
    };
    for item in items {
        let mut destinations = Vec::new();
        for &workflow in options.workflow.parts() {
            let Some(expansion) =
                expand(&item, workflow, resolver, credentials, options, &mut plan).await?
            else {
                continue;
            };
            plan.skipped.extend(expansion.skipped);
            plan.warnings.extend(expansion.warnings);
            if expansion.destinations.is_empty() {
                if let Some(reason) = expansion.no_destination_reason {
                    plan.skipped.push(skip_of(&item, reason));
                }
            }
            destinations.extend(expansion.destinations);
        }
        if destinations.is_empty() {
            continue;
        }
        if let Some(set) = credentials.filter(|c| !c.is_empty()) {
            for d in &destinations {
                set.get(&d.account)?;
            }
        }
        plan.items.push(PlanItem {
            source: item.source.clone(),
            name: item.name.clone(),
            staged_dir: item.staged_dir.clone(),
            layout: item.layout,
            sha256sum: item.sha256sum.clone(),
            size: item.size,
            build: item.build_info.clone(),
            destinations,
        });
    }
    checks::check_plan(&plan)?;
    Ok(plan)
}

/// A skip of the whole item.
fn skip_of(item: &PushItem, reason: String) -> Skip {
    Skip {
        source: item.source.clone(),
        destination: None,
        reason,
    }
}

/// One item under one single workflow; `None` (with the skip recorded) when that workflow
/// has nothing for it. A marketplace entity is recorded in the plan's StArMap answers, which
/// its destinations name (`clouds.json` echoes it as `starmap_query`).
async fn expand<S: StarmapServer>(
    item: &PushItem,
    workflow: PlanWorkflow,
    resolver: &mut Resolver<S>,
    credentials: Option<&CredentialSet>,
    options: &PlanOptions,
    plan: &mut Plan,
) -> Result<Option<workflow::Expansion>> {
    let expansion = match (item.layout, item.kind, workflow) {
        (Layout::AwsImages, _, PlanWorkflow::Marketplace)
            if options.workflow == PlanWorkflow::All =>
        {
            return Ok(None);
        }
        (Layout::AwsImages, _, PlanWorkflow::Marketplace) => {
            plan.skipped.push(skip_of(item, "AWS_IMAGES items carry their own region and type and are pushed by the community workflow; the marketplace workflow needs CLOUD_IMAGES".into()));
            return Ok(None);
        }
        (Layout::AwsImages, _, _) => workflow::ami_push::expand(item, credentials, options)?,
        (Layout::CloudImages, ImageKind::Vhd, PlanWorkflow::Community) => {
            plan.skipped.push(skip_of(
                item,
                format!(
                    "Push Item {} at {} is not an AmiPushItem, dropping it from the queue.",
                    item.name, item.source
                ),
            ));
            return Ok(None);
        }
        (Layout::CloudImages, kind, _) => {
            let build = item
                .build_info
                .as_ref()
                .expect("CLOUD_IMAGES items have a build");
            let cloud = match kind {
                ImageKind::Ami => "aws",
                ImageKind::Vhd => "azure",
            };
            let name = match item.attributes.marketplace_name.as_deref() {
                Some(mn) if workflow == PlanWorkflow::Marketplace => {
                    format!("{}-{mn}", build.name)
                }
                _ => build.name.clone(),
            };
            let starmap = workflow.starmap().expect("a single workflow");
            let Some(entity) = resolver
                .lookup(&name, Some(&build.version), starmap, cloud)
                .await?
            else {
                plan.skipped.push(skip_of(
                    item,
                    format!(
                        "No {} mappings found for {name} on cloud {cloud}",
                        workflow.as_str()
                    ),
                ));
                return Ok(None);
            };
            match workflow {
                PlanWorkflow::Marketplace => {
                    let key = format!("{}/{}/{}", entity.name, starmap.as_str(), entity.cloud);
                    plan.starmap
                        .entry(key.clone())
                        .or_insert_with(|| entity.starmap_query());
                    workflow::marketplace::expand(item, &entity, &key, credentials, options)?
                }
                _ => workflow::community::expand(item, &entity, credentials, options)?,
            }
        }
    };
    Ok(Some(expansion))
}
