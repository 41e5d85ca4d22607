use super::*;
use crate::inputs::item::{Attributes, BillingCodes, ImageKind, Layout, PushItem, Release};

fn release(product: &str, version: Option<&str>, date: &str, arch: &str, respin: i64) -> Release {
    Release {
        product: product.into(),
        date: date.into(),
        arch: arch.into(),
        respin,
        version: version.map(Into::into),
        base_product: None,
        base_version: None,
        variant: None,
        release_type: None,
    }
}

fn item(
    release: Release,
    virtualization: &str,
    billing: Option<&str>,
    volume: Option<&str>,
) -> PushItem {
    PushItem {
        kind: ImageKind::Ami,
        layout: Layout::CloudImages,
        name: "img.raw".into(),
        source: "d/CLOUD_IMAGES/b/img.raw".into(),
        staged_dir: "/stage".into(),
        origin: "d/CLOUD_IMAGES/b".into(),
        dest: vec!["d".into()],
        sha256sum: None,
        size: None,
        build_info: None,
        release,
        attributes: Attributes {
            virtualization: Some(virtualization.into()),
            volume: volume.map(Into::into),
            billing_codes: billing.map(|name| BillingCodes {
                name: name.into(),
                codes: vec!["bp-1".into()],
            }),
            ..Attributes::default()
        },
        vhd: Default::default(),
    }
}

fn mvm(template: Option<&str>) -> NameStyle<'_> {
    NameStyle::Marketplacesvm { template }
}

#[test]
fn community_names_carry_billing_name_and_volume() {
    let mut r = release("RHEL", Some("9.4"), "20240501", "x86_64", 1);
    r.release_type = Some("ga".into());
    let hourly = item(r.clone(), "hvm", Some("Hourly2"), Some("gp3"));
    assert_eq!(
        ami_name(&hourly, mvm(None)).unwrap(),
        "RHEL-9.4_HVM_GA-20240501-x86_64-1-Hourly2-GP3"
    );
    r.arch = "arm64".into();
    let access = item(r, "hvm", Some("Access2"), Some("gp3"));
    assert_eq!(
        ami_name(&access, mvm(None)).unwrap(),
        "RHEL-9.4_HVM_GA-20240501-arm64-1-Access2-GP3"
    );
}

#[test]
fn peer_kit_name_uses_the_destination_template() {
    let mut r = release("RHEL", Some("9.0"), "20250101", "x86_64", 10);
    r.release_type = Some("ga".into());
    let i = item(r, "hvm", Some("Hourly2"), Some("gp3"));
    assert_eq!(
        ami_name(&i, mvm(Some("{major}.{minor}.0"))).unwrap(),
        "RHEL-9.0.0_HVM_GA-20250101-x86_64-10-Hourly2-GP3"
    );
}

#[test]
fn marketplace_name_has_no_billing_suffix() {
    let mut r = release(
        "Red Hat Enterprise Linux",
        Some("9.4"),
        "20240501",
        "x86_64",
        1,
    );
    r.release_type = Some("ga".into());
    let i = item(r, "hvm", None, Some("gp3"));
    assert_eq!(
        ami_name(&i, mvm(None)).unwrap(),
        "Red Hat Enterprise Linux-9.4_HVM_GA-20240501-x86_64-1"
    );
}

#[test]
fn layered_product_names_and_templates() {
    let mut r = release("sample_product", Some("1.0.1"), "20230130", "x86_64", 0);
    r.base_product = Some("base_product".into());
    r.base_version = Some("1.1.1".into());
    r.release_type = Some("ga".into());
    let i = item(r, "virt", None, None);
    assert_eq!(
        ami_name(&i, mvm(None)).unwrap(),
        "base_product-1.1-sample_product-1.0_VIRT_GA-20230130-x86_64-0"
    );
    assert_eq!(
        ami_name(&i, mvm(Some("{major}.{minor}.{patch}"))).unwrap(),
        "base_product-1.1-sample_product-1.0.1_VIRT_GA-20230130-x86_64-0"
    );
    assert_eq!(
        ami_name(&i, mvm(Some("v{version}"))).unwrap(),
        "base_product-1.1-sample_product-v1.0.1_VIRT_GA-20230130-x86_64-0"
    );
    // An empty template is no template.
    assert_eq!(
        ami_name(&i, mvm(Some(""))).unwrap(),
        "base_product-1.1-sample_product-1.0_VIRT_GA-20230130-x86_64-0"
    );
}

#[test]
fn base_version_needs_a_base_product() {
    let mut r = release("RHEL", Some("9.4"), "20240501", "x86_64", 1);
    r.base_version = Some("8.5".into());
    assert_eq!(
        ami_name(&item(r, "hvm", None, None), mvm(None)).unwrap(),
        "RHEL-9.4_HVM-20240501-x86_64-1"
    );
}

#[test]
fn pubtools_ami_names_use_raw_versions() {
    let mut r = release("RHEL", Some("8.5.0"), "20210902", "x86_64", 5);
    r.base_product = Some("RHEL".into());
    r.base_version = Some("8.5".into());
    r.release_type = Some("beta".into());
    let i = item(r, "hvm", Some("Hourly2"), Some("gp2"));
    assert_eq!(
        ami_name(&i, NameStyle::PubtoolsAmi).unwrap(),
        "RHEL-8.5-RHEL-8.5.0_HVM_BETA-20210902-x86_64-5-Hourly2-GP2"
    );
    let mut no_billing = i.clone();
    no_billing.attributes.billing_codes = None;
    assert_eq!(
        ami_name(&no_billing, NameStyle::PubtoolsAmi)
            .unwrap_err()
            .to_string(),
        "/stage/d/CLOUD_IMAGES/b/img.raw: billing_codes: required by the AWS_IMAGES (pubtools-ami) naming"
    );
}

#[test]
fn naming_errors_name_the_file_and_field() {
    let one_component = item(
        release("RHEL", Some("9"), "20240501", "x86_64", 1),
        "hvm",
        None,
        None,
    );
    assert_eq!(
        ami_name(&one_component, mvm(None)).unwrap_err().to_string(),
        "/stage/d/CLOUD_IMAGES/b/img.raw: release.version: version '9' has no minor component for template '{major}.{minor}'"
    );
    let no_volume = item(
        release("RHEL", Some("9.4"), "20240501", "x86_64", 1),
        "hvm",
        Some("Hourly2"),
        None,
    );
    assert_eq!(
        ami_name(&no_volume, mvm(None)).unwrap_err().to_string(),
        "/stage/d/CLOUD_IMAGES/b/img.raw: volume: required for the AMI name when billing codes are set"
    );
    let bad_template = item(
        release("RHEL", Some("9.4"), "20240501", "x86_64", 1),
        "hvm",
        None,
        None,
    );
    assert!(
        ami_name(&bad_template, mvm(Some("{build}")))
            .unwrap_err()
            .to_string()
            .starts_with("/stage/d/CLOUD_IMAGES/b/img.raw: release.version: template '{build}' uses unknown placeholder {build}")
    );
}

#[test]
fn version_formatting_follows_python_format() {
    assert_eq!(
        format_version("f", "v", "9.4.1", "{{{major}}}-{minor}").unwrap(),
        "{9}-4"
    );
    assert_eq!(format_version("f", "v", "9.4", "{version}").unwrap(), "9.4");
    assert!(format_version("f", "v", "9.4", "{major}}").is_err());
}

#[test]
fn azure_image_name_uses_generation_and_raw_versions() {
    let i = item(
        release("sample-product", Some("7.0"), "20250402", "x86_64", 1),
        "hvm",
        None,
        None,
    );
    assert_eq!(
        azure_image_name(&i, "V2"),
        "sample-product-7.0_V2-20250402-x86_64-1"
    );
}

#[test]
fn rhsm_product_is_suffixed_for_hourly_only() {
    assert_eq!(rhsm_product("RHEL", "hourly"), "RHEL_HOURLY");
    assert_eq!(rhsm_product("RHEL", "access"), "RHEL");
    assert_eq!(rhsm_product("SAP", "marketplace"), "SAP");
    assert_eq!(
        rhsm_product("sample_product", "HOURLY"),
        "sample_product_HOURLY"
    );
}
