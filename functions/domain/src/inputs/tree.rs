//! The abstract file tree a staged source is read from: a local directory now, an S3 prefix
//! later (through [`MemoryTree`], filled by the adapter). The staged parser only sees this.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use snafu::ResultExt;

use crate::error::{Error, LayoutSnafu, ReadSnafu, Result};

/// How deep a staged tree is read: `<dest>/CLOUD_IMAGES/<dir>/<file>`.
pub const MAX_DEPTH: usize = 4;

/// Metadata, mapping and credentials documents are small; anything larger is refused rather
/// than buffered (1 MiB: thousands of images, and parsed well within a function's memory).
pub const MAX_METADATA_BYTES: u64 = 1024 * 1024;

/// Reads a small local document (metadata, mappings, credentials): a regular file of at most
/// [`MAX_METADATA_BYTES`]. A FIFO or device (`/dev/zero`) is refused before it is opened, a
/// larger file after the limit, so no input blocks or fills memory.
pub fn read_small_file(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::{Error, ErrorKind, Read};
    if !fs::metadata(path)?.is_file() {
        return Err(Error::new(ErrorKind::InvalidInput, "not a regular file"));
    }
    let mut bytes = Vec::new();
    fs::File::open(path)?
        .take(MAX_METADATA_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_METADATA_BYTES {
        return Err(Error::new(
            ErrorKind::InvalidData,
            format!("larger than {MAX_METADATA_BYTES} bytes; not a metadata document"),
        ));
    }
    Ok(bytes)
}

/// What an entry of a tree is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file (or a link to one inside the tree).
    File,
    /// A directory (or a link to one inside the tree).
    Dir,
}

/// One entry of a tree: a `/`-separated path relative to the tree's root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path relative to the root, `/`-separated, never starting with `/`.
    pub path: String,
    /// File or directory.
    pub kind: EntryKind,
    /// Size in bytes, for files.
    pub size: Option<u64>,
}

/// A read-only tree of files.
pub trait FileTree {
    /// How the user named the tree (a directory, `s3://bucket/prefix`), for messages.
    fn label(&self) -> &str;
    /// Every entry down to [`MAX_DEPTH`], sorted by path.
    fn entries(&self) -> &[Entry];
    /// The content of a (small, metadata) file.
    fn read(&self, path: &str) -> Result<Vec<u8>>;

    /// The entry at a path, if any.
    fn entry(&self, path: &str) -> Option<&Entry> {
        self.entries()
            .binary_search_by(|e| e.path.as_str().cmp(path))
            .ok()
            .map(|i| &self.entries()[i])
    }

    /// The entries directly below a directory (`""` for the root).
    fn children(&self, dir: &str) -> Vec<&Entry> {
        self.entries()
            .iter()
            .filter(|e| parent(&e.path) == dir)
            .collect()
    }
}

/// The parent directory of a relative path (`""` for top-level entries).
pub fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// The last component of a relative path.
pub fn basename(path: &str) -> &str {
    path.rsplit_once('/').map_or(path, |(_, name)| name)
}

/// Checks that a path named inside metadata stays inside the tree: relative, no `..`, no
/// empty or `.` components.
pub fn check_relative(file: &str, field: &str, path: &str) -> Result<()> {
    let problem = if path.is_empty() {
        Some("must not be empty")
    } else if path.starts_with('/') {
        Some("must be relative to the staged directory, not absolute")
    } else if path.contains('\\') {
        Some("must use '/' as separator")
    } else if path.split('/').any(|c| c == "..") {
        Some("must not contain '..'")
    } else if path.split('/').any(|c| c.is_empty() || c == ".") {
        Some("must not contain empty or '.' components")
    } else {
        None
    };
    match problem {
        Some(p) => Err(Error::invalid(file, field, format!("'{path}' {p}"))),
        None => Ok(()),
    }
}

/// A staged directory on the local file system. Links are followed only while their target
/// stays inside the directory.
#[derive(Debug)]
pub struct LocalTree {
    label: String,
    root: PathBuf,
    entries: Vec<Entry>,
}

impl LocalTree {
    /// Reads the directory listing (not the file contents) of a staged directory.
    pub fn open(dir: &Path) -> Result<Self> {
        let label = dir.display().to_string();
        let root = fs::canonicalize(dir).context(ReadSnafu { file: &label })?;
        if !root.is_dir() {
            return LayoutSnafu {
                file: label,
                problem: "is not a directory",
            }
            .fail();
        }
        let mut tree = LocalTree {
            label,
            root,
            entries: Vec::new(),
        };
        tree.walk("", 1)?;
        tree.entries.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(tree)
    }

    fn walk(&mut self, rel: &str, depth: usize) -> Result<()> {
        let dir = self.root.join(rel);
        let label = self.label.trim_end_matches('/').to_string();
        let shown = |p: &str| format!("{label}/{p}");
        let listing = fs::read_dir(&dir).context(ReadSnafu { file: shown(rel) })?;
        for dirent in listing {
            let dirent = dirent.context(ReadSnafu { file: shown(rel) })?;
            let name = dirent
                .file_name()
                .into_string()
                .map_err(|_| Error::Layout {
                    file: shown(rel),
                    problem: "holds a file name that is not UTF-8".into(),
                })?;
            let path = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let meta = self.inside_metadata(&path)?;
            let kind = if meta.is_dir() {
                EntryKind::Dir
            } else if meta.is_file() {
                EntryKind::File
            } else {
                return LayoutSnafu {
                    file: shown(&path),
                    problem: "is neither a regular file nor a directory (a FIFO, socket or device is never read)",
                }
                .fail();
            };
            self.entries.push(Entry {
                path: path.clone(),
                kind,
                size: (kind == EntryKind::File).then_some(meta.len()),
            });
            if kind == EntryKind::Dir && depth < MAX_DEPTH {
                self.walk(&path, depth + 1)?;
            }
        }
        Ok(())
    }

    /// The metadata of a path, refusing links whose target leaves the tree.
    fn inside_metadata(&self, rel: &str) -> Result<fs::Metadata> {
        let full = self.root.join(rel);
        let shown = format!("{}/{rel}", self.label.trim_end_matches('/'));
        let lmeta = fs::symlink_metadata(&full).context(ReadSnafu { file: &shown })?;
        if !lmeta.file_type().is_symlink() {
            return Ok(lmeta);
        }
        let target = fs::canonicalize(&full).map_err(|_| Error::Layout {
            file: shown.clone(),
            problem: "is a broken symbolic link".into(),
        })?;
        if !target.starts_with(&self.root) {
            return LayoutSnafu {
                file: shown,
                problem: "is a symbolic link that leaves the staged directory",
            }
            .fail();
        }
        fs::metadata(&target).context(ReadSnafu { file: shown })
    }
}

impl FileTree for LocalTree {
    fn label(&self) -> &str {
        &self.label
    }

    fn entries(&self) -> &[Entry] {
        &self.entries
    }

    fn read(&self, path: &str) -> Result<Vec<u8>> {
        check_relative(&self.label, "path", path)?;
        let shown = format!("{}/{path}", self.label.trim_end_matches('/'));
        self.inside_metadata(path)?;
        read_small_file(&self.root.join(path)).context(ReadSnafu { file: shown })
    }
}

/// A tree held in memory: the listing of an S3 prefix with its metadata files fetched, or a
/// test fixture. Directories are derived from the file paths.
#[derive(Debug, Default)]
pub struct MemoryTree {
    label: String,
    entries: Vec<Entry>,
    contents: BTreeMap<String, Vec<u8>>,
}

impl MemoryTree {
    /// A tree of files given as `(relative path, size)`; paths deeper than [`MAX_DEPTH`] are
    /// dropped, paths escaping the root are refused.
    pub fn from_files<'a>(
        label: impl Into<String>,
        files: impl IntoIterator<Item = (&'a str, u64)>,
    ) -> Result<Self> {
        let label = label.into();
        let mut by_path = BTreeMap::new();
        for (path, size) in files {
            check_relative(&label, "key", path)?;
            let parts: Vec<&str> = path.split('/').collect();
            if parts.len() > MAX_DEPTH {
                continue;
            }
            for depth in 1..parts.len() {
                let dir = parts[..depth].join("/");
                by_path.entry(dir.clone()).or_insert(Entry {
                    path: dir,
                    kind: EntryKind::Dir,
                    size: None,
                });
            }
            by_path.insert(
                path.to_string(),
                Entry {
                    path: path.to_string(),
                    kind: EntryKind::File,
                    size: Some(size),
                },
            );
        }
        Ok(MemoryTree {
            label,
            entries: by_path.into_values().collect(),
            contents: BTreeMap::new(),
        })
    }

    /// A tree of files with their contents (fixtures, or metadata fetched up front).
    pub fn from_contents<'a>(
        label: impl Into<String>,
        files: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    ) -> Result<Self> {
        let files: Vec<(&str, &[u8])> = files.into_iter().collect();
        let mut tree =
            MemoryTree::from_files(label, files.iter().map(|(p, c)| (*p, c.len() as u64)))?;
        for (path, content) in files {
            tree.set_content(path, content.to_vec());
        }
        Ok(tree)
    }

    /// Sets the content of a file (a metadata file fetched by the adapter).
    pub fn set_content(&mut self, path: &str, content: Vec<u8>) {
        self.contents.insert(path.to_string(), content);
    }
}

impl FileTree for MemoryTree {
    fn label(&self) -> &str {
        &self.label
    }

    fn entries(&self) -> &[Entry] {
        &self.entries
    }

    fn read(&self, path: &str) -> Result<Vec<u8>> {
        self.contents
            .get(path)
            .cloned()
            .ok_or_else(|| Error::Layout {
                file: format!("{}/{path}", self.label.trim_end_matches('/')),
                problem: "content was not fetched".into(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_that_escape_are_refused() {
        for bad in ["", "/etc/passwd", "a/../b", "..", "a//b", "./a", "a\\b"] {
            let err = check_relative("staged.yaml", "payload.files[0].relative_path", bad)
                .expect_err(bad)
                .to_string();
            assert!(
                err.starts_with("staged.yaml: payload.files[0].relative_path: "),
                "{err}"
            );
        }
        check_relative("f", "k", "dest/AWS_IMAGES/a.raw").unwrap();
    }

    /// A FIFO in a staged tree fails the listing at once (reading it would block forever), and
    /// devices or oversized files are never read as documents.
    #[test]
    fn only_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let stage = dir.path().join("d/CLOUD_IMAGES/b");
        fs::create_dir_all(&stage).unwrap();
        let fifo = stage.join("resources.yaml");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let err = LocalTree::open(dir.path()).err().unwrap().to_string();
        assert_eq!(
            err,
            format!(
                "{}/d/CLOUD_IMAGES/b/resources.yaml: is neither a regular file nor a directory (a FIFO, socket or device is never read)",
                dir.path().display()
            )
        );
        assert_eq!(
            read_small_file(Path::new("/dev/zero"))
                .unwrap_err()
                .to_string(),
            "not a regular file"
        );
        let big = dir.path().join("big.yaml");
        fs::write(&big, vec![b'#'; MAX_METADATA_BYTES as usize + 1]).unwrap();
        assert_eq!(
            read_small_file(&big).unwrap_err().to_string(),
            "larger than 1048576 bytes; not a metadata document"
        );
    }

    #[test]
    fn memory_tree_derives_directories_and_children() {
        let tree = MemoryTree::from_files(
            "s3://b/p",
            [
                ("d/CLOUD_IMAGES/x/resources.yaml", 10),
                ("d/CLOUD_IMAGES/x/a.raw", 5),
                ("d/CLOUD_IMAGES/x/deep/too/far", 1),
            ],
        )
        .unwrap();
        let paths: Vec<_> = tree.entries().iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "d",
                "d/CLOUD_IMAGES",
                "d/CLOUD_IMAGES/x",
                "d/CLOUD_IMAGES/x/a.raw",
                "d/CLOUD_IMAGES/x/resources.yaml"
            ]
        );
        assert_eq!(tree.children("d/CLOUD_IMAGES/x").len(), 2);
        assert_eq!(tree.entry("d/CLOUD_IMAGES/x/a.raw").unwrap().size, Some(5));
        assert!(
            tree.read("d/CLOUD_IMAGES/x/a.raw")
                .unwrap_err()
                .to_string()
                .contains("s3://b/p/d/CLOUD_IMAGES/x/a.raw")
        );
    }

    #[cfg(unix)]
    #[test]
    fn local_tree_refuses_links_leaving_the_tree() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), b"x").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("d/AWS_IMAGES")).unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("secret"),
            dir.path().join("d/AWS_IMAGES/img.raw"),
        )
        .unwrap();
        let err = LocalTree::open(dir.path()).unwrap_err().to_string();
        assert!(
            err.ends_with(
                "d/AWS_IMAGES/img.raw: is a symbolic link that leaves the staged directory"
            ),
            "{err}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn local_tree_follows_links_inside_the_tree() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/AWS_IMAGES")).unwrap();
        std::fs::create_dir_all(dir.path().join("b/AWS_IMAGES")).unwrap();
        std::fs::write(dir.path().join("a/AWS_IMAGES/img.raw"), b"12345").unwrap();
        std::os::unix::fs::symlink(
            "../../a/AWS_IMAGES/img.raw",
            dir.path().join("b/AWS_IMAGES/img.raw"),
        )
        .unwrap();
        let tree = LocalTree::open(dir.path()).unwrap();
        let e = tree.entry("b/AWS_IMAGES/img.raw").unwrap();
        assert_eq!((e.kind, e.size), (EntryKind::File, Some(5)));
    }
}
