//! The survey: what already exists of a push, looked up once per account and region for every
//! destination there (one `DescribeImages` for all their AMI names, paginated, and one image
//! block public access state where an image is still to become public), instead of once per
//! destination by each publish. Each destination carries what was found
//! ([`Surveyed`]); publish trusts an absent AMI only as far as `RegisterImage`'s duplicate
//! check does and verifies a found one against its snapshot, so a stale finding never makes a
//! second AMI or takes another image's.
//!
//! The survey only saves calls: a region whose look-up fails (a denied call, throttling past
//! the SDK's retries) is logged and its destinations look themselves up, as without a survey.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::stream::{self, StreamExt};
use tracing::{info, warn};

use crate::plan::sharing;
use crate::plan::worklist::{Surveyed, WorkList};
use crate::ports::{Image, RegionSurvey, Surveys};
use crate::steps::StepError;

/// Regions surveyed at a time.
const CONCURRENCY: usize = 8;

/// The destinations of one account and region: their AMI names, and those to become public.
#[derive(Default)]
struct Group {
    names: BTreeSet<String>,
    to_release: BTreeSet<String>,
}

/// What one account and region holds.
struct Findings {
    images: BTreeMap<String, Vec<Image>>,
    blocked: Option<bool>,
}

/// Surveys every (account, region) of the work list's AWS destinations and records what each
/// destination's region holds of it. `pre_push`: nothing becomes public.
pub async fn survey<S: Surveys>(surveys: &S, list: &mut WorkList, pre_push: bool) {
    let mut groups: BTreeMap<(String, String), Group> = BTreeMap::new();
    for leaf in list.leaves() {
        let d = &leaf.work.destination;
        let (Some(name), Some(region)) = (&d.ami_name, &d.region) else {
            continue;
        };
        let group = groups
            .entry((d.account.clone(), region.clone()))
            .or_default();
        group.names.insert(name.clone());
        if !pre_push && (d.public || sharing::groups_make_public(&d.groups)) {
            group.to_release.insert(name.clone());
        }
    }
    let found: BTreeMap<(String, String), Findings> = stream::iter(groups)
        .map(|(key, group)| async move {
            let result = look(surveys, &key.0, &key.1, &group).await;
            (key, result)
        })
        .buffer_unordered(CONCURRENCY)
        .filter_map(|((account, region), result)| async move {
            match result {
                Ok(findings) => Some(((account, region), findings)),
                Err(e) => {
                    warn!(%account, %region, error = %e, "survey failed; its destinations look themselves up");
                    None
                }
            }
        })
        .collect()
        .await;
    let mut surveyed = 0;
    for upload in &mut list.uploads {
        for import in &mut upload.imports {
            for copy in &mut import.copies {
                for work in &mut copy.destinations {
                    let d = &work.destination;
                    let (Some(name), Some(region)) = (&d.ami_name, &d.region) else {
                        continue;
                    };
                    let Some(findings) = found.get(&(d.account.clone(), region.clone())) else {
                        continue;
                    };
                    let image = match findings.images.get(name).map(Vec::as_slice) {
                        None | Some([]) => None,
                        Some([one]) => Some(one.clone()),
                        // several of the name: publish reports the conflict itself
                        Some(_) => continue,
                    };
                    let public = image.as_ref().is_some_and(|i| i.public);
                    work.surveyed = Some(Surveyed {
                        image,
                        sharing_blocked: findings.blocked.filter(|_| !public),
                    });
                    surveyed += 1;
                }
            }
        }
    }
    info!(
        regions = found.len(),
        destinations = surveyed,
        "surveyed what exists"
    );
}

/// One account and region: its AMIs of the group's names, and, when an image is to become
/// public that is not yet, whether the region blocks public sharing.
async fn look<S: Surveys>(
    surveys: &S,
    account: &str,
    region: &str,
    group: &Group,
) -> Result<Findings, StepError> {
    let survey = surveys.region(account, region).await?;
    let names: Vec<String> = group.names.iter().cloned().collect();
    let mut images: BTreeMap<String, Vec<Image>> = BTreeMap::new();
    for (name, image) in survey.images_named(&names).await? {
        if group.names.contains(&name) {
            images.entry(name).or_default().push(image);
        }
    }
    let unreleased = group
        .to_release
        .iter()
        .any(|name| !matches!(images.get(name).map(Vec::as_slice), Some([one]) if one.public));
    let blocked = if unreleased {
        Some(survey.sharing_blocked().await?)
    } else {
        None
    };
    Ok(Findings { images, blocked })
}
