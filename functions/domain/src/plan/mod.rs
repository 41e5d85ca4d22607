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
mod workflow;
pub mod worklist;

pub use model::*;

use crate::error::Result;
use crate::inputs::credentials::CredentialSet;
use crate::inputs::item::{ImageKind, Layout, PushItem};
use crate::inputs::starmap::Resolver;
use crate::ports::StarmapServer;

/// Builds the plan of staged items: resolves mappings, expands the workflow, names images.
/// `credentials`, when given, must hold every account the plan uses.
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
    };
    for item in items {
        let skip = |reason: String| Skip {
            source: item.source.clone(),
            destination: None,
            reason,
        };
        let expansion = match (item.layout, item.kind, options.workflow) {
            (Layout::AwsImages, _, PlanWorkflow::Community) => {
                workflow::ami_push::expand(&item, credentials, options)?
            }
            (Layout::AwsImages, _, PlanWorkflow::Marketplace) => {
                plan.skipped.push(skip("AWS_IMAGES items carry their own region and type and are pushed by the community workflow; the marketplace workflow needs CLOUD_IMAGES".into()));
                continue;
            }
            (Layout::CloudImages, ImageKind::Vhd, PlanWorkflow::Community) => {
                plan.skipped.push(skip(format!(
                    "Push Item {} at {} is not an AmiPushItem, dropping it from the queue.",
                    item.name, item.source
                )));
                continue;
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
                    Some(mn) if options.workflow == PlanWorkflow::Marketplace => {
                        format!("{}-{mn}", build.name)
                    }
                    _ => build.name.clone(),
                };
                let workflow = options.workflow.starmap();
                let Some(entity) = resolver
                    .lookup(&name, Some(&build.version), workflow, cloud)
                    .await?
                else {
                    let kind_name = match options.workflow {
                        PlanWorkflow::Community => "community",
                        PlanWorkflow::Marketplace => "marketplace",
                    };
                    plan.skipped.push(skip(format!(
                        "No {kind_name} mappings found for {name} on cloud {cloud}"
                    )));
                    continue;
                };
                match options.workflow {
                    PlanWorkflow::Community => {
                        workflow::community::expand(&item, &entity, credentials, options)?
                    }
                    PlanWorkflow::Marketplace => {
                        workflow::marketplace::expand(&item, &entity, credentials, options)?
                    }
                }
            }
        };
        plan.skipped.extend(expansion.skipped);
        plan.warnings.extend(expansion.warnings);
        if expansion.destinations.is_empty() {
            if let Some(reason) = expansion.no_destination_reason {
                plan.skipped.push(skip(reason));
            }
            continue;
        }
        if let Some(set) = credentials.filter(|c| !c.is_empty()) {
            for d in &expansion.destinations {
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
            destinations: expansion.destinations,
        });
    }
    checks::check_plan(&plan)?;
    Ok(plan)
}
