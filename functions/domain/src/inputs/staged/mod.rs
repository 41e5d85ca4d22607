//! The pushsource `staged:` source: a staged directory becomes push items.
//!
//! Layout (pushsource `StagedSource`): an optional metadata file at the top
//! (`staged.yaml | staged.yml | staged.json | pub-mapfile.json`, first found wins), `logs/`
//! (ignored), and destination directories holding `AWS_IMAGES/` (files described by the
//! metadata file) and `CLOUD_IMAGES/<dir>/resources.yaml`. Items come out sorted by path, so
//! plans are deterministic where pushsource's thread pool is not.

mod aws_images;
mod cloud_images;

use tracing::warn;

use crate::error::{Error, Result};
use crate::inputs::item::PushItem;
use crate::inputs::tree::{EntryKind, FileTree};

pub use aws_images::StagedMetadata;

/// Candidate names of the top-level metadata file, in the order pushsource tries them.
pub const METADATA_FILES: [&str; 4] = [
    "staged.yaml",
    "staged.yml",
    "staged.json",
    "pub-mapfile.json",
];

/// The items read from one staged directory, with the warnings the reference would log.
#[derive(Debug, Default)]
pub struct Staged {
    /// AMI and VHD items, sorted by source path.
    pub items: Vec<PushItem>,
    /// Non-fatal findings (ignored directories, empty files...).
    pub warnings: Vec<String>,
}

impl Staged {
    fn warn(&mut self, message: String) {
        warn!("{message}");
        self.warnings.push(message);
    }
}

/// The metadata files a reader must fetch for [`read_staged`], given a tree listing: lets an
/// object-store adapter list a prefix once and download only these small files.
pub fn metadata_paths(tree: &dyn FileTree) -> Vec<String> {
    let mut paths: Vec<String> = METADATA_FILES
        .iter()
        .find(|name| is_file(tree, name))
        .map(|name| name.to_string())
        .into_iter()
        .collect();
    paths.extend(
        tree.entries()
            .iter()
            .filter(|e| e.kind == EntryKind::File && cloud_images::is_resources_file(&e.path))
            .map(|e| e.path.clone()),
    );
    paths
}

/// Reads every VM image item of a staged directory.
pub fn read_staged(tree: &dyn FileTree) -> Result<Staged> {
    let mut staged = Staged::default();
    let metadata_name = METADATA_FILES.iter().find(|name| is_file(tree, name));
    let destinations: Vec<String> = tree
        .children("")
        .into_iter()
        .filter(|e| e.kind == EntryKind::Dir && e.path != "logs")
        .map(|e| e.path.clone())
        .collect();

    if destinations.is_empty() {
        if metadata_name.is_none() {
            return Err(Error::Layout {
                file: tree.label().to_string(),
                problem: "does not appear to be a staging directory (no destination directories and no staged.yaml)".into(),
            });
        }
        staged.warn(format!("{} has no destination directories", tree.label()));
        return Ok(staged);
    }

    let metadata = match metadata_name {
        Some(name) => Some(StagedMetadata::parse(
            &shown(tree, name),
            &tree.read(name)?,
        )?),
        None => None,
    };

    for dest in &destinations {
        for entry in tree.children(dest) {
            let type_dir = crate::inputs::tree::basename(&entry.path);
            match (entry.kind, type_dir) {
                (EntryKind::Dir, "AWS_IMAGES") => {
                    aws_images::read_dir(tree, dest, metadata.as_ref(), &mut staged)?
                }
                (EntryKind::Dir, "CLOUD_IMAGES") => {
                    cloud_images::read_dir(tree, dest, &mut staged)?
                }
                _ => {}
            }
        }
    }
    staged.items.sort_by(|a, b| a.source.cmp(&b.source));
    Ok(staged)
}

/// A path inside a tree as the user sees it, for messages.
pub(crate) fn shown(tree: &dyn FileTree, path: &str) -> String {
    format!("{}/{path}", tree.label().trim_end_matches('/'))
}

fn is_file(tree: &dyn FileTree, path: &str) -> bool {
    tree.entry(path).is_some_and(|e| e.kind == EntryKind::File)
}

#[cfg(test)]
mod tests;
