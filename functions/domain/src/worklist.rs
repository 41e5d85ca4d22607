//! The state machine's work list, derived from a plan: each image is uploaded once per
//! account (to the bucket of its home region), imported once per billing-code set, and each
//! destination (account, region, billing type) gets its AMI from that snapshot, copied to its
//! region.

use serde::{Deserialize, Serialize};

use crate::import::DiskFormat;
use crate::plan::{Plan, PlannedDestination};
use crate::push::StagedSource;
use crate::step::StepError;

/// One upload: an image into the home-region bucket of an account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadWork {
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
}

/// One import: an uploaded image with one billing-code set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportWork {
    /// Account alias.
    pub account: String,
    /// Region of the import (the upload's).
    pub region: String,
    /// Index of the upload in [`WorkList::uploads`].
    pub upload: usize,
    /// Billing codes of the AMIs registered from the snapshot.
    pub billing_codes: Vec<String>,
}

/// One destination: an AMI in a region from an import's snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DestinationWork {
    /// Index of the import in [`WorkList::imports`].
    pub import: usize,
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
    /// Uploads, one per (account, image).
    pub uploads: Vec<UploadWork>,
    /// Imports, one per (account, image, billing-code set).
    pub imports: Vec<ImportWork>,
    /// Destinations, one per (account, region, billing type) of each image.
    pub destinations: Vec<DestinationWork>,
    /// What the plan skips, with reasons.
    pub skipped: Vec<crate::plan::Skip>,
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
        imports: Vec::new(),
        destinations: Vec::new(),
        skipped: plan.skipped.clone(),
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
        for d in &item.destinations {
            let region = d.region.clone().ok_or_else(|| {
                StepError::invalid(format!("{}: {} has no region", item.source, d.destination))
            })?;
            let upload = match list.uploads.iter().position(|u| {
                u.account == d.account
                    && u.source_key == format!("{}/{}", source.prefix, item.source)
                    && u.source_bucket == source.bucket
            }) {
                Some(i) => i,
                None => {
                    list.uploads.push(UploadWork {
                        account: d.account.clone(),
                        region: region.clone(),
                        bucket: d.bucket.clone(),
                        source_bucket: source.bucket.clone(),
                        source_key: format!("{}/{}", source.prefix, item.source),
                        size: item.size,
                        sha256: item.sha256sum.clone(),
                        format,
                        tags: vec![
                            ("awspub:source:filename".into(), item.name.clone()),
                            ("awspub:source:architecture".into(), d.architecture.clone()),
                        ],
                    });
                    list.uploads.len() - 1
                }
            };
            let mut codes = d
                .billing_codes
                .as_ref()
                .map(|b| b.codes.clone())
                .unwrap_or_default();
            codes.sort();
            codes.dedup();
            let import = match list
                .imports
                .iter()
                .position(|i| i.upload == upload && i.billing_codes == codes)
            {
                Some(i) => i,
                None => {
                    list.imports.push(ImportWork {
                        account: d.account.clone(),
                        region: list.uploads[upload].region.clone(),
                        upload,
                        billing_codes: codes,
                    });
                    list.imports.len() - 1
                }
            };
            list.destinations.push(DestinationWork {
                import,
                source: item.source.clone(),
                destination: d.clone(),
            });
        }
    }
    Ok(list)
}
