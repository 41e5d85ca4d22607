use super::*;
use crate::inputs::item::{BootMode, ImageKind, Layout};
use crate::inputs::tree::MemoryTree;

/// A tree whose files have the given contents.
fn tree(files: &[(&str, &str)]) -> MemoryTree {
    MemoryTree::from_contents("/stage", files.iter().map(|(p, c)| (*p, c.as_bytes()))).unwrap()
}

const SHA: &str = "04db0c39aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

fn ec2_resources() -> String {
    format!(
        r#"api: v1
resource: CloudImage
description: "Red Hat Enterprise Linux 9.4 for EC2"
boot_mode: hybrid
type: AMI
build: {{name: rhel-ec2, version: "9.4", respin: "1"}}
release: {{date: "20240501", variant: BaseOS, type: ga, product: IGNORED, arch: ignored}}
images:
  - {{path: rhel-ec2-9.4-1.x86_64.raw.xz, architecture: x86_64, sha256sum: {SHA}}}
  - {{path: rhel-ec2-9.4-1.arm64.raw.xz,  architecture: arm64,  sha256sum: {}}}
"#,
        SHA.to_uppercase()
    )
}

const AZURE_RESOURCES: &str = r#"api: v1
resource: CloudImage
description: "Red Hat Enterprise Linux 9.4 for Azure"
type: VHD
build: {name: rhel-azure, version: "9.4", respin: "1"}
release: {date: "20240501", variant: ignored-for-vhd}
images:
  - {path: rhel-azure-9.4-1.x86_64.vhd.xz, architecture: x86_64}
"#;

#[test]
fn cloud_images_yield_ami_and_vhd_items_like_pushsource() {
    // GIVEN the reference's realistic staged tree (spec 1.6)
    let res = ec2_resources();
    let t = tree(&[
        ("starmap/CLOUD_IMAGES/rhel-ec2-9.4-1/resources.yaml", &res),
        (
            "starmap/CLOUD_IMAGES/rhel-ec2-9.4-1/rhel-ec2-9.4-1.x86_64.raw.xz",
            "xx",
        ),
        (
            "starmap/CLOUD_IMAGES/rhel-ec2-9.4-1/rhel-ec2-9.4-1.arm64.raw.xz",
            "yyy",
        ),
        (
            "starmap/CLOUD_IMAGES/rhel-azure-9.4-1/resources.yaml",
            AZURE_RESOURCES,
        ),
        (
            "starmap/CLOUD_IMAGES/rhel-azure-9.4-1/rhel-azure-9.4-1.x86_64.vhd.xz",
            "z",
        ),
        ("starmap/CLOUD_IMAGES/no-resources/image.raw", "z"),
        ("logs/push.log", "ignored"),
    ]);
    // WHEN it is read
    let staged = read_staged(&t).unwrap();
    // THEN three items come out, sorted by path, with pushsource's fields
    let names: Vec<_> = staged.items.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "rhel-azure-9.4-1.x86_64.vhd.xz",
            "rhel-ec2-9.4-1.arm64.raw.xz",
            "rhel-ec2-9.4-1.x86_64.raw.xz"
        ]
    );
    let x86 = &staged.items[2];
    assert_eq!(x86.kind, ImageKind::Ami);
    assert_eq!(x86.layout, Layout::CloudImages);
    assert_eq!(
        x86.source,
        "starmap/CLOUD_IMAGES/rhel-ec2-9.4-1/rhel-ec2-9.4-1.x86_64.raw.xz"
    );
    assert_eq!(x86.origin, "starmap/CLOUD_IMAGES/rhel-ec2-9.4-1");
    assert_eq!(x86.dest, ["starmap"]);
    assert_eq!(x86.size, Some(2));
    assert_eq!(x86.sha256sum.as_deref(), Some(SHA));
    let b = x86.build_info.as_ref().unwrap();
    assert_eq!(
        (b.name.as_str(), b.version.as_str(), b.release.as_str()),
        ("rhel-ec2", "9.4", "1")
    );
    let r = &x86.release;
    assert_eq!(
        (
            r.product.as_str(),
            r.date.as_str(),
            r.arch.as_str(),
            r.respin
        ),
        ("rhel", "20240501", "x86_64", 1)
    );
    assert_eq!(
        (
            r.version.as_deref(),
            r.variant.as_deref(),
            r.release_type.as_deref()
        ),
        (Some("9.4"), Some("BaseOS"), Some("ga"))
    );
    assert_eq!(x86.attributes.boot_mode, Some(BootMode::Hybrid));
    assert_eq!(x86.attributes.image_type.as_deref(), Some("AMI"));
    assert_eq!(
        x86.attributes.description.as_deref(),
        Some("Red Hat Enterprise Linux 9.4 for EC2")
    );
    assert_eq!(
        staged.items[1].sha256sum.as_deref(),
        Some(SHA),
        "sha256 is lower-cased"
    );
    let vhd = &staged.items[0];
    assert_eq!(vhd.kind, ImageKind::Vhd);
    assert_eq!(vhd.release.product, "rhel");
    assert_eq!(
        (vhd.release.variant.clone(), vhd.attributes.boot_mode),
        (None, None)
    );
    assert!(staged.warnings.is_empty(), "{:?}", staged.warnings);
}

#[test]
fn release_version_overrides_build_version_and_bad_respin_is_zero() {
    let res = ec2_resources()
        .replace("respin: \"1\"", "respin: \"1.el9\"")
        .replace(
            "date: \"20240501\"",
            "date: \"2024-05-01\", version: \"9.4.1\"",
        );
    let t = tree(&[("d/CLOUD_IMAGES/b/resources.yaml", &res)]);
    let staged = read_staged(&t).unwrap();
    let r = &staged.items[0].release;
    assert_eq!(
        (r.version.as_deref(), r.respin, r.date.as_str()),
        (Some("9.4.1"), 0, "20240501")
    );
    assert!(
        staged
            .warnings
            .iter()
            .all(|w| w.contains("is not in the staged directory")),
        "{:?}",
        staged.warnings
    );
}

#[test]
fn empty_resources_and_slashes_are_warnings_that_yield_nothing() {
    let bad_path =
        ec2_resources().replace("path: rhel-ec2-9.4-1.arm64.raw.xz", "path: sub/rhel.raw");
    let t = tree(&[
        ("d/CLOUD_IMAGES/a/resources.yaml", ""),
        ("d/CLOUD_IMAGES/b/resources.yaml", &bad_path),
    ]);
    let staged = read_staged(&t).unwrap();
    assert!(staged.items.is_empty());
    assert_eq!(
        staged.warnings,
        [
            "Resources.yaml file at /stage/d/CLOUD_IMAGES/a/resources.yaml is empty (ignored)",
            "Unexpected '/' in /stage/d/CLOUD_IMAGES/b/resources.yaml (ignored)"
        ]
    );
}

const STAGED_YAML: &str = r#"header: {version: "0.2"}
payload:
  files:
  - relative_path: us-east-1-hourly/AWS_IMAGES/rhel-8.5-x86_64.raw
    sha256sum: 04db0c39aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
    attributes: &common
      description: "Provided by Red Hat, Inc."
      region: us-east-1
      type: hourly
      virtualization: hvm
      volume: gp2
      root_device: /dev/sda1
      sriov_net_support: simple
      ena_support: true
      boot_mode: hybrid
      marketplace_name: dropped
      billing_codes: {name: Hourly2, codes: [code-0001]}
      release: {product: RHEL, version: "8.5.0", base_product: RHEL, base_version: "8.5",
                variant: BaseOS, arch: x86_64, respin: 5, date: "20210902", type: beta}
  - relative_path: us-east-1-access/AWS_IMAGES/rhel-8.5-x86_64.raw
    attributes:
      <<: *common
      type: access
      billing_codes: {name: Access2, codes: [code-0002]}
  - relative_path: legacy/DOCKER/anything
    attributes: {whatever: true}
"#;

#[test]
fn aws_images_read_staged_yaml_with_yaml_merge_keys() {
    let t = tree(&[
        ("staged.yaml", STAGED_YAML),
        ("pub-mapfile.json", "{not even json"),
        ("us-east-1-hourly/AWS_IMAGES/rhel-8.5-x86_64.raw", "1234"),
        ("us-east-1-access/AWS_IMAGES/rhel-8.5-x86_64.raw", "1234"),
    ]);
    let staged = read_staged(&t).unwrap();
    assert_eq!(staged.items.len(), 2);
    let access = &staged.items[0];
    assert_eq!(
        access.source,
        "us-east-1-access/AWS_IMAGES/rhel-8.5-x86_64.raw"
    );
    assert_eq!(
        (access.layout, access.dest.clone()),
        (Layout::AwsImages, vec!["us-east-1-access".to_string()])
    );
    assert_eq!(access.attributes.image_type.as_deref(), Some("access"));
    assert_eq!(
        access.attributes.billing_codes.as_ref().unwrap().codes,
        ["code-0002"]
    );
    assert_eq!(access.attributes.region.as_deref(), Some("us-east-1"));
    assert_eq!(access.release.release_type.as_deref(), Some("beta"));
    assert_eq!(access.sha256sum, None);
    let hourly = &staged.items[1];
    assert_eq!(
        hourly.sha256sum.as_deref(),
        Some(SHA),
        "vmpush keeps the staged sha256 to verify uploads"
    );
    assert_eq!(
        hourly.attributes.marketplace_name, None,
        "pushsource's loader drops it"
    );
    assert_eq!(hourly.build_info, None);
}

#[test]
fn staged_json_is_read_when_no_yaml() {
    let json = r#"{"header": {"version": "0.2"}, "payload": {"files": [{"relative_path": "d/AWS_IMAGES/a.raw",
      "attributes": {"description": "x", "region": "eu-west-1", "type": "access", "virtualization": "hvm",
      "volume": "gp3", "root_device": "/dev/sda1", "billing_codes": {"name": "Access2", "codes": []},
      "release": {"product": "RHEL", "arch": "arm64", "respin": 0, "date": "20250101"}}}]}}"#;
    let t = tree(&[("pub-mapfile.json", json), ("d/AWS_IMAGES/a.raw", "1")]);
    let staged = read_staged(&t).unwrap();
    assert_eq!(staged.items[0].release.arch, "arm64");
}

#[test]
fn metadata_only_tree_warns_and_a_non_staging_tree_fails() {
    let staged = read_staged(&tree(&[(
        "staged.yaml",
        "header: {version: \"0.2\"}\npayload: {}\n",
    )]))
    .unwrap();
    assert_eq!(staged.warnings, ["/stage has no destination directories"]);
    let err = read_staged(&tree(&[("README", "x")]))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("/stage: does not appear to be a staging directory"),
        "{err}"
    );
}

#[test]
fn metadata_paths_lists_what_an_object_store_must_fetch() {
    let t = MemoryTree::from_files(
        "s3://b/p",
        [
            ("staged.yml", 1),
            ("pub-mapfile.json", 1),
            ("d/CLOUD_IMAGES/x/resources.yaml", 1),
            ("d/CLOUD_IMAGES/x/a.raw", 1),
            ("d/AWS_IMAGES/a.raw", 1),
        ],
    )
    .unwrap();
    assert_eq!(
        metadata_paths(&t),
        ["staged.yml", "d/CLOUD_IMAGES/x/resources.yaml"]
    );
}

/// Replaces `from` by `to` in the staged.yaml fixture and returns the error.
fn staged_yaml_error(from: &str, to: &str) -> String {
    assert!(STAGED_YAML.contains(from), "fixture has no {from:?}");
    let t = tree(&[
        ("staged.yaml", &STAGED_YAML.replacen(from, to, 1)),
        ("us-east-1-hourly/AWS_IMAGES/rhel-8.5-x86_64.raw", "1"),
    ]);
    read_staged(&t).unwrap_err().to_string()
}

#[test]
fn bad_staged_yaml_names_file_and_field() {
    let a = "/stage/staged.yaml: payload.files[0].attributes";
    let cases: Vec<(&str, &str, String)> = vec![
        ("version: \"0.2\"", "version: \"0.1\"", "/stage/staged.yaml: header.version: unsupported version '0.1' (expected \"0.2\")".into()),
        ("version: \"0.2\"", "version: 0.2", "/stage/staged.yaml: header.version: must be the string \"0.2\" (quote it)".into()),
        ("      region: us-east-1\n", "      colour: blue\n      region: us-east-1\n", format!("{a}.colour: unknown key")),
        ("arch: x86_64", "arch: aarch64", format!("{a}.release.arch: 'aarch64' is not one of: arm64, x86_64")),
        ("date: \"20210902\"", "date: \"20211302\"", format!("{a}.release.date: '20211302' is not a valid date (YYYYMMDD)")),
        ("respin: 5", "respin: \"5\"", format!("{a}.release.respin: expected integer, got string")),
        ("type: hourly", "type: weekly", format!("{a}.type: 'weekly' is not one of: hourly, access, marketplace")),
        ("volume: gp2", "volume: gp9", format!("{a}.volume: 'gp9' is not one of: standard, gp2, gp3, io1, io2, st1, sc1")),
        ("      region: us-east-1\n", "", format!("{a}.region: required string is missing")),
        ("      description: \"Provided by Red Hat, Inc.\"\n", "", format!("{a}.description: required string is missing")),
        ("{name: Hourly2, codes: [code-0001]}", "{name: Hourly2}", format!("{a}.billing_codes.codes: required list is missing")),
        ("type: beta}", "type: alpha}", format!("{a}.release.type: 'alpha' is not one of: ga, beta")),
        ("product: RHEL,", "product: \"\",", format!("{a}.release.product: must not be empty")),
        ("ena_support: true", "ena_support: \"yes\"", format!("{a}.ena_support: expected boolean, got string")),
        ("boot_mode: hybrid", "boot_mode: bios", format!("{a}.boot_mode: 'bios' is not one of: hybrid, uefi, legacy")),
        ("sriov_net_support: simple", "sriov_net_support: complex", format!("{a}.sriov_net_support: 'complex' is not one of: simple")),
        ("root_device: /dev/sda1\n      sriov", "root_device: /dev/sda1\n      scanning_port: 70000\n      sriov", format!("{a}.scanning_port: 70000 is not within 0..65536")),
        ("root_device: /dev/sda1\n      sriov", "root_device: /dev/sda1\n      security_groups: [{from_port: 22, ip_protocol: icmp, ip_ranges: [], to_port: 300}]\n      sriov",
            format!("{a}.security_groups[0].to_port: 300 is outside -1..255 for icmp")),
        ("root_device: /dev/sda1\n      sriov", "root_device: /dev/sda1\n      access_endpoint_url: {port: 21, protocol: ftp}\n      sriov",
            format!("{a}.access_endpoint_url.protocol: 'ftp' is not one of: http, https")),
        ("sha256sum: 04db0c39", "sha256sum: zz", "/stage/staged.yaml: payload.files[0].sha256sum: expected 64 hexadecimal digits".into()),
        ("- relative_path: us-east-1-access/AWS_IMAGES/rhel-8.5-x86_64.raw", "- relative_path: us-east-1-hourly/AWS_IMAGES/rhel-8.5-x86_64.raw",
            "/stage/staged.yaml: payload.files[1].relative_path: File us-east-1-hourly/AWS_IMAGES/rhel-8.5-x86_64.raw listed twice in /stage/staged.yaml".into()),
        ("- relative_path: us-east-1-hourly/AWS_IMAGES/rhel-8.5-x86_64.raw", "- relative_path: ../etc/AWS_IMAGES/passwd",
            "/stage/staged.yaml: payload.files[0].relative_path: '../etc/AWS_IMAGES/passwd' must not contain '..'".into()),
        ("- relative_path: us-east-1-hourly/AWS_IMAGES/rhel-8.5-x86_64.raw", "- relative_path: us-east-1-hourly/AWS_IMAGES/other.raw",
            "/stage/staged.yaml: No metadata available for us-east-1-hourly/AWS_IMAGES/rhel-8.5-x86_64.raw in staged.yaml".into()),
        ("header: {version: \"0.2\"}", "header: {version: \"0.2\"", "/stage/staged.yaml: not valid YAML: did not find expected ',' or '}' at line 2 column 1, while parsing a flow mapping at line 1 column 9".into()),
    ];
    for (from, to, expected) in cases {
        assert_eq!(staged_yaml_error(from, to), expected, "replacing {from:?}");
    }
}

/// Replaces `from` by `to` in the resources.yaml fixture and returns the error.
fn resources_error(from: &str, to: &str) -> String {
    let res = ec2_resources();
    assert!(res.contains(from), "fixture has no {from:?}");
    let t = tree(&[(
        "d/CLOUD_IMAGES/b/resources.yaml",
        &res.replacen(from, to, 1),
    )]);
    read_staged(&t).unwrap_err().to_string()
}

#[test]
fn bad_resources_yaml_names_file_and_field() {
    let f = "/stage/d/CLOUD_IMAGES/b/resources.yaml";
    let cases: Vec<(&str, &str, String)> = vec![
        (
            "version: \"9.4\"",
            "version: 9.4",
            format!("{f}: build.version: expected string, got number (quote it so it stays text)"),
        ),
        (
            "description: \"Red Hat Enterprise Linux 9.4 for EC2\"\n",
            "",
            format!("{f}: description: required string is missing"),
        ),
        (
            "date: \"20240501\", ",
            "",
            format!(
                "{f}: release.date: required date (YYYYMMDD) is missing; AMI and VHD names need it"
            ),
        ),
        (
            "architecture: x86_64, ",
            "",
            format!("{f}: images[0].architecture: required string is missing"),
        ),
        (
            "{name: rhel-ec2, ",
            "{",
            format!("{f}: build.name: required string is missing"),
        ),
        (
            "respin: \"1\"",
            "respin: [1]",
            format!("{f}: build.respin: expected a string or integer"),
        ),
        (
            "images:\n",
            "images: 3\nx:\n",
            format!("{f}: images: expected a list, got integer"),
        ),
        (
            "path: rhel-ec2-9.4-1.x86_64.raw.xz",
            "path: ..",
            format!("{f}: images[0].path: '..' must not contain '..'"),
        ),
        (
            "boot_mode: hybrid",
            "boot_mode: bios",
            format!("{f}: boot_mode: 'bios' is not one of: hybrid, uefi, legacy"),
        ),
        (
            "type: AMI",
            "type: AMI\nena_support: \"yes\"",
            format!("{f}: ena_support: expected boolean, got string"),
        ),
        (
            "sha256sum: 04db0c39",
            "sha256sum: 04db",
            format!("{f}: images[0].sha256sum: expected 64 hexadecimal digits"),
        ),
        (
            "api: v1",
            "api: [v1",
            format!(
                "{f}: not valid YAML: did not find expected ',' or ']' at line 2 column 9, while parsing a flow sequence at line 1 column 6"
            ),
        ),
        (
            "date: \"20240501\"",
            "date: \"May 1st\"",
            format!("{f}: release.date: 'May 1st' is not a valid date (YYYYMMDD)"),
        ),
    ];
    for (from, to, expected) in cases {
        assert_eq!(resources_error(from, to), expected, "replacing {from:?}");
    }
}
