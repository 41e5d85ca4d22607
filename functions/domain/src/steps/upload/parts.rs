//! How an image is cut into multipart-upload parts, and when a stored part can be reused.
//!
//! Part boundaries depend only on the part number, so every invocation of a resumed upload
//! cuts the image the same way: `small` parts of `part_size` bytes, then parts of
//! `large_part_size` bytes up to S3's 10 000 parts.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use md5::Md5;
use sha2::{Digest, Sha256};

use crate::hex;
use crate::ports::StoredPart;

/// S3's limit on the parts of one upload.
pub const MAX_PARTS: u32 = 10_000;

/// Part sizes and parallelism.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuning {
    /// Size of the first `small_parts` parts.
    pub part_size: u64,
    /// How many parts have `part_size`.
    pub small_parts: u32,
    /// Size of the parts after those.
    pub large_part_size: u64,
    /// Bytes of part data held in memory at once (parts being read, hashed or sent); at least
    /// one part is always allowed.
    pub in_flight_bytes: u64,
}

impl Default for Tuning {
    /// 8 MiB parts (awspub's size; 62.5 GiB in 8000 parts), then 64 MiB parts (up to about
    /// 187 GiB in all); 32 MiB of parts in flight (four 8 MiB parts).
    fn default() -> Self {
        Tuning {
            part_size: 8 << 20,
            small_parts: 8000,
            large_part_size: 64 << 20,
            in_flight_bytes: 32 << 20,
        }
    }
}

impl Tuning {
    /// The size of part `number` (1-based), unless it is the last one.
    pub fn size_of(&self, number: u32) -> u64 {
        if number <= self.small_parts {
            self.part_size
        } else {
            self.large_part_size
        }
    }

    /// The offset of part `number` (1-based) in the image.
    pub fn offset_of(&self, number: u32) -> u64 {
        let before = u64::from(number.saturating_sub(1));
        let small = before.min(u64::from(self.small_parts));
        small * self.part_size + (before - small) * self.large_part_size
    }

    /// How many parts an image of `size` bytes takes (at least one).
    pub fn count_for(&self, size: u64) -> u32 {
        let small_total = u64::from(self.small_parts) * self.part_size;
        let count = if size <= small_total {
            size.div_ceil(self.part_size)
        } else {
            u64::from(self.small_parts) + (size - small_total).div_ceil(self.large_part_size)
        };
        u32::try_from(count.max(1)).unwrap_or(u32::MAX)
    }
}

/// The checksums of a chunk of the image read locally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkDigest {
    /// Base64 SHA-256 (S3's `ChecksumSHA256` of a part).
    pub sha256: String,
    /// Hex MD5 (the ETag of an unencrypted or SSE-S3 part).
    pub md5: String,
}

impl ChunkDigest {
    /// The digests of `data`.
    pub fn of(data: &[u8]) -> Self {
        ChunkDigest {
            sha256: STANDARD.encode(Sha256::digest(data)),
            md5: hex(&<Md5 as md5::Digest>::digest(data)),
        }
    }

    /// Whether `stored` holds exactly this chunk: same size and the same SHA-256 when the
    /// store records it, else the same MD5 ETag. A part with neither is not trusted.
    pub fn matches(&self, size: u64, stored: &StoredPart) -> bool {
        if stored.size != size {
            return false;
        }
        match &stored.sha256 {
            Some(sha) => *sha == self.sha256,
            None => stored
                .etag
                .trim_matches('"')
                .eq_ignore_ascii_case(&self.md5),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_switches_to_large_parts_after_the_small_ones() {
        let t = Tuning {
            part_size: 10,
            small_parts: 3,
            large_part_size: 100,
            in_flight_bytes: 10,
        };
        assert_eq!(
            (t.size_of(3), t.size_of(4), t.offset_of(1), t.offset_of(4)),
            (10, 100, 0, 30)
        );
        assert_eq!(t.offset_of(6), 230);
        assert_eq!(
            (
                t.count_for(0),
                t.count_for(30),
                t.count_for(31),
                t.count_for(131)
            ),
            (1, 3, 4, 5)
        );
        let d = Tuning::default();
        assert_eq!(d.count_for(80 << 20), 10);
        assert!(u64::from(MAX_PARTS - d.small_parts) * d.large_part_size > 120 << 30);
    }

    #[test]
    fn a_stored_part_is_reused_only_when_size_and_checksum_agree() {
        let digest = ChunkDigest::of(b"hello");
        let part = |etag: &str, sha: Option<&str>, size| StoredPart {
            number: 1,
            etag: etag.into(),
            size,
            sha256: sha.map(Into::into),
        };
        let md5 = "\"5d41402abc4b2a76b9719d911017c592\"";
        assert!(digest.matches(5, &part(md5, None, 5)));
        assert!(!digest.matches(5, &part(md5, None, 6)));
        assert!(!digest.matches(5, &part("\"0000\"", None, 5)));
        assert!(digest.matches(5, &part("x", Some(&digest.sha256), 5)));
        assert!(!digest.matches(5, &part(md5, Some("AAAA"), 5)));
    }
}
