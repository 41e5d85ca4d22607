//! `<dest>/AWS_IMAGES/<file>` described by `staged.yaml` (pushsource `staged_ami.py`, schema
//! `staged-schema.yaml`), the layout pubtools-ami pushes.
//!
//! One deliberate difference: the entry's `sha256sum` is kept on the item (pushsource drops
//! it) so uploads can verify it.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::inputs::fields::{Located, parse_document};
use crate::inputs::item::{
    ATTRIBUTE_KEYS, Attributes, ImageKind, Layout, PushItem, Release, Strictness,
};
use crate::inputs::tree::{EntryKind, FileTree, basename, check_relative};

use super::Staged;

/// One `payload.files[]` entry.
#[derive(Debug)]
struct FileEntry {
    index: usize,
    sha256sum: Option<String>,
    attributes: Option<Value>,
}

/// A parsed, header-checked top-level metadata file.
#[derive(Debug)]
pub struct StagedMetadata {
    file: String,
    entries: BTreeMap<String, FileEntry>,
}

/// Legacy entries that pushsource accepts without validation.
fn is_legacy(relative_path: &str) -> bool {
    let mut parts = relative_path.splitn(3, '/');
    parts.next();
    matches!(parts.next(), Some("DOCKER" | "CHANNEL_DUMPS")) && parts.next().is_some()
}

/// Checks an optional `sha256sum`: 64 hex digits, returned lower-case.
pub(super) fn read_sha256(located: Option<Located<'_>>) -> Result<Option<String>> {
    let Some(located) = located else {
        return Ok(None);
    };
    match located.value() {
        Value::String(s) if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(Some(s.to_ascii_lowercase()))
        }
        _ => Err(located.error("expected 64 hexadecimal digits")),
    }
}

impl StagedMetadata {
    /// Parses `staged.yaml` (YAML) or a `.json` metadata file; `file` names it in errors.
    pub fn parse(file: &str, bytes: &[u8]) -> Result<Self> {
        let doc = parse_document(file, bytes)?;
        let root = Located::new(file, "", &doc);
        let root = root.obj()?;
        let header = root
            .child("header")
            .ok_or_else(|| root.error("header", "required mapping is missing"))?;
        let header = header.obj()?;
        match header.get("version") {
            Some(Value::String(v)) if v == "0.2" => {}
            Some(Value::String(v)) => {
                return Err(header.error(
                    "version",
                    format!("unsupported version '{v}' (expected \"0.2\")"),
                ));
            }
            Some(_) => {
                return Err(header.error("version", "must be the string \"0.2\" (quote it)"));
            }
            None => return Err(header.error("version", "required string is missing")),
        }
        let payload = root
            .child("payload")
            .ok_or_else(|| root.error("payload", "required mapping is missing"))?;
        let payload = payload.obj()?;
        let mut entries = BTreeMap::new();
        let Some(files) = payload.child("files") else {
            return Ok(StagedMetadata {
                file: file.to_string(),
                entries,
            });
        };
        for (index, entry) in files.list()?.into_iter().enumerate() {
            let obj = entry.obj()?;
            let relative_path = obj.str_req("relative_path")?;
            if relative_path.len() < 3 {
                return Err(obj.error("relative_path", "must be at least 3 characters long"));
            }
            check_relative(file, &obj.field("relative_path"), &relative_path)?;
            if entries.contains_key(&relative_path) {
                return Err(obj.error(
                    "relative_path",
                    format!("File {relative_path} listed twice in {file}"),
                ));
            }
            let legacy = is_legacy(&relative_path);
            let sha256sum = if legacy {
                None
            } else {
                obj.str_opt("filename")?;
                obj.str_opt("version")?;
                if let Some(order) = obj.get("order")
                    && !order.is_number()
                {
                    return Err(obj.error("order", "expected number"));
                }
                read_sha256(obj.child("sha256sum"))?
            };
            entries.insert(
                relative_path,
                FileEntry {
                    index,
                    sha256sum,
                    attributes: (!legacy).then(|| obj.get("attributes").cloned()).flatten(),
                },
            );
        }
        Ok(StagedMetadata {
            file: file.to_string(),
            entries,
        })
    }

    /// Builds the AMI push item of one `AWS_IMAGES` file from its metadata entry.
    fn item(&self, tree: &dyn FileTree, dest: &str, relative_path: &str) -> Result<PushItem> {
        let entry = self
            .entries
            .get(relative_path)
            .ok_or_else(|| Error::Layout {
                file: self.file.clone(),
                problem: format!(
                    "No metadata available for {relative_path} in {}",
                    basename(&self.file)
                ),
            })?;
        let path = format!("payload.files[{}].attributes", entry.index);
        let attributes = entry
            .attributes
            .as_ref()
            .ok_or_else(|| Error::invalid(&self.file, &path, "required mapping is missing"))?;
        let located = Located::new(&self.file, path, attributes);
        let obj = located.obj()?;
        let mut allowed = ATTRIBUTE_KEYS.to_vec();
        allowed.push("release");
        obj.deny_unknown(&allowed)?;
        for key in ["region", "type", "virtualization", "volume", "root_device"] {
            obj.str_req(key)?;
        }
        let release = obj
            .child("release")
            .ok_or_else(|| obj.error("release", "required mapping is missing"))?;
        let release = Release::read(&release.obj()?, Strictness::Schema)?;
        let mut attributes = Attributes::read(&obj, Strictness::Schema)?;
        if attributes.description.is_none() {
            return Err(obj.error("description", "required string is missing"));
        }
        // pushsource accepts these two in the schema but its loader drops them.
        attributes.marketplace_title_template = None;
        attributes.marketplace_name = None;
        Ok(PushItem {
            kind: ImageKind::Ami,
            layout: Layout::AwsImages,
            name: basename(relative_path).to_string(),
            source: relative_path.to_string(),
            staged_dir: tree.label().to_string(),
            origin: format!("{dest}/AWS_IMAGES"),
            dest: vec![dest.to_string()],
            sha256sum: entry.sha256sum.clone(),
            size: tree.entry(relative_path).and_then(|e| e.size),
            build_info: None,
            release,
            attributes,
            vhd: Default::default(),
        })
    }
}

/// Reads the files of `<dest>/AWS_IMAGES`.
pub(super) fn read_dir(
    tree: &dyn FileTree,
    dest: &str,
    metadata: Option<&StagedMetadata>,
    staged: &mut Staged,
) -> Result<()> {
    let dir = format!("{dest}/AWS_IMAGES");
    for entry in tree.children(&dir) {
        if entry.kind != EntryKind::File {
            continue;
        }
        let Some(metadata) = metadata else {
            return Err(Error::Layout {
                file: format!("{}/{}", tree.label(), entry.path),
                problem: "No metadata available: the staged directory has no staged.yaml".into(),
            });
        };
        staged.items.push(metadata.item(tree, dest, &entry.path)?);
    }
    Ok(())
}
