use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_compression::tokio::bufread::XzEncoder;
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use super::*;
use crate::hex;
use crate::inputs::item::DiskFormat;
use crate::payloads::*;
use crate::plan::worklist::ImportWork;
use crate::ports::*;

/// A pending multipart upload of the fake.
struct Pending {
    bucket: String,
    key: String,
    initiated: String,
    object: NewObject,
    parts: BTreeMap<u32, (Vec<u8>, String)>,
}

/// An object of the fake: content, recorded sha256, tags.
type Object = (Vec<u8>, Option<String>, Vec<(String, String)>);

/// S3 in memory, with a call log.
#[derive(Default)]
struct Memory {
    buckets: Mutex<Vec<String>>,
    /// `HeadBucket` says no, `CreateBucket` says `BucketAlreadyOwnedByYou`.
    race: bool,
    /// Parts are listed without checksums (as moto does): reuse goes by MD5 ETag.
    md5_only: bool,
    objects: Mutex<BTreeMap<(String, String), Object>>,
    uploads: Mutex<BTreeMap<String, Pending>>,
    calls: Mutex<Vec<String>>,
    in_flight: AtomicU64,
    peak_in_flight: AtomicU64,
}

impl Memory {
    fn with_source(key: &str, data: &[u8]) -> Self {
        let m = Memory::default();
        m.put("staging", key, data.to_vec(), None);
        m
    }

    fn shared(self) -> Arc<Self> {
        Arc::new(self)
    }

    fn put(&self, bucket: &str, key: &str, data: Vec<u8>, sha: Option<String>) {
        self.objects
            .lock()
            .unwrap()
            .insert((bucket.into(), key.into()), (data, sha, Vec::new()));
    }

    fn log(&self, call: impl Into<String>) {
        self.calls.lock().unwrap().push(call.into());
    }

    fn count(&self, prefix: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.starts_with(prefix))
            .count()
    }

    fn stored(&self, key: &str) -> Option<Vec<u8>> {
        self.objects
            .lock()
            .unwrap()
            .get(&("target".to_string(), key.to_string()))
            .map(|o| o.0.clone())
    }
}

impl StagedFiles for Arc<Memory> {
    async fn source(&self, bucket: &str, key: &str) -> Result<SourceObject, StepError> {
        self.objects
            .lock()
            .unwrap()
            .get(&(bucket.into(), key.into()))
            .map(|o| SourceObject {
                size: o.0.len() as u64,
                etag: etag_of(&o.0),
            })
            .ok_or_else(|| StepError::new(ErrorKind::NotFound, key))
    }
    async fn read(&self, bucket: &str, key: &str) -> Result<Reader, StepError> {
        self.log(format!("GetObject {key}"));
        let data = self
            .objects
            .lock()
            .unwrap()
            .get(&(bucket.into(), key.into()))
            .map(|o| o.0.clone())
            .ok_or_else(|| StepError::new(ErrorKind::NotFound, key))?;
        Ok(Box::new(std::io::Cursor::new(data)))
    }
}

impl ObjectStore for Arc<Memory> {
    async fn bucket_exists(&self, bucket: &str) -> Result<bool, StepError> {
        Ok(!self.race && self.buckets.lock().unwrap().iter().any(|b| b == bucket))
    }
    async fn create_bucket(&self, bucket: &str, _region: &str) -> Result<BucketCreated, StepError> {
        self.log(format!("CreateBucket {bucket}"));
        let mut buckets = self.buckets.lock().unwrap();
        if buckets.iter().any(|b| b == bucket) {
            return Ok(BucketCreated::AlreadyOwned);
        }
        buckets.push(bucket.into());
        Ok(BucketCreated::Created)
    }
    async fn object(&self, bucket: &str, key: &str) -> Result<Option<StoredObject>, StepError> {
        Ok(self
            .objects
            .lock()
            .unwrap()
            .get(&(bucket.into(), key.into()))
            .map(|(data, sha, _)| StoredObject {
                size: data.len() as u64,
                sha256: sha.clone(),
            }))
    }
    async fn pending_uploads(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Vec<PendingUpload>, StepError> {
        Ok(self
            .uploads
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, p)| p.bucket == bucket && p.key == key)
            .map(|(id, p)| PendingUpload {
                id: id.clone(),
                initiated: p.initiated.clone(),
            })
            .collect())
    }
    async fn create_upload(
        &self,
        bucket: &str,
        key: &str,
        object: &NewObject,
    ) -> Result<String, StepError> {
        self.log(format!("CreateMultipartUpload {key}"));
        let mut uploads = self.uploads.lock().unwrap();
        let id = format!("upload-{}", uploads.len() + 1);
        uploads.insert(
            id.clone(),
            Pending {
                bucket: bucket.into(),
                key: key.into(),
                initiated: "2026-11-21T12:00:00Z".into(),
                object: object.clone(),
                parts: BTreeMap::new(),
            },
        );
        Ok(id)
    }
    async fn parts(&self, upload: &Multipart) -> Result<Vec<StoredPart>, StepError> {
        let uploads = self.uploads.lock().unwrap();
        let pending = uploads
            .get(&upload.upload_id)
            .ok_or_else(|| StepError::new(ErrorKind::NotFound, "NoSuchUpload"))?;
        Ok(pending
            .parts
            .iter()
            .map(|(n, (data, etag))| StoredPart {
                number: *n,
                etag: etag.clone(),
                size: data.len() as u64,
                sha256: (!self.md5_only && pending.object.checksums)
                    .then(|| ChunkDigest::of(data).sha256),
            })
            .collect())
    }
    async fn upload_part(
        &self,
        upload: &Multipart,
        number: u32,
        data: Vec<u8>,
        sha256: Option<&str>,
    ) -> Result<String, StepError> {
        let size = data.len() as u64;
        let now = self.in_flight.fetch_add(size, Ordering::SeqCst) + size;
        self.peak_in_flight.fetch_max(now, Ordering::SeqCst);
        tokio::task::yield_now().await;
        self.log(format!("UploadPart {number}"));
        assert_eq!(sha256, Some(ChunkDigest::of(&data).sha256.as_str()));
        let etag = format!("\"{}\"", ChunkDigest::of(&data).md5);
        self.uploads
            .lock()
            .unwrap()
            .get_mut(&upload.upload_id)
            .unwrap()
            .parts
            .insert(number, (data, etag.clone()));
        self.in_flight.fetch_sub(size, Ordering::SeqCst);
        Ok(etag)
    }
    async fn copy_part(
        &self,
        upload: &Multipart,
        number: u32,
        source: (&str, &str),
        if_match: &str,
        range: (u64, u64),
    ) -> Result<String, StepError> {
        self.log(format!("UploadPartCopy {number} {}-{}", range.0, range.1));
        let whole = self.objects.lock().unwrap()[&(source.0.to_string(), source.1.to_string())]
            .0
            .clone();
        if etag_of(&whole) != if_match {
            return Err(StepError::invalid(format!(
                "s3://{}/{}: the file changed while it was uploaded",
                source.0, source.1
            )));
        }
        let data = whole[range.0 as usize..=range.1 as usize].to_vec();
        let etag = format!("\"{}\"", ChunkDigest::of(&data).md5);
        self.uploads
            .lock()
            .unwrap()
            .get_mut(&upload.upload_id)
            .unwrap()
            .parts
            .insert(number, (data, etag.clone()));
        Ok(etag)
    }
    async fn complete(&self, upload: &Multipart, parts: &[DonePart]) -> Result<(), StepError> {
        self.log("CompleteMultipartUpload");
        let numbers: Vec<u32> = parts.iter().map(|p| p.number).collect();
        let mut sorted = numbers.clone();
        sorted.sort();
        assert_eq!(numbers, sorted, "parts must be sorted");
        let pending = self
            .uploads
            .lock()
            .unwrap()
            .remove(&upload.upload_id)
            .unwrap();
        let mut data = Vec::new();
        for part in parts {
            let (bytes, etag) = &pending.parts[&part.number];
            assert_eq!(*etag, part.etag);
            if pending.object.checksums {
                assert_eq!(part.sha256, Some(ChunkDigest::of(bytes).sha256));
            }
            data.extend_from_slice(bytes);
        }
        self.objects.lock().unwrap().insert(
            (pending.bucket, pending.key),
            (data, Some(pending.object.sha256), pending.object.tags),
        );
        Ok(())
    }
    async fn abort(&self, upload: &Multipart) -> Result<(), StepError> {
        self.log("AbortMultipartUpload");
        self.uploads.lock().unwrap().remove(&upload.upload_id);
        Ok(())
    }
}

const TUNING: Tuning = Tuning {
    part_size: 1000,
    small_parts: 4,
    large_part_size: 3000,
    in_flight_bytes: 2000,
};

/// 10 500 bytes: 4 parts of 1000, then 2 of 3000 and one of 500.
fn image() -> Vec<u8> {
    (0..10_500u32).map(|i| (i * 7 % 251) as u8).collect()
}

async fn xz(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    XzEncoder::new(data).read_to_end(&mut out).await.unwrap();
    out
}

fn sha(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// The ETag S3 gives an object uploaded whole: its quoted MD5.
fn etag_of(data: &[u8]) -> String {
    format!("\"{}\"", ChunkDigest::of(data).md5)
}

fn input(key: &str, sha256: Option<&str>) -> UploadInput {
    UploadInput {
        work: UploadWork {
            id: "up-0123456789ab".into(),
            account: "aws-us-storage".into(),
            region: "us-east-1".into(),
            bucket: "target".into(),
            source_bucket: "staging".into(),
            source_key: key.into(),
            size: None,
            sha256: sha256.map(Into::into),
            format: DiskFormat::Raw,
            tags: vec![("awspub:source:filename".into(), "disk.raw.xz".into())],
            build: None,
            imports: Vec::new(),
        },
        continuation: None,
        max_parts: None,
    }
}

async fn upload(store: &Arc<Memory>, input: &UploadInput) -> Result<UploadOutput, StepError> {
    run(store, input, &TUNING, Budget::default()).await
}

#[tokio::test]
async fn an_xz_image_is_streamed_once_and_skipped_after() {
    let compressed = xz(&image()).await;
    let sum = sha(&compressed);
    let store = Memory::with_source("drops/p/disk.raw.xz", &compressed).shared();
    let out = upload(&store, &input("drops/p/disk.raw.xz", Some(&sum)))
        .await
        .unwrap();
    assert_eq!(
        (out.status, out.key.as_str(), out.size, out.skipped),
        (UploadStatus::Done, sum.as_str(), Some(10_500), false)
    );
    assert_eq!(
        out.parts,
        PartCounts {
            uploaded: 7,
            copied: 0,
            reused: 0
        }
    );
    assert_eq!(store.stored(&sum), Some(image()));
    let (_, recorded, tags) =
        store.objects.lock().unwrap()[&("target".to_string(), sum.clone())].clone();
    assert_eq!(recorded.as_deref(), Some(sum.as_str()));
    assert_eq!(
        tags,
        [
            (
                "awspub:source:filename".to_string(),
                "disk.raw.xz".to_string()
            ),
            (SHA256_TAG.to_string(), sum.clone())
        ]
    );

    assert_eq!(store.count("CreateBucket"), 1);
    // two small parts at once; a large part alone
    assert_eq!(store.peak_in_flight.load(Ordering::SeqCst), 3000);

    let calls = store.calls.lock().unwrap().len();
    let again = upload(&store, &input("drops/p/disk.raw.xz", Some(&sum)))
        .await
        .unwrap();
    assert_eq!(
        (again.status, again.skipped, again.size),
        (UploadStatus::Done, true, Some(10_500))
    );
    assert_eq!(
        store.calls.lock().unwrap().len(),
        calls,
        "nothing is called again"
    );
}

#[tokio::test]
async fn an_image_whose_every_snapshot_the_survey_found_is_neither_uploaded_nor_read() {
    let data = image();
    let sum = sha(&data);
    let store = Memory::with_source("d/disk.raw", &data).shared();
    let import = |id: &str, surveyed: Option<&str>| ImportWork {
        id: id.into(),
        billing_codes: Vec::new(),
        surveyed: surveyed.map(Into::into),
        absent: false,
        copies: Vec::new(),
    };
    let mut i = input("d/disk.raw", Some(&sum.to_ascii_uppercase()));
    i.work.imports = vec![
        import("im-1", Some("snap-1")),
        import("im-2", Some("snap-2")),
    ];
    let out = upload(&store, &i).await.unwrap();
    assert_eq!(
        (
            out.status,
            out.key.as_str(),
            out.sha256.as_str(),
            out.skipped,
            out.size
        ),
        (UploadStatus::Done, sum.as_str(), sum.as_str(), true, None)
    );
    assert_eq!(
        out.tags.last(),
        Some(&(SHA256_TAG.to_string(), sum.clone()))
    );
    assert!(
        store.calls.lock().unwrap().is_empty(),
        "{:?}",
        store.calls.lock().unwrap()
    );
    assert_eq!(store.stored(&sum), None);

    // one import still to make: the image is uploaded
    i.work.imports[1].surveyed = None;
    let out = upload(&store, &i).await.unwrap();
    assert_eq!((out.status, out.skipped), (UploadStatus::Done, false));
    assert_eq!(store.stored(&sum), Some(data));

    // a staged sha256sum that is not one is refused whatever the survey found
    i.work.imports[1].surveyed = Some("snap-2".into());
    i.work.sha256 = Some("not-hex".into());
    let err = upload(&store, &i).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput, "{err}");
}

#[tokio::test]
async fn an_interrupted_upload_resumes_with_only_the_missing_parts() {
    for md5_only in [false, true] {
        let compressed = xz(&image()).await;
        let sum = sha(&compressed);
        let store = Memory {
            md5_only,
            ..Memory::with_source("d/disk.raw.xz", &compressed)
        }
        .shared();
        let mut first = input("d/disk.raw.xz", Some(&sum));
        first.max_parts = Some(3);
        let out = upload(&store, &first).await.unwrap();
        assert_eq!(out.status, UploadStatus::Continue);
        assert_eq!(out.parts.uploaded, 3);
        let continuation = out.continuation.unwrap();
        assert_eq!(
            (continuation.sha256.as_str(), continuation.parts_stored),
            (sum.as_str(), 3)
        );
        assert_eq!(store.stored(&sum), None);

        // resumed without the continuation (a crashed invocation): found by listing
        let out = upload(&store, &input("d/disk.raw.xz", Some(&sum)))
            .await
            .unwrap();
        assert_eq!(
            (out.status, out.parts),
            (
                UploadStatus::Done,
                PartCounts {
                    uploaded: 4,
                    copied: 0,
                    reused: 3
                }
            )
        );
        assert_eq!(store.count("CreateMultipartUpload"), 1);
        assert_eq!(store.count("UploadPart "), 7);
        assert_eq!(store.stored(&sum), Some(image()));
    }
}

#[tokio::test]
async fn a_stored_part_that_differs_is_sent_again() {
    let compressed = xz(&image()).await;
    let sum = sha(&compressed);
    let store = Memory::with_source("d/disk.raw.xz", &compressed).shared();
    let mut first = input("d/disk.raw.xz", Some(&sum));
    first.max_parts = Some(2);
    upload(&store, &first).await.unwrap();
    for (data, _) in store
        .uploads
        .lock()
        .unwrap()
        .values_mut()
        .flat_map(|p| p.parts.get_mut(&2))
    {
        data[0] ^= 1;
    }
    let out = upload(&store, &input("d/disk.raw.xz", Some(&sum)))
        .await
        .unwrap();
    assert_eq!((out.parts.reused, out.parts.uploaded), (1, 6));
    assert_eq!(store.stored(&sum), Some(image()));
}

#[tokio::test]
async fn a_wrong_staged_sha256sum_aborts_and_completes_nothing() {
    let compressed = xz(&image()).await;
    let wrong = "ab".repeat(32);
    let store = Memory::with_source("d/disk.raw.xz", &compressed).shared();
    let err = upload(&store, &input("d/disk.raw.xz", Some(&wrong)))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert_eq!(
        err.message,
        format!(
            "s3://staging/d/disk.raw.xz: sha256sum: the staged metadata says {wrong}, the file's is {} (its decompressed content's {}); nothing was uploaded",
            sha(&compressed),
            sha(&image())
        )
    );
    assert_eq!(store.count("AbortMultipartUpload"), 1);
    assert_eq!(store.count("CompleteMultipartUpload"), 0);
    assert!(store.uploads.lock().unwrap().is_empty());
    assert_eq!(store.objects.lock().unwrap().len(), 1, "only the source");
}

#[tokio::test]
async fn a_staged_sha256sum_of_the_decompressed_content_is_accepted() {
    // as the peer kit's gen_staged.py writes it: the raw image's sum, for a .raw.xz file
    let raw = image();
    let store = Memory::with_source("d/disk.raw.xz", &xz(&raw).await).shared();
    let out = upload(&store, &input("d/disk.raw.xz", Some(&sha(&raw))))
        .await
        .unwrap();
    assert_eq!(
        (out.status, out.key.as_str()),
        (UploadStatus::Done, sha(&raw).as_str())
    );
    assert_eq!(store.count("CompleteMultipartUpload"), 1);
}

#[tokio::test]
async fn without_a_staged_sha256sum_the_file_is_hashed_first() {
    let compressed = xz(&image()).await;
    let store = Memory::with_source("d/disk.raw.xz", &compressed).shared();
    let out = upload(&store, &input("d/disk.raw.xz", None)).await.unwrap();
    assert_eq!(out.key, sha(&compressed));
    assert_eq!(store.count("GetObject"), 2);
    assert_eq!(store.stored(&out.key), Some(image()));
}

#[tokio::test]
async fn an_uncompressed_image_is_copied_server_side_after_verifying_it() {
    let data = image();
    let sum = sha(&data);
    let store = Memory::with_source("d/disk.raw", &data).shared();
    let mut first = input("d/disk.raw", Some(&sum));
    first.max_parts = Some(5);
    let out = upload(&store, &first).await.unwrap();
    assert_eq!((out.status, out.parts.copied), (UploadStatus::Continue, 5));
    let out = run(
        &store,
        &UploadInput {
            continuation: out.continuation,
            ..input("d/disk.raw", Some(&sum))
        },
        &TUNING,
        Budget::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        (out.status, out.parts.copied, out.parts.reused, out.size),
        (UploadStatus::Done, 2, 5, Some(10_500))
    );
    assert_eq!(store.stored(&sum), Some(data));
    assert_eq!(store.count("UploadPart "), 0);
    assert_eq!(
        store.count("GetObject"),
        1,
        "the continuation carries the verified sum"
    );
    assert!(
        store
            .calls
            .lock()
            .unwrap()
            .contains(&"UploadPartCopy 7 10000-10499".to_string())
    );
}

/// A staged file replaced between two invocations of a copy is never stored under the sum
/// verified for the first version: the continuation's copies fail, the upload is aborted.
#[tokio::test]
async fn a_file_replaced_during_a_copy_fails_the_upload_and_stores_nothing() {
    let data = image();
    let sum = sha(&data);
    let store = Memory::with_source("d/disk.raw", &data).shared();
    let mut first = input("d/disk.raw", Some(&sum));
    first.max_parts = Some(5);
    let out = upload(&store, &first).await.unwrap();
    let continuation = out.continuation.clone().unwrap();
    assert_eq!(continuation.source_etag, Some(etag_of(&data)));

    let mut replaced = data.clone();
    replaced[10_400] ^= 0xff;
    store.put("staging", "d/disk.raw", replaced, None);
    let err = run(
        &store,
        &UploadInput {
            continuation: Some(continuation),
            ..input("d/disk.raw", Some(&sum))
        },
        &TUNING,
        Budget::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(
        (err.kind, err.message.as_str()),
        (
            ErrorKind::InvalidInput,
            "s3://staging/d/disk.raw: the file changed while it was uploaded"
        )
    );
    assert_eq!(store.stored(&sum), None);
    assert_eq!(store.count("AbortMultipartUpload"), 1);
    assert_eq!(store.count("CompleteMultipartUpload"), 0);
}

#[tokio::test]
async fn a_wrong_sum_of_an_uncompressed_image_fails_before_anything_is_created() {
    let store = Memory::with_source("d/disk.raw", &image()).shared();
    let err = upload(&store, &input("d/disk.raw", Some(&"0".repeat(64))))
        .await
        .unwrap_err();
    assert!(
        err.message
            .starts_with("s3://staging/d/disk.raw: sha256sum: the staged metadata says 0000"),
        "{}",
        err.message
    );
    assert_eq!(store.count("CreateMultipartUpload"), 0);
}

#[tokio::test]
async fn losing_the_bucket_race_to_ourselves_is_success() {
    let compressed = xz(&image()).await;
    let sum = sha(&compressed);
    let store = Memory {
        race: true,
        ..Memory::with_source("d/disk.raw.xz", &compressed)
    }
    .shared();
    store.buckets.lock().unwrap().push("target".into());
    let out = upload(&store, &input("d/disk.raw.xz", Some(&sum)))
        .await
        .unwrap();
    assert_eq!(out.status, UploadStatus::Done);
    assert_eq!(store.count("CreateBucket"), 1);

    let existing = Memory::with_source("d/disk.raw.xz", &compressed).shared();
    existing.buckets.lock().unwrap().push("target".into());
    upload(&existing, &input("d/disk.raw.xz", Some(&sum)))
        .await
        .unwrap();
    assert_eq!(existing.count("CreateBucket"), 0);
}

#[tokio::test]
async fn the_oldest_pending_upload_is_resumed_and_foreign_objects_replaced() {
    let compressed = xz(&image()).await;
    let sum = sha(&compressed);
    let store = Memory::with_source("d/disk.raw.xz", &compressed).shared();
    store.put("target", &sum, b"not ours".to_vec(), None);
    for (id, initiated) in [
        ("b-new", "2026-11-21T12:00:00Z"),
        ("a-old", "2026-11-20T12:00:00Z"),
    ] {
        store.uploads.lock().unwrap().insert(
            id.into(),
            Pending {
                bucket: "target".into(),
                key: sum.clone(),
                initiated: initiated.into(),
                object: NewObject {
                    sha256: sum.clone(),
                    tags: Vec::new(),
                    checksums: true,
                },
                parts: BTreeMap::new(),
            },
        );
    }
    upload(&store, &input("d/disk.raw.xz", Some(&sum)))
        .await
        .unwrap();
    let uploads = store.uploads.lock().unwrap();
    assert_eq!(uploads.keys().collect::<Vec<_>>(), ["b-new"]);
    drop(uploads);
    assert_eq!(store.stored(&sum), Some(image()));
}

#[tokio::test]
async fn a_passed_deadline_still_sends_one_part_per_invocation() {
    let compressed = xz(&image()).await;
    let sum = sha(&compressed);
    let store = Memory::with_source("d/disk.raw.xz", &compressed).shared();
    let past = Budget {
        deadline: Some(std::time::Instant::now()),
        max_parts: None,
    };
    let mut rounds = 0;
    loop {
        rounds += 1;
        let out = run(&store, &input("d/disk.raw.xz", Some(&sum)), &TUNING, past)
            .await
            .unwrap();
        assert!(out.parts.uploaded <= 1);
        if out.status == UploadStatus::Done {
            break;
        }
    }
    assert_eq!(rounds, 7);
    assert_eq!(store.stored(&sum), Some(image()));
}

#[tokio::test]
async fn bad_inputs_fail_with_the_file_and_field() {
    let store = Memory::with_source("d/empty.raw.xz", &xz(b"").await).shared();
    store.put("staging", "d/junk.raw.xz", b"not xz at all".to_vec(), None);
    store.put("staging", "d/empty.raw", Vec::new(), None);
    let err = upload(&store, &input("d/empty.raw.xz", None))
        .await
        .unwrap_err();
    assert_eq!(
        err.message,
        "s3://staging/d/empty.raw.xz: the image is empty"
    );
    let err = upload(&store, &input("d/empty.raw", None))
        .await
        .unwrap_err();
    assert_eq!(err.message, "s3://staging/d/empty.raw: the image is empty");
    let err = upload(&store, &input("d/junk.raw.xz", Some(&"1".repeat(64))))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(
        err.message
            .starts_with("s3://staging/d/junk.raw.xz: not a valid xz file"),
        "{}",
        err.message
    );
    let err = upload(&store, &input("d/junk.raw.xz", Some("12ab")))
        .await
        .unwrap_err();
    assert_eq!(
        err.message,
        "s3://staging/d/junk.raw.xz: sha256sum: \"12ab\" is not 64 hex digits"
    );
}
