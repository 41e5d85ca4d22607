//! Uploading a staged VHD into an Azure storage account as a page blob, once (spec §3.6.5).
//!
//! The blob is `<container>/<file name without .xz>`. Its index tag `sha256` (the VHD's, set
//! with the reference's provenance tags when the last page is written) marks it complete: a
//! blob carrying our sha256 is reused without reading anything, one carrying another is never
//! overwritten (a published disk may be behind it). An incomplete blob (no tags) is resumed
//! when its metadata `sha256` and size are ours, else replaced.
//!
//! The first invocation reads the whole staged file once without writing (`.xz` decompressed
//! while streaming): the staged `sha256sum` must be the file's or its content's, and the VHD
//! footer must describe a fixed disk of whole MiB ([`vhd::check_footer`]); a bad file fails
//! here with nothing written. Writing then streams the file again in 4 MiB chunks, at most
//! [`BlobTuning::in_flight`] in flight: all-zero chunks are skipped (a page blob reads zeros
//! where nothing was written) and so are chunks the blob's written ranges already cover, so a
//! crashed or timed-out invocation loses nothing. The content is hashed again on the way and
//! must still be the verified one before the blob is tagged. An invocation stops writing at
//! its deadline (or after `max_chunks`) and returns a continuation; the state machine loops
//! until `done`. The output names the blob by its URL without a query: no SAS leaves the
//! adapter.

pub mod vhd;

use tokio::task::{JoinError, JoinSet};
use tracing::info;

use crate::payloads::{
    AzureContinuation, AzureUploadInput, AzureUploadOutput, ChunkCounts, UploadStatus,
};
use crate::ports::{MAX_PAGE_WRITE, PageBlob, PageBlobs, StagedFiles};
use crate::steps::upload::{Budget, Source, Sums, staged_sha256, tags_with_sha256};
use crate::steps::{ErrorKind, StepError};

/// The tag (and metadata key) carrying the VHD's sha256.
pub const SHA256_TAG: &str = "sha256";

/// The metadata key carrying the staged file's sha256.
pub const FILE_SHA256_META: &str = "file_sha256";

/// Chunk size and parallelism of page writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobTuning {
    /// Bytes per write (at most [`MAX_PAGE_WRITE`], a multiple of 512).
    pub chunk: u64,
    /// Writes in flight at once.
    pub in_flight: usize,
}

impl Default for BlobTuning {
    /// 4 MiB writes (the service's largest), 8 in flight: 32 MiB of chunks in memory.
    fn default() -> Self {
        BlobTuning {
            chunk: MAX_PAGE_WRITE,
            in_flight: 8,
        }
    }
}

/// What the first reading of the staged file found.
struct Verified {
    sha256: String,
    file_sha256: String,
    size: u64,
}

/// Runs one invocation of the azure-upload step.
pub async fn run<F, B>(
    files: &F,
    blobs: &B,
    input: &AzureUploadInput,
    tuning: &BlobTuning,
    mut budget: Budget,
) -> Result<AzureUploadOutput, StepError>
where
    F: StagedFiles,
    B: PageBlobs + Clone + Send + 'static,
{
    let work = &input.work;
    budget.cap(input.max_chunks);
    let label = format!("s3://{}/{}", work.source_bucket, work.source_key);
    let staged = staged_sha256(&label, work.sha256.as_deref())?;
    let (container, name) = (work.container.as_str(), work.blob.as_str());
    let output = |status, skipped, verified: &Verified, chunks, continuation| AzureUploadOutput {
        id: work.id.clone(),
        status,
        account: work.account.clone(),
        container: container.to_string(),
        blob: name.to_string(),
        url: blobs.blob_url(container, name),
        sha256: verified.sha256.clone(),
        size: verified.size,
        skipped,
        chunks,
        continuation,
    };
    let reused = |verified: &Verified| {
        info!(container, blob = name, "already uploaded");
        output(
            UploadStatus::Done,
            true,
            verified,
            ChunkCounts::default(),
            None,
        )
    };
    let existing = blobs.blob(container, name).await?;
    let verified = match &input.continuation {
        Some(c) => Verified {
            sha256: c.sha256.clone(),
            file_sha256: c.file_sha256.clone(),
            size: c.size,
        },
        None => {
            if let (Some(blob), Some(staged)) = (&existing, &staged)
                && let Some(done) = complete(blob)
                && (done == staged || blob.meta(FILE_SHA256_META) == Some(staged))
            {
                return Ok(reused(&Verified {
                    sha256: done.to_string(),
                    file_sha256: blob.meta(FILE_SHA256_META).unwrap_or_default().to_string(),
                    size: blob.size,
                }));
            }
            verify(files, work, &label, staged.as_deref()).await?
        }
    };
    match existing.as_ref().map(|b| (complete(b), b)) {
        Some((Some(done), blob)) if done == verified.sha256 => {
            return Ok(reused(&Verified {
                size: blob.size,
                ..verified
            }));
        }
        Some((Some(done), _)) => {
            return Err(StepError::invalid(format!(
                "{label}: the blob {container}/{name} already holds another VHD (sha256 {done}, this one's is {}); a published disk is never overwritten",
                verified.sha256
            )));
        }
        Some((None, blob))
            if blob.meta(SHA256_TAG) == Some(verified.sha256.as_str())
                && blob.size == verified.size =>
        {
            info!(container, blob = name, "resuming a partial blob");
        }
        Some((None, _)) => {
            info!(
                container,
                blob = name,
                "a partial blob of another file is replaced"
            );
            blobs.delete(container, name).await?;
            create(blobs, container, name, &verified).await?;
        }
        None => {
            blobs.ensure_container(container).await?;
            create(blobs, container, name, &verified).await?;
        }
    }
    let written = blobs.written_ranges(container, name).await?;
    let reader = files.read(&work.source_bucket, &work.source_key).await?;
    let mut source = Source::new(&label, reader);
    let chunks = match write_chunks(blobs, work, &mut source, &written, tuning, budget).await? {
        Progress::Finished(chunks) => chunks,
        Progress::Stopped { chunks, offset } => {
            info!(
                container,
                blob = name,
                offset,
                ?chunks,
                "upload continues in the next invocation"
            );
            let continuation = AzureContinuation {
                sha256: verified.sha256.clone(),
                file_sha256: verified.file_sha256.clone(),
                size: verified.size,
                offset,
            };
            return Ok(output(
                UploadStatus::Continue,
                false,
                &verified,
                chunks,
                Some(continuation),
            ));
        }
    };
    let (sums, _) = source.finish().await?;
    if sums.content.as_ref().unwrap_or(&sums.file) != &verified.sha256 {
        blobs.delete(container, name).await?;
        return Err(StepError::invalid(format!(
            "{label}: the file changed while it was uploaded (sha256 {}, then {}); the blob was deleted",
            verified.sha256,
            sums.content.as_ref().unwrap_or(&sums.file)
        )));
    }
    let blob = blobs.blob(container, name).await?.ok_or_else(|| {
        StepError::new(
            ErrorKind::Transient,
            format!("{container}/{name}: the blob vanished while it was written"),
        )
    })?;
    if blob.size != verified.size {
        return Err(StepError::new(
            ErrorKind::Transient,
            format!(
                "{container}/{name}: the blob is {} bytes, the VHD {}",
                blob.size, verified.size
            ),
        ));
    }
    let tags = tags_with_sha256(&work.tags, SHA256_TAG, &verified.sha256);
    blobs.set_tags(container, name, &tags).await?;
    info!(container, blob = name, ?chunks, "uploaded");
    Ok(output(UploadStatus::Done, false, &verified, chunks, None))
}

/// The sha256 a complete blob's tag names.
fn complete(blob: &PageBlob) -> Option<&str> {
    blob.tag(SHA256_TAG)
}

async fn create<B: PageBlobs>(
    blobs: &B,
    container: &str,
    name: &str,
    verified: &Verified,
) -> Result<(), StepError> {
    let metadata = [
        (SHA256_TAG.to_string(), verified.sha256.clone()),
        (FILE_SHA256_META.to_string(), verified.file_sha256.clone()),
    ];
    blobs
        .create(container, name, verified.size, &metadata)
        .await
}

/// Reads the whole staged file: its checksums against the staged one, its VHD footer.
async fn verify<F: StagedFiles>(
    files: &F,
    work: &crate::plan::worklist::AzureUploadWork,
    label: &str,
    staged: Option<&str>,
) -> Result<Verified, StepError> {
    let reader = files.read(&work.source_bucket, &work.source_key).await?;
    let mut source = Source::new(label, reader);
    let mut tail: Vec<u8> = Vec::with_capacity(2 * vhd::FOOTER);
    loop {
        let chunk = source.next_part(MAX_PAGE_WRITE).await?;
        if chunk.is_empty() {
            break;
        }
        if chunk.len() >= vhd::FOOTER {
            tail.clear();
            tail.extend_from_slice(&chunk[chunk.len() - vhd::FOOTER..]);
        } else {
            tail.extend_from_slice(&chunk);
            let excess = tail.len().saturating_sub(vhd::FOOTER);
            tail.drain(..excess);
        }
    }
    let size = source.content_bytes();
    let (Sums { file, content }, _) = source.finish().await?;
    let sha256 = content.clone().unwrap_or_else(|| file.clone());
    if let Some(staged) = staged.filter(|s| *s != file && *s != sha256) {
        let actual = match &content {
            Some(content) => format!("{file} (its decompressed content's {content})"),
            None => file.clone(),
        };
        return Err(StepError::invalid(format!(
            "{label}: sha256sum: the staged metadata says {staged}, the file's is {actual}; nothing was uploaded"
        )));
    }
    vhd::check_footer(label, &tail, size)?;
    Ok(Verified {
        sha256,
        file_sha256: file,
        size,
    })
}

/// How far an invocation got.
enum Progress {
    /// Every chunk is written.
    Finished(ChunkCounts),
    /// The budget ran out; everything before `offset` is written.
    Stopped { chunks: ChunkCounts, offset: u64 },
}

/// Whether `[start, end)` lies within the sorted `ranges`.
fn covered(ranges: &[(u64, u64)], start: u64, end: u64) -> bool {
    let mut cursor = start;
    for &(s, e) in ranges {
        if s > cursor {
            break;
        }
        cursor = cursor.max(e);
        if cursor >= end {
            return true;
        }
    }
    cursor >= end
}

/// Streams the content and writes the chunks that are neither zero nor written.
async fn write_chunks<B: PageBlobs + Clone + Send + 'static>(
    blobs: &B,
    work: &crate::plan::worklist::AzureUploadWork,
    source: &mut Source,
    written: &[(u64, u64)],
    tuning: &BlobTuning,
    budget: Budget,
) -> Result<Progress, StepError> {
    let mut chunks = ChunkCounts::default();
    let mut tasks: JoinSet<Result<(), StepError>> = JoinSet::new();
    let mut offset = 0u64;
    let joined = |r: Result<Result<(), StepError>, JoinError>| {
        r.map_err(|e| StepError::new(ErrorKind::Transient, format!("a page write failed: {e}")))?
    };
    loop {
        if budget.exhausted(chunks.written) {
            while let Some(r) = tasks.join_next().await {
                joined(r)?;
            }
            return Ok(Progress::Stopped { chunks, offset });
        }
        let chunk = source.next_part(tuning.chunk).await?;
        if chunk.is_empty() {
            break;
        }
        let (start, end) = (offset, offset + chunk.len() as u64);
        offset = end;
        if chunk.iter().all(|b| *b == 0) {
            chunks.zero += 1;
            continue;
        }
        if covered(written, start, end) {
            chunks.reused += 1;
            continue;
        }
        while tasks.len() >= tuning.in_flight.max(1) {
            if let Some(r) = tasks.join_next().await {
                joined(r)?;
            }
        }
        let (blobs, container, name) = (blobs.clone(), work.container.clone(), work.blob.clone());
        tasks.spawn(async move { blobs.write_pages(&container, &name, start, chunk).await });
        chunks.written += 1;
    }
    while let Some(r) = tasks.join_next().await {
        joined(r)?;
    }
    Ok(Progress::Finished(chunks))
}

#[cfg(test)]
mod tests;
