//! The survey: what already exists of a push, looked up once per account and region for every
//! destination there (one `DescribeImages` for all their AMI names, paginated, one
//! `DescribeSnapshots` for all their snapshot names where the staged `sha256sum` gives them,
//! and one image block public access state where an image is still to become public), instead
//! of once per destination by each publish, import and copy. A snapshot found completed is
//! taken by its import or copy without a look-up, and an upload whose every snapshot was found
//! uploads nothing; one found absent (no snapshot of the name at all, pending or completed) is
//! started by its import or copy without a look-up on the step's first attempt (a retried
//! attempt looks again: the first may have started it). Where AMIs were found, their permissions are read in batches
//! too: one `DescribeImages` (`ExecutableUsers`) per account they are to be shared with, one
//! `DescribeSnapshots` (`RestorableByUserIds`) per snapshot account, so a re-push reads no
//! attribute destination by destination. Each destination carries what was found
//! ([`Surveyed`]); publish trusts an absent AMI only as far as `RegisterImage`'s duplicate
//! check does and verifies a found one against its snapshot, so a stale finding never makes a
//! second AMI or takes another image's; a permission found missing is added (adding one
//! present already changes nothing).
//!
//! The survey only saves calls: a region whose look-up fails (a denied call, throttling past
//! the SDK's retries) is logged and its destinations look themselves up, as without a survey.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::stream::{self, StreamExt};
use tracing::{info, warn};

use crate::plan::sharing;
use crate::plan::worklist::{DestinationWork, Surveyed, UploadWork, WorkList};
use crate::ports::{Image, RegionSurvey, SnapshotState, Surveys};
use crate::steps::StepError;
use crate::steps::import_snapshot::snapshot_name;
use crate::steps::upload::staged_sha256;

/// Regions surveyed at a time.
const CONCURRENCY: usize = 8;

/// The destinations of one account and region: their AMI names, those to become public, and
/// the accounts their AMIs and snapshots are to be shared with.
#[derive(Default)]
struct Group {
    names: BTreeSet<String>,
    snapshot_names: BTreeSet<String>,
    to_release: BTreeSet<String>,
    launch_users: BTreeSet<String>,
    volume_users: BTreeSet<String>,
}

/// What one account and region holds: its AMIs by name, whether it blocks public sharing, and
/// by account the found AMIs it may launch and the found snapshots it may restore.
struct Findings {
    images: BTreeMap<String, Vec<Image>>,
    snapshots: BTreeMap<String, Vec<SnapshotState>>,
    blocked: Option<bool>,
    launchable: BTreeMap<String, BTreeSet<String>>,
    restorable: BTreeMap<String, BTreeSet<String>>,
}

/// The snapshot names of an upload's imports (by billing-code set), when the staged
/// `sha256sum` gives them.
fn snapshot_names(upload: &UploadWork) -> Option<Vec<String>> {
    let sha = staged_sha256("", upload.sha256.as_deref()).ok()??;
    Some(
        upload
            .imports
            .iter()
            .map(|i| snapshot_name(&sha, &i.billing_codes))
            .collect(),
    )
}

/// The one snapshot of `name` (pending or completed) a region holds, when it is completed.
fn completed(findings: Option<&Findings>, name: &str) -> Option<String> {
    match findings?.snapshots.get(name)?.as_slice() {
        [one] if one.state == "completed" => Some(one.id.clone()),
        _ => None,
    }
}

/// Whether a surveyed region holds no snapshot of `name` at all (`false` where the region
/// was not surveyed).
fn absent(findings: Option<&Findings>, name: &str) -> bool {
    findings.is_some_and(|f| f.snapshots.get(name).is_none_or(Vec::is_empty))
}

/// The accounts a destination shares its AMI with, when it shares with accounts alone (an
/// organization or OU is not told by `ExecutableUsers`: publish reads those itself), and its
/// snapshot accounts; `None` where the plan's entries are invalid (publish reports them).
fn shares_of(work: &DestinationWork) -> (Option<Vec<String>>, Option<Vec<String>>) {
    let d = &work.destination;
    let partition = d.partition.as_deref().unwrap_or("aws");
    let launch = sharing::launch_permissions(&d.sharing_accounts, &d.groups, partition)
        .ok()
        .filter(|p| p.accounts_only())
        .map(|p| p.users);
    let volume = sharing::snapshot_accounts(&d.snapshot_accounts, partition).ok();
    (launch, volume)
}

/// Surveys every (account, region) of the work list's AWS destinations and records what each
/// destination's region holds of it. `pre_push`: nothing becomes public.
pub async fn survey<S: Surveys>(surveys: &S, list: &mut WorkList, pre_push: bool) {
    let mut groups: BTreeMap<(String, String), Group> = BTreeMap::new();
    for upload in &list.uploads {
        let Some(names) = snapshot_names(upload) else {
            continue;
        };
        let mut regions: BTreeSet<&String> = BTreeSet::from([&upload.region]);
        for import in &upload.imports {
            regions.extend(import.copies.iter().map(|c| &c.region));
        }
        for region in regions {
            groups
                .entry((upload.account.clone(), region.clone()))
                .or_default()
                .snapshot_names
                .extend(names.iter().cloned());
        }
    }
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
        let (launch, volume) = shares_of(leaf.work);
        group.launch_users.extend(launch.unwrap_or_default());
        group.volume_users.extend(volume.unwrap_or_default());
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
        let names = snapshot_names(upload).unwrap_or_default();
        let account = upload.account.clone();
        let home = found.get(&(account.clone(), upload.region.clone()));
        for (import, name) in upload.imports.iter_mut().zip(&names) {
            import.surveyed = completed(home, name);
            import.absent = absent(home, name);
            for copy in &mut import.copies {
                let there = found.get(&(account.clone(), copy.region.clone()));
                copy.surveyed = completed(there, name);
                copy.absent = absent(there, name);
            }
        }
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
                    let (launch, volume) = shares_of(work);
                    // who of `wanted` the found AMI (or its snapshot) grants already
                    let granted = |wanted: Option<Vec<String>>,
                                   by_user: &BTreeMap<String, BTreeSet<String>>,
                                   id: Option<&String>| {
                        let (wanted, id) = (wanted?, id?);
                        Some(
                            wanted
                                .into_iter()
                                .filter(|u| by_user.get(u).is_some_and(|ids| ids.contains(id)))
                                .collect::<Vec<_>>(),
                        )
                    };
                    let launch_users =
                        granted(launch, &findings.launchable, image.as_ref().map(|i| &i.id));
                    let volume_users = granted(
                        volume,
                        &findings.restorable,
                        image.as_ref().and_then(|i| i.snapshot_id.as_ref()),
                    );
                    work.surveyed = Some(Surveyed {
                        image,
                        sharing_blocked: findings.blocked.filter(|_| !public),
                        launch_users,
                        volume_users,
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

/// One account and region: its AMIs of the group's names; when an image is to become public
/// that is not yet, whether the region blocks public sharing; and, of the AMIs found, which
/// each sharing account may launch and which snapshots each snapshot account may restore.
async fn look<S: Surveys>(
    surveys: &S,
    account: &str,
    region: &str,
    group: &Group,
) -> Result<Findings, StepError> {
    let survey = surveys.region(account, region).await?;
    let names: Vec<String> = group.names.iter().cloned().collect();
    let mut images: BTreeMap<String, Vec<Image>> = BTreeMap::new();
    if !names.is_empty() {
        for (name, image) in survey.images_named(&names).await? {
            if group.names.contains(&name) {
                images.entry(name).or_default().push(image);
            }
        }
    }
    // every region's snapshots: one call for all the names, where each import and copy would
    // look its own up
    let snapshot_names: Vec<String> = group.snapshot_names.iter().cloned().collect();
    let mut snapshots: BTreeMap<String, Vec<SnapshotState>> = BTreeMap::new();
    if !snapshot_names.is_empty() {
        for (name, snapshot) in survey.snapshots_named(&snapshot_names).await? {
            if group.snapshot_names.contains(&name) {
                snapshots.entry(name).or_default().push(snapshot);
            }
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
    let found: Vec<&Image> = images.values().flatten().collect();
    let image_ids: Vec<String> = found.iter().map(|i| i.id.clone()).collect();
    let snapshot_ids: Vec<String> = found
        .iter()
        .filter_map(|i| i.snapshot_id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut launchable = BTreeMap::new();
    if !image_ids.is_empty() {
        for user in &group.launch_users {
            let ids = survey.launchable_by(&image_ids, user).await?;
            launchable.insert(user.clone(), ids.into_iter().collect());
        }
    }
    let mut restorable = BTreeMap::new();
    if !snapshot_ids.is_empty() {
        for user in &group.volume_users {
            let ids = survey.restorable_by(&snapshot_ids, user).await?;
            restorable.insert(user.clone(), ids.into_iter().collect());
        }
    }
    Ok(Findings {
        images,
        snapshots,
        blocked,
        launchable,
        restorable,
    })
}
