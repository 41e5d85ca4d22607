//! `<dest>/CLOUD_IMAGES/<dir>/resources.yaml` (pushsource `staged_cloud.py`), the layout
//! pubtools-marketplacesvm pushes. The reference loader does not validate the file against
//! its schema; we check types and required fields, so a bad file fails before any upload.

use serde_json::Value;

use crate::error::Result;
use crate::inputs::fields::{Located, Obj, parse_document};
use crate::inputs::item::{
    Attributes, BuildInfo, ImageKind, Layout, PushItem, Release, Strictness, read_date,
};
use crate::inputs::tree::{EntryKind, FileTree, check_relative};

use super::aws_images::read_sha256;
use super::{Staged, shown};

/// Whether a path is `<dest>/CLOUD_IMAGES/<dir>/resources.yaml`.
pub(super) fn is_resources_file(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    parts.len() == 4 && parts[1] == "CLOUD_IMAGES" && parts[3] == "resources.yaml"
}

/// Reads every `<dest>/CLOUD_IMAGES/<dir>/resources.yaml`.
pub(super) fn read_dir(tree: &dyn FileTree, dest: &str, staged: &mut Staged) -> Result<()> {
    for dir in tree.children(&format!("{dest}/CLOUD_IMAGES")) {
        if dir.kind != EntryKind::Dir {
            continue;
        }
        let resources = format!("{}/resources.yaml", dir.path);
        if tree
            .entry(&resources)
            .is_none_or(|e| e.kind != EntryKind::File)
        {
            continue;
        }
        read_resources(tree, dest, &dir.path, &resources, staged)?;
    }
    Ok(())
}

fn read_resources(
    tree: &dyn FileTree,
    dest: &str,
    dir: &str,
    resources: &str,
    staged: &mut Staged,
) -> Result<()> {
    let file = shown(tree, resources);
    let doc = parse_document(&file, &tree.read(resources)?)?;
    if doc.is_null() {
        staged.warn(format!("Resources.yaml file at {file} is empty (ignored)"));
        return Ok(());
    }
    let root = Located::new(&file, "", &doc);
    let obj = root.obj()?;
    // pushsource's cloud schema: `api: v1`, `resource: CloudImage`
    for (key, wanted) in [("api", "v1"), ("resource", "CloudImage")] {
        match obj.str_opt(key)? {
            Some(value) if value == wanted => {}
            Some(_) => return Err(obj.error(key, format!("must be {wanted}"))),
            None => {
                return Err(obj.error(
                    key,
                    format!("required string is missing (must be {wanted})"),
                ));
            }
        }
    }
    let kind = match obj.str_opt("type")?.as_deref() {
        Some("AMI") => ImageKind::Ami,
        Some("VHD") => ImageKind::Vhd,
        other => {
            staged.warn(format!(
                "{file}: type {} is neither AMI nor VHD (ignored)",
                other.unwrap_or("(missing)")
            ));
            return Ok(());
        }
    };
    let description = obj.str_req("description")?;
    let build = obj
        .child("build")
        .ok_or_else(|| obj.error("build", "required mapping is missing"))?;
    let build = build.obj()?;
    let build_info = BuildInfo {
        name: build.str_nonempty("name")?,
        version: build.str_nonempty("version")?,
        release: respin_text(&build)?,
    };
    // a Koji name, version and release: no control characters (NUL, newlines)
    for (key, value) in [
        ("name", &build_info.name),
        ("version", &build_info.version),
        ("respin", &build_info.release),
    ] {
        if value.chars().any(char::is_control) {
            return Err(build.error(key, "contains a control character"));
        }
    }
    let release_loc = obj.child("release");
    let release_obj = release_loc.as_ref().map(|l| l.obj()).transpose()?;
    let date = match &release_obj {
        Some(r) => read_date(r, "date")?,
        None => None,
    }
    .ok_or_else(|| {
        obj.error(
            "release.date",
            "required date (YYYYMMDD) is missing; AMI and VHD names need it",
        )
    })?;
    let opt = |key: &str| -> Result<Option<String>> {
        match &release_obj {
            Some(r) => r.str_opt(key),
            None => Ok(None),
        }
    };
    let version = opt("version")?.or_else(|| Some(build_info.version.clone()));
    let (base_product, base_version, variant, release_type) = match kind {
        ImageKind::Ami => (
            opt("base_product")?,
            opt("base_version")?,
            opt("variant")?,
            opt("type")?,
        ),
        ImageKind::Vhd => (None, None, None, None),
    };
    let product = build_info
        .name
        .rsplit_once('-')
        .map_or(build_info.name.as_str(), |(head, _)| head)
        .to_string();
    let respin = build_info.release.parse::<i64>().unwrap_or(0);
    let attributes = match kind {
        ImageKind::Ami => {
            // pushsource copies the documented AMI keys (and `type: AMI`), not these.
            let mut a = Attributes::read(&obj, Strictness::Types)?;
            a.billing_codes = None;
            a.marketplace_title_template = None;
            a.marketplace_name = None;
            a
        }
        ImageKind::Vhd => Attributes {
            description: Some(description.clone()),
            ..Attributes::default()
        },
    };

    let images = obj
        .child("images")
        .ok_or_else(|| obj.error("images", "required list is missing"))?;
    let images = images.list()?;
    let mut paths = Vec::new();
    for image in &images {
        let path = image.obj()?.str_nonempty("path")?;
        if path.contains('/') {
            staged.warn(format!("Unexpected '/' in {file} (ignored)"));
            return Ok(());
        }
        paths.push(path);
    }
    let mut items = Vec::new();
    for (image, path) in images.iter().zip(paths) {
        let img = image.obj()?;
        check_relative(&file, &img.field("path"), &path)?;
        let arch = img.str_nonempty("architecture")?;
        let source = format!("{dir}/{path}");
        let size = match tree.entry(&source) {
            Some(e) if e.kind == EntryKind::File => e.size,
            _ => {
                staged.warn(format!(
                    "{file}: {}: image file {path} is not in the staged directory",
                    img.field("path")
                ));
                None
            }
        };
        items.push(PushItem {
            kind,
            layout: Layout::CloudImages,
            name: path.clone(),
            source,
            staged_dir: tree.label().to_string(),
            origin: dir.to_string(),
            dest: vec![dest.to_string()],
            sha256sum: read_sha256(img.child("sha256sum"))?,
            size,
            build_info: Some(build_info.clone()),
            release: Release {
                product: product.clone(),
                date: date.clone(),
                arch,
                respin,
                version: version.clone(),
                base_product: base_product.clone(),
                base_version: base_version.clone(),
                variant: variant.clone(),
                release_type: release_type.clone(),
            },
            attributes: attributes.clone(),
            vhd: Default::default(),
        });
    }
    staged.items.extend(items);
    Ok(())
}

/// `build.respin` as text: YAML may give it as a number.
fn respin_text(build: &Obj<'_>) -> Result<String> {
    match build.get("respin") {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(Value::Number(n)) if n.is_i64() => Ok(n.to_string()),
        Some(_) => Err(build.error("respin", "expected a string or integer")),
        None => Err(build.error("respin", "required string is missing")),
    }
}
