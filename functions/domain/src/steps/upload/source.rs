//! Reading a staged image: the bytes as stored are hashed, then decompressed when the file is
//! `.xz` (the decompressed content is hashed too: a staged `sha256sum` may be either), and cut
//! into parts.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_compression::tokio::bufread::XzDecoder;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, BufReader, ReadBuf};

use crate::hex;
use crate::ports::Reader;
use crate::steps::{ErrorKind, StepError};

/// Hashes what passes through and remembers whether the inner stream (the network) failed,
/// so a broken connection is told apart from a corrupt file.
struct Hashing {
    inner: Reader,
    hasher: Sha256,
    bytes: u64,
    failed: bool,
}

impl AsyncRead for Hashing {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        match &polled {
            Poll::Ready(Ok(())) => {
                let new = &buf.filled()[before..];
                this.hasher.update(new);
                this.bytes += new.len() as u64;
            }
            Poll::Ready(Err(_)) => this.failed = true,
            Poll::Pending => {}
        }
        polled
    }
}

/// A staged image being read: parts of its (decompressed) content, and the sha256 of the
/// file as stored (and of its content, when decompressed).
pub struct Source {
    label: String,
    content: Content,
    content_bytes: u64,
    content_hasher: Option<Sha256>,
}

/// The checksums of a file read to its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sums {
    /// sha256 of the file as stored.
    pub file: String,
    /// sha256 of its decompressed content (`.xz` files only).
    pub content: Option<String>,
}

enum Content {
    Plain(Hashing),
    Xz(Box<XzDecoder<BufReader<Hashing>>>),
}

impl Source {
    /// Reads `reader`, the object `label`; `.xz` names are decompressed.
    pub fn new(label: &str, reader: Reader) -> Self {
        let hashing = Hashing {
            inner: reader,
            hasher: Sha256::new(),
            bytes: 0,
            failed: false,
        };
        let xz = label.ends_with(".xz");
        let content = if xz {
            let mut decoder = XzDecoder::new(BufReader::with_capacity(1 << 20, hashing));
            decoder.multiple_members(true);
            Content::Xz(Box::new(decoder))
        } else {
            Content::Plain(hashing)
        };
        Source {
            label: label.to_string(),
            content,
            content_bytes: 0,
            content_hasher: xz.then(Sha256::new),
        }
    }

    fn hashing(&self) -> &Hashing {
        match &self.content {
            Content::Plain(h) => h,
            Content::Xz(d) => d.get_ref().get_ref(),
        }
    }

    /// The next `size` bytes of content, fewer at the end, none after it.
    pub async fn next_part(&mut self, size: u64) -> Result<Vec<u8>, StepError> {
        let mut part = Vec::with_capacity(usize::try_from(size).unwrap_or(usize::MAX));
        let read = match &mut self.content {
            Content::Plain(h) => h.take(size).read_to_end(&mut part).await,
            Content::Xz(d) => d.as_mut().take(size).read_to_end(&mut part).await,
        };
        match read {
            Ok(n) => {
                self.content_bytes += n as u64;
                if let Some(hasher) = &mut self.content_hasher {
                    hasher.update(&part);
                }
                Ok(part)
            }
            Err(e) if self.hashing().failed => Err(StepError::new(
                ErrorKind::Transient,
                format!("reading {}: {e}", self.label),
            )),
            Err(e) => Err(StepError::invalid(format!(
                "{}: not a valid xz file: {e}",
                self.label
            ))),
        }
    }

    /// Bytes of content read so far.
    pub fn content_bytes(&self) -> u64 {
        self.content_bytes
    }

    /// Reads whatever is left of the stored file (an `.xz` file can carry padding or an index
    /// after the content) and returns its checksums and size.
    pub async fn finish(self) -> Result<(Sums, u64), StepError> {
        let content = self.content_hasher.clone().map(|h| hex(&h.finalize()));
        let mut hashing = match self.content {
            Content::Plain(h) => h,
            Content::Xz(d) => d.into_inner().into_inner(),
        };
        tokio::io::copy(&mut hashing, &mut tokio::io::sink())
            .await
            .map_err(|e| {
                StepError::new(ErrorKind::Transient, format!("reading {}: {e}", self.label))
            })?;
        let file = hex(&hashing.hasher.finalize());
        Ok((Sums { file, content }, hashing.bytes))
    }
}

/// Hashes a whole stored file without keeping it: its sha256 and size.
pub async fn hash_file(label: &str, reader: Reader) -> Result<(String, u64), StepError> {
    Source {
        label: label.to_string(),
        content: Content::Plain(Hashing {
            inner: reader,
            hasher: Sha256::new(),
            bytes: 0,
            failed: false,
        }),
        content_bytes: 0,
        content_hasher: None,
    }
    .finish()
    .await
    .map(|(sums, size)| (sums.file, size))
}
