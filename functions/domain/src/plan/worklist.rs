//! The state machine's work list, derived from a plan, as the tree the state machine walks:
//! each image is uploaded once per account (to the bucket of its home region); each upload is
//! imported once per billing-code set; each import's snapshot is copied once to each region
//! of its destinations; each destination (account, region, billing type) gets its AMI from
//! that copy. Every level runs its children in parallel, and a failure stops only the
//! subtree below it.
//!
//! Every node carries an id derived from its content (account, staged object, billing-code
//! set, region, destination and AMI name), the same in every run of the same push. Each step
//! echoes the id of the node it handles, and summarize and push-status find outcomes and
//! history events by these ids, never by position or function name.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::inputs::credentials::CloudProvider;
use crate::inputs::item::BuildInfo;
use crate::inputs::item::DiskFormat;
use crate::inputs::push::StagedSource;
use crate::plan::checks::blob_name;
use crate::plan::model::{Plan, PlanItem, PlannedDestination};
use crate::steps::StepError;

/// One upload: an image into the home-region bucket of an account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadWork {
    /// The node's id (`up-…`).
    pub id: String,
    /// Account alias.
    pub account: String,
    /// The home region (where the image is imported).
    pub region: String,
    /// Target bucket.
    pub bucket: String,
    /// The staged object.
    pub source_bucket: String,
    /// Its key.
    pub source_key: String,
    /// Its size in bytes.
    pub size: Option<u64>,
    /// The staged `sha256sum` of the file (as stored, compressed or not), when given.
    pub sha256: Option<String>,
    /// Disk format.
    pub format: DiskFormat,
    /// Tags of the uploaded object (awspub's source tags).
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    /// The image's build, for reports.
    #[serde(default)]
    pub build: Option<BuildInfo>,
    /// The imports of the uploaded image.
    #[serde(default)]
    pub imports: Vec<ImportWork>,
}

/// One import of an uploaded image, for one billing-code set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportWork {
    /// The node's id (`im-…`).
    pub id: String,
    /// Billing codes of the AMIs registered from the snapshot.
    pub billing_codes: Vec<String>,
    /// The snapshot of this import's name that resolve-mapping's survey found completed in the
    /// upload's region (`null`: none, or not surveyed). Always written: the state machine
    /// passes it on by path.
    #[serde(default)]
    pub surveyed: Option<String>,
    /// Whether the survey found no snapshot of this import's name at all in the upload's
    /// region (`false`: one was found, or the region was not surveyed). Always written.
    #[serde(default)]
    pub absent: bool,
    /// The snapshot's regions: one copy each (the home region's is the snapshot itself).
    pub copies: Vec<CopyWork>,
}

/// The snapshot of an import in one region, and the destinations published from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CopyWork {
    /// The node's id (`cp-…`).
    pub id: String,
    /// The region.
    pub region: String,
    /// The snapshot of the import's name that resolve-mapping's survey found completed in the
    /// region (`null`: none, or not surveyed). Always written: the state machine passes it on
    /// by path.
    #[serde(default)]
    pub surveyed: Option<String>,
    /// Whether the survey found no snapshot of the import's name at all in the region
    /// (`false`: one was found, or the region was not surveyed). Always written.
    #[serde(default)]
    pub absent: bool,
    /// The tags every destination of the copy puts on its snapshot
    /// ([`PlannedDestination::own_tags`] they have in common): the copy is created with them,
    /// so a destination registered from it tags nothing more. Empty in the upload's own
    /// region, whose snapshot is the import's. Always written.
    #[serde(default)]
    pub snapshot_tags: Vec<(String, String)>,
    /// Its destinations.
    pub destinations: Vec<DestinationWork>,
}

/// One destination: an AMI in a region from an import's snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DestinationWork {
    /// The node's id (`ds-…`).
    pub id: String,
    /// The image's source, for reports.
    pub source: String,
    /// Everything the plan says about this destination.
    pub destination: PlannedDestination,
    /// What resolve-mapping's survey found before the push (`null`: not surveyed). Always
    /// written: the state machine passes it on by path.
    #[serde(default)]
    pub surveyed: Option<Surveyed>,
}

/// What resolve-mapping's survey of a destination's account and region found before the push
/// ([`crate::steps::resolve_mapping::survey`]: one look-up for every name of a region): the
/// publish step takes it instead of looking each destination up on its own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Surveyed {
    /// The AMI of the destination's name, when there was one (`null`: there was none).
    pub image: Option<crate::ports::Image>,
    /// Whether the region's image block public access blocked new public sharing (looked up
    /// only when the destination is to become public and is not yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharing_blocked: Option<bool>,
    /// Of the accounts the destination shares its AMI with, those the found AMI grants launch
    /// permission already (looked up only when it shares with accounts alone, no organization
    /// or OU; `null`: not looked up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_users: Option<Vec<String>>,
    /// Of the destination's snapshot accounts, those the found AMI's snapshot grants
    /// create-volume permission already (`null`: not looked up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_users: Option<Vec<String>>,
}

/// One Azure upload: a VHD into the storage account of an Azure account, as a page blob.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AzureUploadWork {
    /// The node's id (`au-…`).
    pub id: String,
    /// Account alias.
    pub account: String,
    /// The container (`pubupload`).
    pub container: String,
    /// The blob: the file name without `.xz`.
    pub blob: String,
    /// The staged object.
    pub source_bucket: String,
    /// Its key.
    pub source_key: String,
    /// Its size in bytes.
    pub size: Option<u64>,
    /// The staged `sha256sum` (of the file or of its decompressed content), when given.
    pub sha256: Option<String>,
    /// The blob's index tags (the reference's provenance tags and the mapping's).
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    /// The image's build, for reports.
    #[serde(default)]
    pub build: Option<BuildInfo>,
}

/// The Azure destinations of one offer of an account, published one after another (the
/// reference's publish group `azure-<alias>-<offer>`: an offer takes one change at a time).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AzureOfferWork {
    /// The node's id (`ao-…`).
    pub id: String,
    /// Account alias.
    pub account: String,
    /// The offer.
    pub offer: String,
    /// Its destinations, in plan order.
    pub destinations: Vec<AzureDestinationWork>,
}

/// One Azure destination: a disk version of a plan, from an upload's blob.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AzureDestinationWork {
    /// The node's id (`ad-…`).
    pub id: String,
    /// The id of the upload whose blob it publishes.
    pub upload: String,
    /// That blob, in the destination's container (`bucket`).
    pub blob: String,
    /// The image's source, for reports.
    pub source: String,
    /// Everything the plan says about this destination.
    pub destination: PlannedDestination,
}

/// The work list of a push.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkList {
    /// Push id.
    pub push_id: String,
    /// Uploads, one per (account, image), with their imports, copies and destinations.
    pub uploads: Vec<UploadWork>,
    /// Azure uploads, one per (account, image).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub azure_uploads: Vec<AzureUploadWork>,
    /// Azure destinations, by offer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub azure_offers: Vec<AzureOfferWork>,
    /// What the plan skips, with reasons.
    pub skipped: Vec<crate::plan::model::Skip>,
    /// The plan's StArMap answers for marketplace destinations, by key (see
    /// [`crate::plan::MarketplaceTarget::starmap_query`]); once per entity, not per destination.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub starmap: BTreeMap<String, Value>,
    /// The version of the credentials secret the push acts with (resolve-mapping pins it; every
    /// later step reads that version), `null` without a secret. Always written: the state
    /// machine passes it on by path.
    #[serde(default)]
    pub credentials_version: Option<String>,
}

/// Step Functions' limit on a state's input or output (and on a task's payload), bytes.
pub const STATE_LIMIT_BYTES: usize = 256 * 1024;

/// What one destination's outcome adds to the state at most, bytes (an AMI's ids, or a failure
/// with its message).
pub const OUTCOME_BYTES: usize = 512;

/// What a state holds besides its work and outcomes (the request, the settings), bytes.
const STATE_OVERHEAD_BYTES: usize = 8 * 1024;

/// Step Functions' limit on the events of one execution's history.
pub const HISTORY_LIMIT_EVENTS: usize = 25_000;

/// History events one destination adds at most, an estimate (its map iteration, publish, RHSM,
/// the release or a Marketplace version, a few polls).
const EVENTS_PER_DESTINATION: usize = 40;

/// History events of an upload besides its destinations, an estimate (its parts, its imports
/// and copies with their polls).
const EVENTS_PER_UPLOAD: usize = 2_000;

/// Fails a work list an execution could not carry, naming the limit, before any side effect
/// (a push too large is refused whole instead of failing in the middle). The push's execution
/// carries only the [`crate::plan::stored::WorkIndex`] and one outcome per upload and Azure
/// destination; each upload runs as an execution of its own, whose state carries the upload's
/// subtree and its destinations' outcomes, and whose history grows with its destinations. Both
/// must stay within [`STATE_LIMIT_BYTES`] and [`HISTORY_LIMIT_EVENTS`].
pub fn check_state_size(list: &WorkList) -> Result<(), StepError> {
    for upload in &list.uploads {
        let destinations: usize = upload
            .imports
            .iter()
            .flat_map(|i| &i.copies)
            .map(|c| c.destinations.len())
            .sum();
        let work = serde_json::to_vec(upload).map_or(0, |v| v.len());
        let bytes = work + destinations * OUTCOME_BYTES + STATE_OVERHEAD_BYTES;
        let events = destinations * EVENTS_PER_DESTINATION + EVENTS_PER_UPLOAD;
        if bytes <= STATE_LIMIT_BYTES && events <= HISTORY_LIMIT_EVENTS {
            continue;
        }
        // in proportion, with a margin for the parts that do not grow with the destinations
        let per_destination = (work / destinations.max(1) + OUTCOME_BYTES).max(1);
        let by_bytes = (STATE_LIMIT_BYTES - STATE_OVERHEAD_BYTES) / per_destination;
        let by_events = (HISTORY_LIMIT_EVENTS - EVENTS_PER_UPLOAD) / EVENTS_PER_DESTINATION;
        let fits = by_bytes.min(by_events) * 95 / 100;
        return Err(StepError::invalid(format!(
            "push {}: {} for account {} has {destinations} destinations, needing about {bytes} bytes of execution state and {events} history events: over Step Functions' limits of {STATE_LIMIT_BYTES} bytes (256 KiB) per state and {HISTORY_LIMIT_EVENTS} events per execution; split it into pushes of at most {fits} destinations of an image per account",
            list.push_id, upload.source_key, upload.account
        )));
    }
    // the push's own execution: the index (an execution name is at most 80 characters)
    let index = crate::plan::stored::WorkIndex::of(list, &"x".repeat(80));
    let work = serde_json::to_vec(&index).map_or(0, |v| v.len());
    let azure = list.azure_leaves().count();
    let nodes = list.uploads.len() + azure;
    let outcomes = nodes * OUTCOME_BYTES;
    let total = work + outcomes + STATE_OVERHEAD_BYTES;
    if total <= STATE_LIMIT_BYTES {
        return Ok(());
    }
    let fits =
        nodes * (STATE_LIMIT_BYTES - STATE_OVERHEAD_BYTES) / (work + outcomes).max(1) * 95 / 100;
    Err(StepError::invalid(format!(
        "push {}: {} uploads and {} Azure destinations need about {total} bytes of execution state: over Step Functions' limit of {STATE_LIMIT_BYTES} bytes (256 KiB) per state; split it into pushes of at most {fits} images per account",
        list.push_id,
        list.uploads.len(),
        azure
    )))
}

/// A destination of the tree with the nodes above it.
pub struct Leaf<'a> {
    /// The upload.
    pub upload: &'a UploadWork,
    /// The import.
    pub import: &'a ImportWork,
    /// The copy.
    pub copy: &'a CopyWork,
    /// The destination.
    pub work: &'a DestinationWork,
}

impl Leaf<'_> {
    /// The ids of the destination and of the nodes above it, nearest first.
    pub fn lineage(&self) -> [&str; 4] {
        [
            &self.work.id,
            &self.copy.id,
            &self.import.id,
            &self.upload.id,
        ]
    }
}

impl WorkList {
    /// Every destination, depth first.
    pub fn leaves(&self) -> impl Iterator<Item = Leaf<'_>> {
        self.uploads.iter().flat_map(|upload| {
            upload.imports.iter().flat_map(move |import| {
                import.copies.iter().flat_map(move |copy| {
                    copy.destinations.iter().map(move |work| Leaf {
                        upload,
                        import,
                        copy,
                        work,
                    })
                })
            })
        })
    }

    /// The ids of every node of the tree.
    pub fn node_ids(&self) -> HashSet<&str> {
        let mut ids = HashSet::new();
        for u in &self.uploads {
            ids.insert(u.id.as_str());
            for i in &u.imports {
                ids.insert(i.id.as_str());
                for c in &i.copies {
                    ids.insert(c.id.as_str());
                    ids.extend(c.destinations.iter().map(|d| d.id.as_str()));
                }
            }
        }
        ids.extend(self.azure_uploads.iter().map(|u| u.id.as_str()));
        for o in &self.azure_offers {
            ids.insert(o.id.as_str());
            ids.extend(o.destinations.iter().map(|d| d.id.as_str()));
        }
        ids
    }

    /// Every Azure destination with its upload and offer.
    pub fn azure_leaves(
        &self,
    ) -> impl Iterator<Item = (&AzureUploadWork, &AzureOfferWork, &AzureDestinationWork)> {
        self.azure_offers.iter().flat_map(move |offer| {
            offer.destinations.iter().filter_map(move |d| {
                let upload = self.azure_uploads.iter().find(|u| u.id == d.upload)?;
                Some((upload, offer, d))
            })
        })
    }
}

/// The id of a node: a kind prefix and 12 hex digits of the sha256 of what identifies it.
fn node_id(kind: &str, parts: &[&str]) -> String {
    let digest = Sha256::digest(parts.join("\n").as_bytes());
    format!("{kind}-{}", crate::hex(&digest[..6]))
}

/// Adds an Azure destination to the work list: its account's upload of the item (once) and
/// its offer's publishes.
fn azure_work(
    list: &mut WorkList,
    item: &PlanItem,
    d: &PlannedDestination,
    source_bucket: &str,
    source_key: &str,
) -> Result<(), StepError> {
    let target = d.azure.as_ref().ok_or_else(|| {
        StepError::invalid(format!(
            "{}: {} is no Azure offer/plan destination",
            item.source, d.destination
        ))
    })?;
    let upload = match list.azure_uploads.iter().position(|u| {
        u.account == d.account && u.source_key == source_key && u.source_bucket == source_bucket
    }) {
        Some(i) => &list.azure_uploads[i],
        None => {
            list.azure_uploads.push(AzureUploadWork {
                id: node_id("au", &[&d.account, source_bucket, source_key]),
                account: d.account.clone(),
                container: d.bucket.clone(),
                blob: blob_name(&item.name).to_string(),
                source_bucket: source_bucket.to_string(),
                source_key: source_key.to_string(),
                size: item.size,
                sha256: item.sha256sum.clone(),
                tags: d
                    .tags
                    .iter()
                    .map(|(k, v)| {
                        let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                        (k.clone(), v)
                    })
                    .collect(),
                build: item.build.clone(),
            });
            list.azure_uploads.last().expect("just pushed")
        }
    };
    let (upload_id, blob) = (upload.id.clone(), upload.blob.clone());
    let offer = match list
        .azure_offers
        .iter()
        .position(|o| o.account == d.account && o.offer == target.offer)
    {
        Some(i) => &mut list.azure_offers[i],
        None => {
            list.azure_offers.push(AzureOfferWork {
                id: node_id("ao", &[&d.account, &target.offer]),
                account: d.account.clone(),
                offer: target.offer.clone(),
                destinations: Vec::new(),
            });
            list.azure_offers.last_mut().expect("just pushed")
        }
    };
    offer.destinations.push(AzureDestinationWork {
        id: node_id("ad", &[&offer.id, &upload_id, &target.plan]),
        upload: upload_id,
        blob,
        source: item.source.clone(),
        destination: d.clone(),
    });
    Ok(())
}

/// Derives the work list of a plan whose items come from `sources` (indexed by staged
/// directory label `s3://<bucket>/<prefix>`).
pub fn work_list(
    push_id: &str,
    plan: &Plan,
    sources: &[StagedSource],
) -> Result<WorkList, StepError> {
    let mut list = WorkList {
        push_id: push_id.to_string(),
        uploads: Vec::new(),
        azure_uploads: Vec::new(),
        azure_offers: Vec::new(),
        skipped: plan.skipped.clone(),
        starmap: plan.starmap.clone(),
        credentials_version: None,
    };
    for item in &plan.items {
        let source = sources
            .iter()
            .find(|s| format!("s3://{}/{}", s.bucket, s.prefix) == item.staged_dir)
            .ok_or_else(|| {
                StepError::invalid(format!(
                    "{}: not one of the push's sources",
                    item.staged_dir
                ))
            })?;
        let format = DiskFormat::of_file(&item.name).ok_or_else(|| {
            StepError::invalid(format!(
                "{}/{}: unknown disk format (raw, vmdk, vhd)",
                item.staged_dir, item.source
            ))
        })?;
        let source_key = format!("{}/{}", source.prefix, item.source);
        for d in &item.destinations {
            if d.provider == CloudProvider::Azure {
                azure_work(&mut list, item, d, &source.bucket, &source_key)?;
                continue;
            }
            let region = d.region.clone().ok_or_else(|| {
                StepError::invalid(format!("{}: {} has no region", item.source, d.destination))
            })?;
            let upload = match list.uploads.iter().position(|u| {
                u.account == d.account
                    && u.source_key == source_key
                    && u.source_bucket == source.bucket
            }) {
                Some(i) => &mut list.uploads[i],
                None => {
                    list.uploads.push(UploadWork {
                        id: node_id("up", &[&d.account, &source.bucket, &source_key]),
                        account: d.account.clone(),
                        region: region.clone(),
                        bucket: d.bucket.clone(),
                        source_bucket: source.bucket.clone(),
                        source_key: source_key.clone(),
                        size: item.size,
                        sha256: item.sha256sum.clone(),
                        format,
                        tags: vec![
                            ("awspub:source:filename".into(), item.name.clone()),
                            ("awspub:source:architecture".into(), d.architecture.clone()),
                        ],
                        build: item.build.clone(),
                        imports: Vec::new(),
                    });
                    list.uploads.last_mut().expect("just pushed")
                }
            };
            let mut codes = d
                .billing_codes
                .as_ref()
                .map(|b| b.codes.clone())
                .unwrap_or_default();
            codes.sort();
            codes.dedup();
            let import = match upload.imports.iter().position(|i| i.billing_codes == codes) {
                Some(i) => &mut upload.imports[i],
                None => {
                    upload.imports.push(ImportWork {
                        id: node_id("im", &[&upload.id, &codes.join(",")]),
                        billing_codes: codes,
                        surveyed: None,
                        absent: false,
                        copies: Vec::new(),
                    });
                    upload.imports.last_mut().expect("just pushed")
                }
            };
            let copy = match import.copies.iter().position(|c| c.region == region) {
                Some(i) => &mut import.copies[i],
                None => {
                    import.copies.push(CopyWork {
                        id: node_id("cp", &[&import.id, &region]),
                        region,
                        surveyed: None,
                        absent: false,
                        snapshot_tags: Vec::new(),
                        destinations: Vec::new(),
                    });
                    import.copies.last_mut().expect("just pushed")
                }
            };
            let name = d.ami_name.as_deref().unwrap_or(&d.image_name);
            copy.destinations.push(DestinationWork {
                id: node_id("ds", &[&copy.id, &d.account, &d.destination, name]),
                source: item.source.clone(),
                destination: d.clone(),
                surveyed: None,
            });
        }
    }
    for upload in &mut list.uploads {
        let home = upload.region.clone();
        for import in &mut upload.imports {
            for copy in import.copies.iter_mut().filter(|c| c.region != home) {
                copy.snapshot_tags = common_tags(&copy.destinations);
            }
        }
    }
    check_state_size(&list)?;
    Ok(list)
}

/// The own tags every one of `destinations` has, with the same value.
fn common_tags(destinations: &[DestinationWork]) -> Vec<(String, String)> {
    let mut each = destinations.iter().map(|w| w.destination.own_tags());
    let first = each.next().unwrap_or_default();
    let rest: Vec<Vec<(String, String)>> = each.collect();
    first
        .into_iter()
        .filter(|t| rest.iter().all(|tags| tags.contains(t)))
        .collect()
}
