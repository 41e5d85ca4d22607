//! Staged content for end-to-end tests: the workspace's fixtures, a disk image, its sha256,
//! xz compression, and putting files into the stack's staging bucket.

use std::path::Path;

use async_compression::Level;
use async_compression::tokio::bufread::XzEncoder;
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;
use vmpush_local::STAGING_BUCKET;
use vmpush_local::testing::TestStack;

/// The workspace root.
pub fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// The sha256 of `data`, in hex.
pub fn sha(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A disk image of `size` bytes: zeros with a random 64 KiB block in every MiB.
pub fn image(size: usize, seed: u64) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut data = vec![0u8; size];
    for block in data.chunks_mut(1 << 20) {
        let random = block.len().min(64 << 10);
        rng.fill(&mut block[..random]);
    }
    data
}

/// `data`, xz-compressed.
pub async fn xz(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    XzEncoder::with_quality(data, Level::Fastest)
        .read_to_end(&mut out)
        .await
        .unwrap();
    out
}

/// Puts `data` at `key` of the staging bucket.
pub fn stage(stack: &TestStack, key: &str, data: &[u8]) {
    let file = stack.scratch().join(key.replace('/', "_"));
    std::fs::write(&file, data).unwrap();
    stack.aws(&[
        "s3api",
        "put-object",
        "--bucket",
        STAGING_BUCKET,
        "--key",
        key,
        "--body",
        file.to_str().unwrap(),
    ]);
}
