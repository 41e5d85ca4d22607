use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_compression::tokio::bufread::XzEncoder;
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use super::vhd::{fixed_footer, seal};
use super::*;
use crate::hex;
use crate::plan::worklist::AzureUploadWork;
use crate::ports::{PageBlob, Reader, SourceObject};

const MIB: usize = 1024 * 1024;
const KEY: &str = "drops/p1/CLOUD_IMAGES/rhel-azure/rhel-azure-9.4-1.x86_64.vhd.xz";

/// A blob of the fake: content, written ranges, tags, metadata.
#[derive(Default, Clone)]
struct Blob {
    data: Vec<u8>,
    written: Vec<(u64, u64)>,
    tags: Vec<(String, String)>,
    metadata: Vec<(String, String)>,
}

/// Staged files and one storage account in memory, with a call log.
#[derive(Default)]
struct Memory {
    staged: Mutex<BTreeMap<String, Vec<u8>>>,
    containers: Mutex<Vec<String>>,
    blobs: Mutex<BTreeMap<(String, String), Blob>>,
    calls: Mutex<Vec<String>>,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
}

impl Memory {
    fn with(key: &str, data: Vec<u8>) -> Arc<Self> {
        let m = Memory::default();
        m.staged.lock().unwrap().insert(key.into(), data);
        Arc::new(m)
    }

    fn log(&self, call: impl Into<String>) {
        self.calls.lock().unwrap().push(call.into());
    }

    fn count(&self, prefix: &str) -> usize {
        let calls = self.calls.lock().unwrap();
        calls.iter().filter(|c| c.starts_with(prefix)).count()
    }

    fn blob_of(&self, name: &str) -> Option<Blob> {
        let blobs = self.blobs.lock().unwrap();
        blobs.get(&("pubupload".into(), name.into())).cloned()
    }
}

impl StagedFiles for Arc<Memory> {
    async fn source(&self, _bucket: &str, key: &str) -> Result<SourceObject, StepError> {
        let staged = self.staged.lock().unwrap();
        let data = staged
            .get(key)
            .ok_or_else(|| StepError::new(ErrorKind::NotFound, key))?;
        Ok(SourceObject {
            size: data.len() as u64,
            etag: "\"e\"".into(),
        })
    }
    async fn read(&self, _bucket: &str, key: &str) -> Result<Reader, StepError> {
        self.log(format!("GetObject {key}"));
        let data = self.staged.lock().unwrap().get(key).cloned();
        let data = data.ok_or_else(|| StepError::new(ErrorKind::NotFound, key))?;
        Ok(Box::new(std::io::Cursor::new(data)))
    }
}

impl PageBlobs for Arc<Memory> {
    async fn ensure_container(&self, container: &str) -> Result<(), StepError> {
        self.log(format!("CreateContainer {container}"));
        let mut containers = self.containers.lock().unwrap();
        if !containers.iter().any(|c| c == container) {
            containers.push(container.into());
        }
        Ok(())
    }
    async fn blob(&self, container: &str, name: &str) -> Result<Option<PageBlob>, StepError> {
        let blobs = self.blobs.lock().unwrap();
        Ok(blobs
            .get(&(container.into(), name.into()))
            .map(|b| PageBlob {
                size: b.data.len() as u64,
                tags: b.tags.clone(),
                metadata: b.metadata.clone(),
            }))
    }
    async fn create(
        &self,
        container: &str,
        name: &str,
        size: u64,
        metadata: &[(String, String)],
    ) -> Result<(), StepError> {
        self.log(format!("PutBlob {container}/{name} {size}"));
        assert!(
            self.containers
                .lock()
                .unwrap()
                .iter()
                .any(|c| c == container)
        );
        let blob = Blob {
            data: vec![0; size as usize],
            metadata: metadata.to_vec(),
            ..Blob::default()
        };
        let mut blobs = self.blobs.lock().unwrap();
        blobs.insert((container.into(), name.into()), blob);
        Ok(())
    }
    async fn written_ranges(
        &self,
        container: &str,
        name: &str,
    ) -> Result<Vec<(u64, u64)>, StepError> {
        self.log(format!("GetPageRanges {name}"));
        let blobs = self.blobs.lock().unwrap();
        let mut ranges = blobs[&(container.to_string(), name.to_string())]
            .written
            .clone();
        ranges.sort();
        Ok(ranges)
    }
    async fn write_pages(
        &self,
        container: &str,
        name: &str,
        offset: u64,
        data: Vec<u8>,
    ) -> Result<(), StepError> {
        assert_eq!(offset % 512, 0, "aligned offset");
        assert_eq!(data.len() % 512, 0, "whole pages");
        assert!(data.len() as u64 <= MAX_PAGE_WRITE);
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        tokio::task::yield_now().await;
        self.log(format!("PutPage {name} {offset} {}", data.len()));
        {
            let mut blobs = self.blobs.lock().unwrap();
            let blob = blobs
                .get_mut(&(container.to_string(), name.to_string()))
                .unwrap();
            let end = offset as usize + data.len();
            blob.data[offset as usize..end].copy_from_slice(&data);
            blob.written.push((offset, end as u64));
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }
    async fn set_tags(
        &self,
        container: &str,
        name: &str,
        tags: &[(String, String)],
    ) -> Result<(), StepError> {
        self.log(format!("SetBlobTags {name}"));
        let mut blobs = self.blobs.lock().unwrap();
        blobs
            .get_mut(&(container.to_string(), name.to_string()))
            .unwrap()
            .tags = tags.to_vec();
        Ok(())
    }
    async fn delete(&self, container: &str, name: &str) -> Result<(), StepError> {
        self.log(format!("DeleteBlob {name}"));
        self.blobs
            .lock()
            .unwrap()
            .remove(&(container.to_string(), name.to_string()));
        Ok(())
    }
    fn blob_url(&self, container: &str, name: &str) -> String {
        format!("https://account.blob.core.windows.net/{container}/{name}")
    }
    fn read_url(&self, container: &str, name: &str) -> Result<String, StepError> {
        Ok(format!(
            "{}?sp=r&sr=b&sig=x",
            self.blob_url(container, name)
        ))
    }
}

/// A fixed VHD of 8 MiB: 4 MiB of data, 4 MiB of zeros, its footer.
fn vhd() -> Vec<u8> {
    let mut disk: Vec<u8> = (0..4 * MIB).map(|i| (i % 251) as u8 + 1).collect();
    disk.resize(8 * MIB, 0);
    disk.extend_from_slice(&fixed_footer(8 * MIB as u64));
    disk
}

async fn xz(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    XzEncoder::new(data).read_to_end(&mut out).await.unwrap();
    out
}

fn sha(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn input(sha256: Option<String>) -> AzureUploadInput {
    AzureUploadInput {
        work: AzureUploadWork {
            id: "au-1".into(),
            account: "azure-na".into(),
            container: "pubupload".into(),
            blob: "rhel-azure-9.4-1.x86_64.vhd".into(),
            source_bucket: "staging".into(),
            source_key: KEY.into(),
            size: None,
            sha256,
            tags: vec![
                ("nvra".into(), "rhel-azure-9.4-1.x86_64".into()),
                ("arch".into(), "x86_64".into()),
            ],
            build: None,
        },
        continuation: None,
        max_chunks: None,
    }
}

const NAME: &str = "rhel-azure-9.4-1.x86_64.vhd";

async fn upload(m: &Arc<Memory>, input: &AzureUploadInput) -> Result<AzureUploadOutput, StepError> {
    run(m, m, input, &BlobTuning::default(), Budget::default()).await
}

#[tokio::test]
async fn a_vhd_xz_becomes_a_tagged_page_blob_of_its_content_without_its_zero_chunks() {
    let disk = vhd();
    let m = Memory::with(KEY, xz(&disk).await);
    let out = upload(&m, &input(Some(sha(&disk)))).await.unwrap();
    assert_eq!(out.status, UploadStatus::Done);
    assert!(!out.skipped);
    assert_eq!(
        out.url,
        "https://account.blob.core.windows.net/pubupload/rhel-azure-9.4-1.x86_64.vhd"
    );
    assert_eq!(
        (out.sha256.as_str(), out.size),
        (sha(&disk).as_str(), disk.len() as u64)
    );
    assert_eq!(
        out.chunks,
        ChunkCounts {
            written: 2,
            zero: 1,
            reused: 0
        }
    );
    let blob = m.blob_of(NAME).unwrap();
    assert_eq!(sha(&blob.data), sha(&disk));
    assert_eq!(
        blob.tags,
        [
            ("nvra".to_string(), "rhel-azure-9.4-1.x86_64".to_string()),
            ("arch".into(), "x86_64".into()),
            ("sha256".into(), sha(&disk)),
        ]
    );
    assert_eq!(blob.metadata[0], ("sha256".to_string(), sha(&disk)));
    let mut calls = m.calls.lock().unwrap().clone();
    calls[5..7].sort_by_key(|c| c.len()); // the writes run concurrently
    assert_eq!(
        calls,
        [
            format!("GetObject {KEY}"),
            "CreateContainer pubupload".into(),
            format!("PutBlob pubupload/{NAME} {}", disk.len()),
            format!("GetPageRanges {NAME}"),
            format!("GetObject {KEY}"),
            format!("PutPage {NAME} 0 {}", 4 * MIB),
            format!("PutPage {NAME} {} 512", 8 * MIB),
            format!("SetBlobTags {NAME}"),
        ]
    );
}

#[tokio::test]
async fn a_second_push_reads_and_writes_nothing() {
    let disk = vhd();
    let staged = xz(&disk).await;
    for staged_sum in [sha(&disk), sha(&staged)] {
        let m = Memory::with(KEY, staged.clone());
        upload(&m, &input(Some(staged_sum.clone()))).await.unwrap();
        m.calls.lock().unwrap().clear();
        let again = upload(&m, &input(Some(staged_sum))).await.unwrap();
        assert!(again.skipped);
        assert_eq!((again.sha256, again.size), (sha(&disk), disk.len() as u64));
        assert_eq!(*m.calls.lock().unwrap(), Vec::<String>::new());
    }
    // without a staged sum the file is read once, and nothing written
    let m = Memory::with(KEY, staged);
    upload(&m, &input(None)).await.unwrap();
    m.calls.lock().unwrap().clear();
    let again = upload(&m, &input(None)).await.unwrap();
    assert!(again.skipped);
    assert_eq!(*m.calls.lock().unwrap(), [format!("GetObject {KEY}")]);
}

#[tokio::test]
async fn bad_files_fail_before_anything_is_written() {
    let mut corrupt = vhd();
    let at = corrupt.len() - 512 + 100;
    corrupt[at] ^= 0xff;
    let mut dynamic = vhd();
    dynamic.truncate(dynamic.len() - 512);
    let mut footer = fixed_footer(8 * MIB as u64);
    footer[63] = 3;
    seal(&mut footer);
    dynamic.extend_from_slice(&footer);
    let label = format!("s3://staging/{KEY}");
    for (disk, staged, expected) in [
        (corrupt.clone(), None, "the footer is corrupt"),
        (dynamic, None, "a dynamic VHD; Azure takes fixed VHDs only"),
        (vec![7u8; 3 * MIB], None, "the 'conectix' cookie"),
        (
            vhd(),
            Some("ab".repeat(32)),
            "sha256sum: the staged metadata says abab",
        ),
    ] {
        let m = Memory::with(KEY, xz(&disk).await);
        let err = upload(&m, &input(staged)).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput, "{}", err.message);
        assert!(
            err.message.starts_with(&format!("{label}: ")) && err.message.contains(expected),
            "{}",
            err.message
        );
        assert_eq!(*m.calls.lock().unwrap(), [format!("GetObject {KEY}")]);
    }
    let m = Memory::with(KEY, xz(&vhd()).await);
    let err = upload(&m, &input(Some("nope".into()))).await.unwrap_err();
    assert_eq!(
        err.message,
        format!("{label}: sha256sum: \"nope\" is not 64 hex digits")
    );
    assert!(m.calls.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_complete_blob_of_another_vhd_is_never_overwritten() {
    let disk = vhd();
    let m = Memory::with(KEY, xz(&disk).await);
    m.containers.lock().unwrap().push("pubupload".into());
    let other = Blob {
        data: vec![1; 1024],
        tags: vec![("sha256".into(), "cd".repeat(32))],
        ..Blob::default()
    };
    m.blobs
        .lock()
        .unwrap()
        .insert(("pubupload".into(), NAME.into()), other);
    let err = upload(&m, &input(Some(sha(&disk)))).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert_eq!(
        err.message,
        format!(
            "s3://staging/{KEY}: the blob pubupload/{NAME} already holds another VHD (sha256 {}, this one's is {}); a published disk is never overwritten",
            "cd".repeat(32),
            sha(&disk)
        )
    );
    assert_eq!(
        m.count("PutPage") + m.count("DeleteBlob") + m.count("PutBlob"),
        0
    );
}

#[tokio::test]
async fn a_partial_blob_is_resumed_from_its_written_ranges_or_replaced_when_not_ours() {
    let disk = vhd();
    let m = Memory::with(KEY, xz(&disk).await);
    let mut first = input(Some(sha(&disk)));
    first.max_chunks = Some(1);
    let out = upload(&m, &first).await.unwrap();
    assert_eq!(out.status, UploadStatus::Continue);
    let c = out.continuation.clone().unwrap();
    assert_eq!(
        (c.sha256.as_str(), c.size),
        (sha(&disk).as_str(), disk.len() as u64)
    );
    assert_eq!(c.offset, 4 * MIB as u64);
    assert!(m.blob_of(NAME).unwrap().tags.is_empty(), "not complete yet");

    let mut next = input(Some(sha(&disk)));
    next.continuation = out.continuation;
    m.calls.lock().unwrap().clear();
    let done = upload(&m, &next).await.unwrap();
    assert_eq!(done.status, UploadStatus::Done);
    assert_eq!(
        done.chunks,
        ChunkCounts {
            written: 1,
            zero: 1,
            reused: 1
        }
    );
    assert_eq!(
        m.count("GetObject"),
        1,
        "a continuation verifies nothing twice"
    );
    assert_eq!(sha(&m.blob_of(NAME).unwrap().data), sha(&disk));

    // a crash after one chunk: a new invocation without a continuation resumes the blob
    let m = Memory::with(KEY, xz(&disk).await);
    let _ = upload(&m, &first).await.unwrap();
    m.calls.lock().unwrap().clear();
    let done = upload(&m, &input(Some(sha(&disk)))).await.unwrap();
    assert_eq!((done.chunks.written, done.chunks.reused), (1, 1));
    assert_eq!(m.count("PutBlob") + m.count("DeleteBlob"), 0);

    // an untagged blob of another file is replaced
    let m = Memory::with(KEY, xz(&disk).await);
    m.containers.lock().unwrap().push("pubupload".into());
    let stale = Blob {
        data: vec![9; 2048],
        written: vec![(0, 2048)],
        metadata: vec![("sha256".into(), "ef".repeat(32))],
        ..Blob::default()
    };
    m.blobs
        .lock()
        .unwrap()
        .insert(("pubupload".into(), NAME.into()), stale);
    let done = upload(&m, &input(None)).await.unwrap();
    assert_eq!((m.count("DeleteBlob"), m.count("PutBlob")), (1, 1));
    assert_eq!(done.chunks.written, 2);
    assert_eq!(sha(&m.blob_of(NAME).unwrap().data), sha(&disk));
}

#[tokio::test]
async fn writes_in_flight_are_bounded() {
    let mut disk: Vec<u8> = (0..16 * MIB).map(|i| (i % 253) as u8 + 1).collect();
    disk.extend_from_slice(&fixed_footer(16 * MIB as u64));
    let m = Memory::with(KEY, disk.clone());
    let mut plain = input(Some(sha(&disk)));
    plain.work.source_key = KEY.trim_end_matches(".xz").into();
    m.staged
        .lock()
        .unwrap()
        .insert(plain.work.source_key.clone(), disk.clone());
    let tuning = BlobTuning {
        chunk: 256 * 1024,
        in_flight: 3,
    };
    let out = run(&m, &m, &plain, &tuning, Budget::default())
        .await
        .unwrap();
    assert_eq!(out.chunks.written, 16 * 4 + 1);
    assert!(m.peak.load(Ordering::SeqCst) <= 3);
    assert!(m.peak.load(Ordering::SeqCst) >= 2, "writes overlap");
    assert_eq!(sha(&m.blob_of(NAME).unwrap().data), sha(&disk));
}

#[test]
fn coverage_of_sorted_ranges() {
    assert!(covered(&[(0, 10)], 0, 10));
    assert!(covered(&[(0, 4), (4, 10)], 2, 8));
    assert!(!covered(&[(0, 4), (5, 10)], 2, 8));
    assert!(!covered(&[], 0, 1));
    assert!(!covered(&[(3, 10)], 0, 4));
}
