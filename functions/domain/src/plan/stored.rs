//! The work list kept in the results bucket, so that a push of any size crosses Step Functions
//! as references: resolve-mapping stores the whole list and each upload's subtree under
//! `results/<push id>/runs/<execution name>/` and returns the [`WorkIndex`]; each upload runs as
//! an execution of its own (`statemachine/upload.asl.json`: its history holds only its own
//! events), which reads its subtree and writes its outcomes beside it; summarize and
//! push-status read them back by upload id. One execution's documents never mix with
//! another's: every key carries the execution's name.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::payloads::Outcomes;
use crate::plan::worklist::{AzureOfferWork, AzureUploadWork, WorkList};
use crate::ports::{ObjectReader, ObjectWriter};
use crate::steps::StepError;

/// The stored documents are read up to this size.
const MAX_STORED_BYTES: u64 = 64 << 20;

/// What resolve-mapping returns: where the work list is, and one small reference per upload.
/// Azure work stays inline (one node per image and account, one per offer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkIndex {
    /// Push id.
    pub push_id: String,
    /// The key of the whole [`WorkList`] in the results bucket.
    pub stored: String,
    /// The uploads, in work-list order.
    pub uploads: Vec<UploadRef>,
    /// Azure uploads, one per (account, image).
    #[serde(default)]
    pub azure_uploads: Vec<AzureUploadWork>,
    /// Azure destinations, by offer.
    #[serde(default)]
    pub azure_offers: Vec<AzureOfferWork>,
    /// The pinned version of the credentials secret (see [`WorkList::credentials_version`]).
    /// Always written: the state machine passes it on by path.
    #[serde(default)]
    pub credentials_version: Option<String>,
}

/// One upload of the work list, as the push state machine hands it to its own execution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadRef {
    /// The upload's node id (`up-…`).
    pub id: String,
    /// The key of its subtree (an [`crate::plan::worklist::UploadWork`]).
    pub work: String,
    /// The name of the execution that runs it ([`flow_name`]).
    pub execution: String,
    /// The key its execution writes the subtree's outcomes to.
    pub outcomes: String,
}

/// `results/<push id>/runs/<execution name>/`: where an execution's work and outcomes are kept.
pub fn run_prefix(push_id: &str, execution_name: &str) -> String {
    format!("results/{push_id}/runs/{execution_name}/")
}

/// The name of the execution running upload `upload_id` of the execution `execution_name`:
/// the id and 16 hex digits of the sha256 of the push's execution name (at most 32
/// characters, the same on every retry, distinct across pushes).
pub fn flow_name(upload_id: &str, execution_name: &str) -> String {
    let digest = Sha256::digest(execution_name.as_bytes());
    format!("{upload_id}-{}", crate::hex(&digest[..8]))
}

impl WorkIndex {
    /// The index of `list` for the execution `execution_name`.
    pub fn of(list: &WorkList, execution_name: &str) -> WorkIndex {
        let prefix = run_prefix(&list.push_id, execution_name);
        WorkIndex {
            push_id: list.push_id.clone(),
            stored: format!("{prefix}work.json"),
            uploads: list
                .uploads
                .iter()
                .map(|u| UploadRef {
                    id: u.id.clone(),
                    work: format!("{prefix}uploads/{}.json", u.id),
                    execution: flow_name(&u.id, execution_name),
                    outcomes: format!("{prefix}outcomes/{}.json", u.id),
                })
                .collect(),
            azure_uploads: list.azure_uploads.clone(),
            azure_offers: list.azure_offers.clone(),
            credentials_version: list.credentials_version.clone(),
        }
    }
}

/// Stores `list` for the execution `execution_name` in `bucket` (each upload's subtree, then
/// the whole list) and returns its index. Writing the same list again writes the same
/// documents.
pub async fn store<W: ObjectWriter>(
    writer: &W,
    bucket: &str,
    list: &WorkList,
    execution_name: &str,
) -> Result<WorkIndex, StepError> {
    let index = WorkIndex::of(list, execution_name);
    for (upload, reference) in list.uploads.iter().zip(&index.uploads) {
        writer
            .put(bucket, &reference.work, json(upload)?, "application/json")
            .await?;
    }
    writer
        .put(bucket, &index.stored, json(list)?, "application/json")
        .await?;
    Ok(index)
}

/// The work list an index names.
pub async fn load<R: ObjectReader>(
    reader: &R,
    bucket: &str,
    index: &WorkIndex,
) -> Result<WorkList, StepError> {
    read(reader, bucket, &index.stored).await
}

/// The outcomes an upload's execution wrote (the upload flow's results, as
/// [`crate::payloads::SummaryInput::outcomes`] nests them).
pub async fn load_outcomes<R: ObjectReader>(
    reader: &R,
    bucket: &str,
    key: &str,
) -> Result<Outcomes, StepError> {
    read(reader, bucket, key).await
}

async fn read<R: ObjectReader, T: serde::de::DeserializeOwned>(
    reader: &R,
    bucket: &str,
    key: &str,
) -> Result<T, StepError> {
    let bytes = reader.read_small(bucket, key, MAX_STORED_BYTES).await?;
    serde_json::from_slice(&bytes).map_err(|e| {
        StepError::invalid(format!(
            "s3://{bucket}/{key}: not a stored work document: {e}"
        ))
    })
}

fn json<T: Serialize>(value: &T) -> Result<Vec<u8>, StepError> {
    serde_json::to_vec(value)
        .map_err(|e| StepError::invalid(format!("work list: cannot be written as JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::memory::MemoryObjects;

    fn list() -> WorkList {
        serde_json::from_value(serde_json::json!({
            "push_id": "p1", "skipped": [], "credentials_version": "v1",
            "uploads": [
                {"id": "up-000000000001", "account": "a", "region": "us-east-1", "bucket": "b",
                 "source_bucket": "s", "source_key": "k1", "size": 1, "sha256": null,
                 "format": "raw", "imports": []},
                {"id": "up-000000000002", "account": "a", "region": "us-east-1", "bucket": "b",
                 "source_bucket": "s", "source_key": "k2", "size": 1, "sha256": null,
                 "format": "raw", "imports": []}]}))
        .unwrap()
    }

    #[tokio::test]
    async fn the_list_and_each_upload_are_stored_under_the_execution_and_read_back() {
        let objects = MemoryObjects::default();
        let list = list();
        let index = store(&objects, "results", &list, "p1-0a1b2c3d")
            .await
            .unwrap();
        let prefix = "results/p1/runs/p1-0a1b2c3d/";
        assert_eq!(index.stored, format!("{prefix}work.json"));
        assert_eq!(index.credentials_version.as_deref(), Some("v1"));
        let first = &index.uploads[0];
        assert_eq!(first.id, "up-000000000001");
        assert_eq!(first.work, format!("{prefix}uploads/up-000000000001.json"));
        assert_eq!(
            first.outcomes,
            format!("{prefix}outcomes/up-000000000001.json")
        );
        assert_eq!(first.execution, flow_name("up-000000000001", "p1-0a1b2c3d"));
        let mut keys = objects.keys("results");
        keys.sort();
        assert_eq!(
            keys,
            [
                format!("{prefix}uploads/up-000000000001.json"),
                format!("{prefix}uploads/up-000000000002.json"),
                format!("{prefix}work.json"),
            ]
        );
        assert_eq!(load(&objects, "results", &index).await.unwrap(), list);
        let stored = objects.read_small("results", &first.work, 1 << 20).await;
        let upload: crate::plan::worklist::UploadWork =
            serde_json::from_slice(&stored.unwrap()).unwrap();
        assert_eq!(upload, list.uploads[0]);
    }

    #[test]
    fn flow_names_are_short_stable_and_distinct_per_push() {
        let a = flow_name("up-000000000001", "p1-0a1b2c3d");
        assert_eq!(a, flow_name("up-000000000001", "p1-0a1b2c3d"));
        assert_ne!(a, flow_name("up-000000000001", "p2-0a1b2c3d"));
        assert!(a.starts_with("up-000000000001-"), "{a}");
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    }

    #[tokio::test]
    async fn a_document_that_is_not_a_work_list_is_an_error_naming_it() {
        let objects = MemoryObjects::with("results", "results/p1/runs/x/work.json", b"{}");
        let index = WorkIndex::of(&list(), "x");
        let err = load(&objects, "results", &index).await.unwrap_err();
        assert!(
            err.message.starts_with(
                "s3://results/results/p1/runs/x/work.json: not a stored work document"
            ),
            "{err}"
        );
    }
}
