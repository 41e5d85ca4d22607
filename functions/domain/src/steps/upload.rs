//! Uploading a staged image into the bucket an account imports it from, once.
//!
//! The object key is the staged `sha256sum` (awspub's content address), else the file's
//! sha256, recorded as the object's `sha256` metadata: an object carrying it is never uploaded
//! again. Otherwise
//! the bucket is ensured (race-safe), the oldest unfinished multipart upload of the key is
//! resumed (found by paginated listings, so a crashed or timed-out invocation loses nothing)
//! or one is started, tagged at creation, and the parts that are missing are sent:
//!
//! * `.xz` files are decompressed while streaming, part by part, with at most
//!   [`Tuning::in_flight_bytes`] of parts in memory whatever the image size; the sha256 of the
//!   file and of its decompressed content are computed on the way, and the staged `sha256sum`
//!   must be one of them (stagings write either) before anything is completed. A
//!   resumed stream re-reads the parts already stored (no re-upload): each is reused only when
//!   its size and checksum (SHA-256, else the MD5 ETag) equal the local chunk's;
//! * other files are copied server-side (`UploadPartCopy`), after reading the file once to
//!   verify (or compute) its sha256, so a wrong `sha256sum` fails before anything is created;
//!   every copy, in this invocation or a continuation, is made only from the version that was
//!   verified (its ETag), so a file replaced meanwhile fails the upload (aborted) instead of
//!   being stored under the old checksum.
//!
//! An upload all of whose snapshots resolve-mapping's survey found (by the names the staged
//! `sha256sum` gives them) sends and reads nothing: the object would only be imported again.
//!
//! An invocation stops sending parts at its deadline (or after `max_parts`) and returns a
//! continuation; the state machine loops until `done`. A mismatching checksum aborts the upload:
//! no object is ever completed from bytes that are not the staged file's.

mod parts;
mod source;

use std::time::Instant;

use tokio::task::{JoinError, JoinSet};
use tracing::info;

use crate::payloads::{Continuation, PartCounts, UploadInput, UploadOutput, UploadStatus};
use crate::plan::worklist::UploadWork;
use crate::ports::{DonePart, Multipart, NewObject, ObjectStore, SourceObject, StoredPart};
use crate::steps::{ErrorKind, StepError};
pub use parts::{ChunkDigest, MAX_PARTS, Tuning};
pub use source::{Source, Sums, hash_file};

/// The tag carrying the source sha256 (awspub's tag set).
pub const SHA256_TAG: &str = "awspub:source:sha256";

/// `tags` with `key` set to `sha` (replacing any planned value): the tags of an uploaded
/// object or blob, whose checksum tag marks it as vmpush's.
pub(crate) fn tags_with_sha256(
    tags: &[(String, String)],
    key: &str,
    sha: &str,
) -> Vec<(String, String)> {
    let mut tags: Vec<(String, String)> = tags.iter().filter(|(k, _)| k != key).cloned().collect();
    tags.push((key.to_string(), sha.to_string()));
    tags
}

/// The staged `sha256sum` of the file `label`, lower case, checked to be 64 hex digits.
pub(crate) fn staged_sha256(
    label: &str,
    staged: Option<&str>,
) -> Result<Option<String>, StepError> {
    match staged {
        Some(s) if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(Some(s.to_ascii_lowercase()))
        }
        Some(s) => Err(StepError::invalid(format!(
            "{label}: sha256sum: {s:?} is not 64 hex digits"
        ))),
        None => Ok(None),
    }
}

/// When an invocation stops sending parts.
#[derive(Debug, Clone, Copy, Default)]
pub struct Budget {
    /// No part is started after this instant.
    pub deadline: Option<Instant>,
    /// No more parts than this are sent.
    pub max_parts: Option<u32>,
}

impl Budget {
    /// Sends no more than `max` parts as well, when given (an input's own limit).
    pub(crate) fn cap(&mut self, max: Option<u32>) {
        if let Some(m) = max {
            self.max_parts = Some(self.max_parts.map_or(m, |b| b.min(m)));
        }
    }

    /// Whether no more part may be sent after `sent`; every invocation sends at least one,
    /// so a loop on continuations always ends.
    pub(crate) fn exhausted(&self, sent: u32) -> bool {
        sent > 0
            && (self.max_parts.is_some_and(|m| sent >= m)
                || self.deadline.is_some_and(|d| Instant::now() >= d))
    }
}

/// Whether resolve-mapping's survey found the snapshot of every import of the upload (named
/// by the staged `sha256sum`): the uploaded object would only be imported, so nothing is
/// uploaded, nor looked up.
fn snapshots_exist(work: &UploadWork) -> bool {
    !work.imports.is_empty() && work.imports.iter().all(|i| i.surveyed.is_some())
}

/// The output of an upload of `work` under the key `sha` (its source sha256).
fn output_of(
    work: &UploadWork,
    sha: &str,
    status: UploadStatus,
    skipped: bool,
    size: Option<u64>,
    parts: PartCounts,
    continuation: Option<Continuation>,
) -> UploadOutput {
    UploadOutput {
        id: work.id.clone(),
        status,
        account: work.account.clone(),
        region: work.region.clone(),
        bucket: work.bucket.clone(),
        key: sha.to_string(),
        sha256: sha.to_string(),
        format: work.format,
        skipped,
        size,
        parts,
        continuation,
        tags: tags_with_sha256(&work.tags, SHA256_TAG, sha),
    }
}

/// Runs one invocation of the upload step.
pub async fn run<S: ObjectStore + Clone + Send + 'static>(
    store: &S,
    input: &UploadInput,
    tuning: &Tuning,
    mut budget: Budget,
) -> Result<UploadOutput, StepError> {
    let work = &input.work;
    budget.cap(input.max_parts);
    let label = format!("s3://{}/{}", work.source_bucket, work.source_key);
    let staged = staged_sha256(&label, work.sha256.as_deref())?;
    let streamed = work.source_key.ends_with(".xz");
    if let Some(sha) = staged.as_ref().filter(|_| snapshots_exist(work)) {
        info!(key = %sha, "every snapshot of the image exists: nothing to upload");
        // the size is not looked up
        let parts = PartCounts::default();
        return Ok(output_of(
            work,
            sha,
            UploadStatus::Done,
            true,
            None,
            parts,
            None,
        ));
    }
    ensure_bucket(store, &work.bucket, &work.region).await?;
    // a copy also needs the version whose sha256 was verified
    let (sha, version) = match (&input.continuation, &staged) {
        (Some(c), _) if streamed => (c.sha256.clone(), None),
        (Some(c), _) => {
            // the size now, the version verified then
            let mut version = store.source(&work.source_bucket, &work.source_key).await?;
            if let Some(etag) = &c.source_etag {
                version.etag = etag.clone();
            }
            (c.sha256.clone(), Some(version))
        }
        (None, Some(s)) if streamed => (s.clone(), None),
        (None, _) => {
            let (sha, version) = verified_sha256(store, work, &label, staged.as_deref()).await?;
            (sha, (!streamed).then_some(version))
        }
    };
    let output = |status, skipped, size, parts, continuation| {
        output_of(work, &sha, status, skipped, size, parts, continuation)
    };
    if let Some(object) = store.object(&work.bucket, &sha).await? {
        if object.sha256.as_deref() == Some(sha.as_str()) {
            info!(bucket = %work.bucket, key = %sha, "already uploaded");
            return Ok(output(
                UploadStatus::Done,
                true,
                Some(object.size),
                PartCounts::default(),
                None,
            ));
        }
        info!(bucket = %work.bucket, key = %sha, "an object without vmpush's checksum is replaced");
    }
    let upload = multipart(store, work, &sha, streamed).await?;
    let stored = store.parts(&upload).await?;
    let progress = match &version {
        None => stream_parts(store, &upload, work, &stored, tuning, budget).await?,
        Some(version) => {
            match copy_parts(store, &upload, work, version, &stored, tuning, budget).await {
                Err(changed) if changed.kind == ErrorKind::InvalidInput => {
                    store.abort(&upload).await?;
                    return Err(changed);
                }
                other => other?,
            }
        }
    };
    match progress {
        Progress::Stopped { counts, stored } => {
            info!(key = %sha, stored, ?counts, "upload continues in the next invocation");
            Ok(output(
                UploadStatus::Continue,
                false,
                None,
                counts,
                Some(Continuation {
                    sha256: sha.clone(),
                    upload_id: upload.upload_id.clone(),
                    parts_stored: stored,
                    source_etag: version.as_ref().map(|v| v.etag.clone()),
                }),
            ))
        }
        Progress::Finished {
            counts,
            parts,
            size,
            sums,
        } => {
            // the staged sum names the file as stored or, for `.xz`, its decompressed content
            // (pushsource stagings write either)
            if let Some(sums) = sums.filter(|s| s.file != sha && s.content.as_ref() != Some(&sha)) {
                store.abort(&upload).await?;
                let actual = match &sums.content {
                    Some(content) => {
                        format!("{} (its decompressed content's {content})", sums.file)
                    }
                    None => sums.file.clone(),
                };
                let message = match &staged {
                    Some(_) => format!(
                        "{label}: sha256sum: the staged metadata says {sha}, the file's is {actual}; nothing was uploaded"
                    ),
                    None => format!(
                        "{label}: the file changed while it was uploaded (sha256 {sha}, then {actual}); nothing was uploaded"
                    ),
                };
                return Err(StepError::invalid(message));
            }
            store.complete(&upload, &parts).await?;
            info!(bucket = %work.bucket, key = %sha, size, ?counts, "uploaded");
            Ok(output(UploadStatus::Done, false, Some(size), counts, None))
        }
    }
}

/// Creates the bucket unless it exists; losing a creation race to ourselves is success.
async fn ensure_bucket<S: ObjectStore>(
    store: &S,
    bucket: &str,
    region: &str,
) -> Result<(), StepError> {
    if !store.bucket_exists(bucket).await? {
        let created = store.create_bucket(bucket, region).await?;
        info!(bucket, region, ?created, "bucket ensured");
    }
    Ok(())
}

/// Reads the whole file to learn (or check) its sha256 before copying it; with the version
/// (seen before reading: a file replaced meanwhile fails the copies).
async fn verified_sha256<S: ObjectStore>(
    store: &S,
    work: &UploadWork,
    label: &str,
    staged: Option<&str>,
) -> Result<(String, SourceObject), StepError> {
    let version = store.source(&work.source_bucket, &work.source_key).await?;
    let reader = store.read(&work.source_bucket, &work.source_key).await?;
    let (actual, size) = hash_file(label, reader).await?;
    if size == 0 {
        return Err(StepError::invalid(format!("{label}: the image is empty")));
    }
    match staged {
        Some(s) if s != actual => Err(StepError::invalid(format!(
            "{label}: sha256sum: the staged metadata says {s}, the file's is {actual}; nothing was uploaded"
        ))),
        _ => Ok((actual, version)),
    }
}

/// The oldest unfinished upload of the key, or a new one tagged at creation.
async fn multipart<S: ObjectStore>(
    store: &S,
    work: &UploadWork,
    sha: &str,
    checksums: bool,
) -> Result<Multipart, StepError> {
    let mut pending = store.pending_uploads(&work.bucket, sha).await?;
    pending.sort_by(|a, b| (&a.initiated, &a.id).cmp(&(&b.initiated, &b.id)));
    let upload_id = match pending.into_iter().next() {
        Some(p) => {
            info!(bucket = %work.bucket, key = sha, upload_id = %p.id, "resuming");
            p.id
        }
        None => {
            let object = NewObject {
                sha256: sha.to_string(),
                tags: tags_with_sha256(&work.tags, SHA256_TAG, sha),
                checksums,
            };
            store.create_upload(&work.bucket, sha, &object).await?
        }
    };
    Ok(Multipart {
        bucket: work.bucket.clone(),
        key: sha.to_string(),
        upload_id,
    })
}

/// How far an invocation got.
enum Progress {
    /// Out of budget: `stored` parts are in the store.
    Stopped { counts: PartCounts, stored: u32 },
    /// Every part is stored.
    Finished {
        counts: PartCounts,
        parts: Vec<DonePart>,
        size: u64,
        /// The streamed file's checksums (copies are verified before they start).
        sums: Option<Sums>,
    },
}

/// Streams the source part by part, reusing stored parts that match.
async fn stream_parts<S: ObjectStore + Clone + Send + 'static>(
    store: &S,
    upload: &Multipart,
    work: &UploadWork,
    stored: &[StoredPart],
    tuning: &Tuning,
    budget: Budget,
) -> Result<Progress, StepError> {
    let label = &format!("s3://{}/{}", work.source_bucket, work.source_key);
    let reader = store.read(&work.source_bucket, &work.source_key).await?;
    let mut source = Source::new(label, reader);
    let mut counts = PartCounts::default();
    let mut done: Vec<DonePart> = Vec::new();
    let mut in_flight = JoinSet::new();
    let mut in_flight_bytes = 0u64;
    let mut stopped = false;
    for number in 1.. {
        let chunk = source.next_part(tuning.size_of(number)).await?;
        if chunk.is_empty() {
            if number == 1 {
                return Err(StepError::invalid(format!("{label}: the image is empty")));
            }
            break;
        }
        if number > MAX_PARTS {
            return Err(StepError::new(
                ErrorKind::Fatal,
                format!("{label}: larger than {MAX_PARTS} parts can hold"),
            ));
        }
        let digest = ChunkDigest::of(&chunk);
        let size = chunk.len() as u64;
        if let Some(part) = stored
            .iter()
            .find(|p| p.number == number && digest.matches(size, p))
        {
            counts.reused += 1;
            done.push(DonePart {
                number,
                etag: part.etag.clone(),
                sha256: Some(digest.sha256),
            });
            continue;
        }
        if budget.exhausted(counts.uploaded) {
            stopped = true;
            break;
        }
        while in_flight_bytes + size > tuning.in_flight_bytes {
            let Some(finished) = in_flight.join_next().await else {
                break;
            };
            let (bytes, part): (u64, DonePart) = joined(finished)?;
            in_flight_bytes -= bytes;
            done.push(part);
        }
        in_flight_bytes += size;
        counts.uploaded += 1;
        let (store, upload) = (store.clone(), upload.clone());
        in_flight.spawn(async move {
            let etag = store
                .upload_part(&upload, number, chunk, Some(&digest.sha256))
                .await?;
            Ok::<_, StepError>((
                size,
                DonePart {
                    number,
                    etag,
                    sha256: Some(digest.sha256),
                },
            ))
        });
    }
    while let Some(finished) = in_flight.join_next().await {
        done.push(joined(finished)?.1);
    }
    if stopped {
        return Ok(Progress::Stopped {
            counts,
            stored: u32::try_from(done.len()).unwrap_or(u32::MAX),
        });
    }
    let size = source.content_bytes();
    let (sums, _) = source.finish().await?;
    done.sort_by_key(|p| p.number);
    Ok(Progress::Finished {
        counts,
        parts: done,
        size,
        sums: Some(sums),
    })
}

/// Copies the source server-side, range by range; a stored part of the right size is kept
/// (S3 stores a copied part only when the whole range was copied).
async fn copy_parts<S: ObjectStore + Clone + Send + 'static>(
    store: &S,
    upload: &Multipart,
    work: &UploadWork,
    version: &SourceObject,
    stored: &[StoredPart],
    tuning: &Tuning,
    budget: Budget,
) -> Result<Progress, StepError> {
    let size = version.size;
    let count = tuning.count_for(size);
    if count > MAX_PARTS {
        return Err(StepError::new(
            ErrorKind::Fatal,
            format!(
                "s3://{}/{}: larger than {MAX_PARTS} parts can hold",
                work.source_bucket, work.source_key
            ),
        ));
    }
    let parallel = usize::try_from((tuning.in_flight_bytes / tuning.part_size).max(1)).unwrap_or(1);
    let mut counts = PartCounts::default();
    let mut done = Vec::new();
    let mut in_flight = JoinSet::new();
    let mut stopped = false;
    for number in 1..=count {
        let first = tuning.offset_of(number);
        let last = (first + tuning.size_of(number)).min(size) - 1;
        if let Some(part) = stored
            .iter()
            .find(|p| p.number == number && p.size == last - first + 1)
        {
            counts.reused += 1;
            done.push(DonePart {
                number,
                etag: part.etag.clone(),
                sha256: part.sha256.clone(),
            });
            continue;
        }
        if budget.exhausted(counts.copied) {
            stopped = true;
            break;
        }
        if in_flight.len() >= parallel {
            if let Some(finished) = in_flight.join_next().await {
                done.push(joined(finished)?);
            }
        }
        counts.copied += 1;
        let (store, upload) = (store.clone(), upload.clone());
        let source = (work.source_bucket.clone(), work.source_key.clone());
        let if_match = version.etag.clone();
        in_flight.spawn(async move {
            let etag = store
                .copy_part(
                    &upload,
                    number,
                    (&source.0, &source.1),
                    &if_match,
                    (first, last),
                )
                .await?;
            Ok::<_, StepError>(DonePart {
                number,
                etag,
                sha256: None,
            })
        });
    }
    while let Some(finished) = in_flight.join_next().await {
        done.push(joined(finished)?);
    }
    if stopped {
        return Ok(Progress::Stopped {
            counts,
            stored: u32::try_from(done.len()).unwrap_or(u32::MAX),
        });
    }
    done.sort_by_key(|p| p.number);
    Ok(Progress::Finished {
        counts,
        parts: done,
        size,
        sums: None,
    })
}

/// The result of a part task; a panicked task is a fatal error.
fn joined<T>(result: Result<Result<T, StepError>, JoinError>) -> Result<T, StepError> {
    result.map_err(|e| StepError::new(ErrorKind::Fatal, format!("a part task failed: {e}")))?
}

#[cfg(test)]
mod tests;
