//! Plans built through the public API: staged tree → StArMap → workflow rules → names.

use base64::Engine;
use serde_json::{Value, json};
use vmpush_domain::inputs::credentials::CredentialSet;
use vmpush_domain::inputs::push::StagedSource;
use vmpush_domain::inputs::staged::read_staged;
use vmpush_domain::inputs::starmap::{NoServer, Resolver, decode_entities};
use vmpush_domain::inputs::tree::MemoryTree;
use vmpush_domain::plan::worklist::{DestinationWork, check_state_size, work_list};
use vmpush_domain::plan::{
    AmiPushOptions, ImageFeatures, Plan, PlanOptions, PlanWorkflow, build_plan,
};

const SHA: &str = "04db0c39aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/// The spec's staged tree (1.6): one build, x86_64 + arm64, plus an Azure VHD.
fn stage(build: &str, product_file: &str, arches: &[&str]) -> MemoryTree {
    stage_in("/stage", build, product_file, arches)
}

/// The push `p1`'s drop (`s3://staging/drops/p1`) of `rhel-ec2-9.4-1` for `arches`: its source
/// and its staged tree.
fn dropped(arches: &[&str]) -> (StagedSource, MemoryTree) {
    let source = StagedSource {
        bucket: "staging".into(),
        prefix: "drops/p1".into(),
    };
    let tree = stage_in(
        "s3://staging/drops/p1",
        "rhel-ec2",
        "rhel-ec2-9.4-1",
        arches,
    );
    (source, tree)
}

/// [`stage`] under another label (where the staged tree is).
fn stage_in(label: &str, build: &str, product_file: &str, arches: &[&str]) -> MemoryTree {
    let images: String = arches
        .iter()
        .map(|a| {
            format!(
                "  - {{path: {product_file}.{a}.raw.xz, architecture: {a}, sha256sum: {SHA}}}\n"
            )
        })
        .collect();
    let ec2 = format!(
        "api: v1\nresource: CloudImage\ndescription: \"Red Hat Enterprise Linux 9.4 for EC2\"\nboot_mode: hybrid\ntype: AMI\n\
         build: {{name: {build}, version: \"9.4\", respin: \"1\"}}\nrelease: {{date: \"20240501\", variant: BaseOS, type: ga}}\nimages:\n{images}"
    );
    let azure = "api: v1\nresource: CloudImage\ndescription: \"RHEL for Azure\"\ntype: VHD\n\
                 build: {name: rhel-azure, version: \"9.4\", respin: \"1\"}\nrelease: {date: \"20240501\"}\n\
                 images:\n  - {path: rhel-azure-9.4-1.x86_64.vhd.xz, architecture: x86_64}\n";
    let mut files = vec![
        ("starmap/CLOUD_IMAGES/ec2/resources.yaml".to_string(), ec2),
        (
            "starmap/CLOUD_IMAGES/azure/resources.yaml".to_string(),
            azure.to_string(),
        ),
        (
            "starmap/CLOUD_IMAGES/azure/rhel-azure-9.4-1.x86_64.vhd.xz".to_string(),
            "v".to_string(),
        ),
    ];
    for a in arches {
        files.push((
            format!("starmap/CLOUD_IMAGES/ec2/{product_file}.{a}.raw.xz"),
            "img".into(),
        ));
    }
    MemoryTree::from_contents(label, files.iter().map(|(p, c)| (p.as_str(), c.as_bytes()))).unwrap()
}

/// The community mapping of Appendix A.1.
fn community_mapping() -> Value {
    json!([{"name": "rhel-ec2", "cloud": "aws", "workflow": "community",
      "billing-code-config": {
        "rhel-access": {"codes": ["bp-63a5400a"], "image_name": "rhel", "image_types": ["access"], "name": "Access2"},
        "rhel-hourly": {"codes": ["bp-6fa54006"], "image_name": "rhel", "image_types": ["hourly"], "name": "Hourly2"}},
      "meta": {"description": "Provided by Red Hat, Inc.", "ena_support": true,
               "release": {"product": "RHEL", "type": "ga", "variant": "BaseOS"},
               "root_device": "/dev/sda1", "sriov_net_support": "simple", "virtualization": "hvm", "volume": "gp3"},
      "mappings": {"aws-us-storage": {"provider": "AWS",
         "meta": {"sharing_accounts": ["111111111111"], "snapshot_accounts": ["222222222222"]},
         "destinations": [
           {"architecture": null, "destination": "us-east-1-hourly", "overwrite": false, "restrict_version": false},
           {"architecture": null, "destination": "us-east-1-access", "overwrite": false, "restrict_version": false, "tags": {"team": "x"}}]}}}])
}

async fn plan_with(
    tree: &MemoryTree,
    mapping: Value,
    creds: Option<&CredentialSet>,
    options: &PlanOptions,
) -> vmpush_domain::Result<Plan> {
    let items = read_staged(tree)?.items;
    let mut resolver: Resolver<NoServer> = Resolver::new(decode_entities("repo", &mapping)?, None);
    build_plan(items, &mut resolver, creds, options).await
}

fn names(plan: &Plan) -> Vec<(String, String, bool)> {
    plan.items
        .iter()
        .flat_map(|i| i.destinations.iter())
        .map(|d| (d.destination.clone(), d.ami_name.clone().unwrap(), d.public))
        .collect()
}

fn creds(doc: Value) -> CredentialSet {
    let encoded = base64::engine::general_purpose::STANDARD.encode(doc.to_string());
    CredentialSet::parse(&encoded, |_| unreachable!()).unwrap()
}

fn aws_creds(alias: &str, extra: Value) -> Value {
    let mut auth = json!({"AWS_IMAGE_ACCESS_KEY": "A", "AWS_IMAGE_SECRET_ACCESS": "S", "AWS_MARKETPLACE_ACCESS_KEY": "B",
        "AWS_MARKETPLACE_SECRET_ACCESS": "T", "AWS_ACCESS_ROLE_ARN": "arn:aws:iam::000000000000:role/mkt"});
    auth.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    json!({"marketplace_account": alias, "auth": auth})
}

#[tokio::test]
async fn community_push_of_the_reference_example() {
    // GIVEN the spec's staged tree and its community mapping (Appendix A.1)
    let tree = stage("rhel-ec2", "rhel-ec2-9.4-1", &["x86_64", "arm64"]);
    // WHEN planned
    let plan = plan_with(&tree, community_mapping(), None, &PlanOptions::default())
        .await
        .unwrap();
    // THEN the four uploads of the reference, with its names, accounts and billing products
    assert_eq!(
        names(&plan),
        [
            (
                "us-east-1-hourly".into(),
                "RHEL-9.4_HVM_GA-20240501-arm64-1-Hourly2-GP3".into(),
                true
            ),
            (
                "us-east-1-access".into(),
                "RHEL-9.4_HVM_GA-20240501-arm64-1-Access2-GP3".into(),
                false
            ),
            (
                "us-east-1-hourly".into(),
                "RHEL-9.4_HVM_GA-20240501-x86_64-1-Hourly2-GP3".into(),
                true
            ),
            (
                "us-east-1-access".into(),
                "RHEL-9.4_HVM_GA-20240501-x86_64-1-Access2-GP3".into(),
                false
            ),
        ]
    );
    let d = &plan.items[1].destinations[0];
    assert_eq!(d.bucket, "redhat-cloudimg-us-east-1");
    assert_eq!(
        (d.sharing_accounts.clone(), d.snapshot_accounts.clone()),
        (
            vec!["111111111111".to_string()],
            vec!["222222222222".to_string()]
        )
    );
    assert_eq!(d.billing_codes.as_ref().unwrap().codes, ["bp-6fa54006"]);
    assert_eq!(
        d.description.as_deref(),
        Some("Red Hat Enterprise Linux 9.4 for EC2"),
        "the staged description wins over meta"
    );
    assert_eq!(
        (d.volume.as_deref(), d.release.product.as_str()),
        (Some("gp3"), "RHEL")
    );
    assert_eq!(
        (d.rhsm_product.as_deref(), d.rhsm_provider.as_deref()),
        (Some("RHEL_HOURLY"), Some("AWS"))
    );
    assert_eq!(d.boot_mode.as_deref(), Some("uefi-preferred"));
    assert_eq!(
        Value::Object(d.tags.clone()),
        json!({"nvra": "rhel-ec2-9.4-1.x86_64", "name": "rhel-ec2", "version": "9.4", "release": "1",
               "arch": "x86_64", "buildid": "None", "billing_type": "hourly"}),
        "destination tags are ignored by the community workflow"
    );
    assert_eq!(
        plan.items[1].destinations[1].rhsm_product.as_deref(),
        Some("RHEL")
    );
    assert_eq!(plan.skipped.len(), 1);
    assert_eq!(
        plan.skipped[0].reason,
        "Push Item rhel-azure-9.4-1.x86_64.vhd.xz at starmap/CLOUD_IMAGES/azure/rhel-azure-9.4-1.x86_64.vhd.xz is not an AmiPushItem, dropping it from the queue."
    );
}

fn with_meta_release(mut mapping: Value, release: Value) -> Value {
    mapping[0]["meta"]["release"] = release;
    mapping
}

#[tokio::test]
async fn every_work_list_node_has_a_stable_id_of_its_own() {
    let (source, tree) = dropped(&["x86_64", "arm64"]);
    let plan = plan_with(&tree, community_mapping(), None, &PlanOptions::default())
        .await
        .unwrap();
    let list = work_list("p1", &plan, std::slice::from_ref(&source)).unwrap();
    let mut ids = Vec::new();
    for u in &list.uploads {
        ids.push(u.id.clone());
        for i in &u.imports {
            ids.push(i.id.clone());
            for c in &i.copies {
                ids.push(c.id.clone());
                ids.extend(c.destinations.iter().map(|d| d.id.clone()));
            }
        }
    }
    // 2 uploads (one per architecture) × 2 imports (hourly, access) × 1 region × 1 destination
    assert_eq!(ids.len(), 2 * (1 + 2 * (1 + 1 + 1)));
    let prefixes: Vec<&str> = ids.iter().map(|id| &id[..3]).collect();
    assert_eq!(
        prefixes[..7],
        ["up-", "im-", "cp-", "ds-", "im-", "cp-", "ds-"]
    );
    assert!(
        ids.iter()
            .all(|id| id.len() == 15 && id[3..].bytes().all(|b| b.is_ascii_hexdigit())),
        "{ids:?}"
    );
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "ids are distinct: {ids:?}");
    // the same push planned again (another push id) has the same ids; other content, others
    let again = work_list("p2", &plan, std::slice::from_ref(&source)).unwrap();
    assert_eq!(again.uploads, list.uploads);
    let moved = StagedSource {
        bucket: "staging".into(),
        prefix: "drops/p3".into(),
    };
    let tree = stage_in(
        "s3://staging/drops/p3",
        "rhel-ec2",
        "rhel-ec2-9.4-1",
        &["x86_64", "arm64"],
    );
    let plan = plan_with(&tree, community_mapping(), None, &PlanOptions::default())
        .await
        .unwrap();
    let other = work_list("p3", &plan, &[moved]).unwrap();
    assert_ne!(other.uploads[0].id, list.uploads[0].id);
    assert_ne!(
        other.uploads[0].imports[0].copies[0].destinations[0].id,
        list.uploads[0].imports[0].copies[0].destinations[0].id
    );
}

#[tokio::test]
async fn an_image_with_too_many_destinations_for_one_execution_is_refused_when_planned() {
    let (source, tree) = dropped(&["x86_64"]);
    let plan = plan_with(&tree, community_mapping(), None, &PlanOptions::default())
        .await
        .unwrap();
    let mut list = work_list("p1", &plan, std::slice::from_ref(&source)).unwrap();
    let with = |list: &mut vmpush_domain::plan::worklist::WorkList, n: usize| {
        let copy = &mut list.uploads[0].imports[0].copies[0];
        let one = copy.destinations[0].clone();
        copy.destinations = (0..n)
            .map(|i| DestinationWork {
                id: format!("ds-{i:012x}"),
                ..one.clone()
            })
            .collect();
    };
    let others = list.leaves().count() - 1;
    with(&mut list, 400);
    let err = check_state_size(&list).unwrap_err();
    assert_eq!(err.kind, vmpush_domain::steps::ErrorKind::InvalidInput);
    let upload = &list.uploads[0];
    assert!(
        err.message.starts_with(&format!(
            "push p1: {} for account {} has {} destinations, needing about ",
            upload.source_key,
            upload.account,
            400 + others
        )),
        "{err}"
    );
    let (_, split) = err
        .message
        .split_once("over Step Functions' limits of 262144 bytes (256 KiB) per state and 25000 events per execution; split it into pushes of at most ")
        .unwrap_or_else(|| panic!("{err}"));
    let fits: usize = split
        .trim_end_matches(" destinations of an image per account")
        .parse()
        .unwrap_or_else(|_| panic!("{err}"));
    assert!((50..400).contains(&fits), "{err}");
    // the size it names fits
    with(&mut list, fits - others);
    check_state_size(&list).unwrap();
}

#[tokio::test]
async fn a_copy_carries_the_tags_its_destinations_share_and_the_home_region_none() {
    let (source, tree) = dropped(&["x86_64"]);
    let mut plan = plan_with(&tree, community_mapping(), None, &PlanOptions::default())
        .await
        .unwrap();
    let hourly = plan.items[0]
        .destinations
        .iter()
        .find(|d| d.billing_type.as_deref() == Some("hourly"))
        .unwrap()
        .clone();
    let home = hourly.region.clone().unwrap();
    // two destinations of the hourly snapshot in us-west-2: the same tags but one
    for (n, extra) in [("a", None), ("b", Some("only-b"))] {
        let mut d = hourly.clone();
        d.region = Some("us-west-2".into());
        d.destination = format!("us-west-2-hourly-{n}");
        d.ami_name = Some(format!("{}-{n}", hourly.ami_name.as_deref().unwrap()));
        if let Some(value) = extra {
            d.tags.insert("extra".into(), json!(value));
        }
        plan.items[0].destinations.push(d);
    }
    let list = work_list("p1", &plan, std::slice::from_ref(&source)).unwrap();
    let import = list.uploads[0]
        .imports
        .iter()
        .find(|i| i.copies.iter().any(|c| c.region == "us-west-2"))
        .unwrap();
    let copy = |region: &str| import.copies.iter().find(|c| c.region == region).unwrap();
    assert_eq!(copy("us-west-2").destinations.len(), 2);
    assert_eq!(copy("us-west-2").snapshot_tags, hourly.own_tags());
    assert!(
        hourly
            .own_tags()
            .contains(&("billing_type".into(), "hourly".into()))
    );
    assert!(
        copy(&home).snapshot_tags.is_empty(),
        "the home region's snapshot is the import's"
    );
}

#[tokio::test]
async fn a_thousand_destinations_of_25_images_fit_one_push() {
    let (source, tree) = dropped(&["x86_64"]);
    let plan = plan_with(&tree, community_mapping(), None, &PlanOptions::default())
        .await
        .unwrap();
    let mut list = work_list("p1", &plan, std::slice::from_ref(&source)).unwrap();
    let one = list.uploads[0].clone();
    let destination = one.imports[0].copies[0].destinations[0].clone();
    let mut upload = one.clone();
    upload.imports.truncate(1);
    upload.imports[0].copies = (0..20)
        .map(|r| vmpush_domain::plan::worklist::CopyWork {
            id: format!("cp-{r:012x}"),
            region: format!("region-{r}"),
            surveyed: None,
            absent: true,
            snapshot_tags: destination.destination.own_tags(),
            destinations: (0..2)
                .map(|t| DestinationWork {
                    id: format!("ds-{r:06x}{t:06x}"),
                    ..destination.clone()
                })
                .collect(),
        })
        .collect();
    list.uploads = (0..25)
        .map(|i| vmpush_domain::plan::worklist::UploadWork {
            id: format!("up-{i:012x}"),
            source_key: format!("drops/p1/image-{i}.raw.xz"),
            ..upload.clone()
        })
        .collect();
    assert_eq!(list.leaves().count(), 1000);
    check_state_size(&list).unwrap();
    // the push's own state: the index and one outcome per upload
    let index = vmpush_domain::plan::stored::WorkIndex::of(&list, "p1-0a1b2c3d");
    let bytes = serde_json::to_vec(&index).unwrap().len();
    assert!(bytes < 16 * 1024, "{bytes}");
}

#[tokio::test]
async fn public_rule_and_hourly_only_products() {
    let tree = stage("rhel-ec2", "rhel-ec2-9.4-1", &["x86_64"]);
    let opts = PlanOptions::default();
    // SAP: hourly only, never public
    let sap = plan_with(
        &tree,
        with_meta_release(community_mapping(), json!({"product": "SAP", "type": "ga"})),
        None,
        &opts,
    )
    .await
    .unwrap();
    assert_eq!(
        names(&sap),
        [(
            "us-east-1-hourly".into(),
            "SAP-9.4_HVM_GA-20240501-x86_64-1-Hourly2-GP3".into(),
            false
        )]
    );
    let skip = sap
        .skipped
        .iter()
        .find(|s| s.destination.is_some())
        .unwrap();
    assert_eq!(skip.destination.as_deref(), Some("us-east-1-access"));
    assert_eq!(
        skip.reason,
        "Skipping upload of 'starmap/CLOUD_IMAGES/ec2/rhel-ec2-9.4-1.x86_64.raw.xz' for 'us-east-1-access' as the image is expected to be pushed only to hourly destinations"
    );
    // RHEL_HA beta: hourly not public; RHEL_HA ga: public
    let ha_beta = plan_with(
        &tree,
        with_meta_release(
            community_mapping(),
            json!({"product": "RHEL_HA", "type": "beta"}),
        ),
        None,
        &opts,
    )
    .await
    .unwrap();
    assert_eq!(
        names(&ha_beta),
        [(
            "us-east-1-hourly".into(),
            "RHEL_HA-9.4_HVM_BETA-20240501-x86_64-1-Hourly2-GP3".into(),
            false
        )]
    );
    let ha_ga = plan_with(
        &tree,
        with_meta_release(
            community_mapping(),
            json!({"product": "RHEL_HA", "type": "ga"}),
        ),
        None,
        &opts,
    )
    .await
    .unwrap();
    assert!(names(&ha_ga)[0].2);
    // a meta public_image is ignored: the rule decides
    let mut m = community_mapping();
    m[0]["meta"]["public_image"] = json!(false);
    assert!(names(&plan_with(&tree, m, None, &opts).await.unwrap())[0].2);
}

#[tokio::test]
async fn beta_flag_renames_but_public_is_decided_before_it() {
    let tree = stage("rhel-ec2", "rhel-ec2-9.4-1", &["x86_64"]);
    let opts = PlanOptions {
        beta: true,
        ..PlanOptions::default()
    };
    let plan = plan_with(&tree, community_mapping(), None, &opts)
        .await
        .unwrap();
    assert_eq!(
        names(&plan)[0],
        (
            "us-east-1-hourly".into(),
            "RHEL-9.4_HVM_BETA-20240501-x86_64-1-Hourly2-GP3".into(),
            true
        )
    );
    // and RHEL_HA with --beta but meta type ga stays public (computed before --beta)
    let ha = plan_with(
        &tree,
        with_meta_release(
            community_mapping(),
            json!({"product": "RHEL_HA", "type": "ga"}),
        ),
        None,
        &opts,
    )
    .await
    .unwrap();
    assert!(names(&ha)[0].2);
}

#[tokio::test]
async fn release_type_comes_from_the_destination_meta_only() {
    // The staged release says "ga"; with no release.type in meta the name has no type.
    let tree = stage("rhel-ec2", "rhel-ec2-9.4-1", &["x86_64"]);
    let plan = plan_with(
        &tree,
        with_meta_release(community_mapping(), json!({"product": "RHEL"})),
        None,
        &PlanOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        names(&plan)[0].1,
        "RHEL-9.4_HVM-20240501-x86_64-1-Hourly2-GP3"
    );
    let err = plan_with(
        &tree,
        with_meta_release(
            community_mapping(),
            json!({"product": "RHEL", "type": "GAMMA"}),
        ),
        None,
        &PlanOptions::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "StArMap entity rhel-ec2 (community) aws-us-storage us-east-1-hourly: meta.release.type: 'gamma' is not a valid release type (ga, beta)"
    );
}

#[tokio::test]
async fn aarch64_is_registered_and_named_arm64() {
    let tree = stage("rhel-ec2", "rhel-ec2-9.4-1", &["aarch64"]);
    let plan = plan_with(&tree, community_mapping(), None, &PlanOptions::default())
        .await
        .unwrap();
    let d = &plan.items[0].destinations[0];
    assert_eq!(
        (d.architecture.as_str(), d.release.arch.as_str()),
        ("arm64", "arm64")
    );
    assert_eq!(
        d.ami_name.as_deref(),
        Some("RHEL-9.4_HVM_GA-20240501-arm64-1-Hourly2-GP3")
    );
}

#[tokio::test]
async fn sharing_accounts_dicts_flatten_and_fall_back_to_credentials() {
    let tree = stage("rhel-ec2", "rhel-ec2-9.4-1", &["x86_64"]);
    let mut m = community_mapping();
    m[0]["mappings"]["aws-us-storage"]["meta"] = json!({
        "accounts": {"default": "000000", "us-east-1": "121212"},
        "snapshot_accounts": {"default": ["111111"]}});
    let c = creds(aws_creds(
        "aws-us-storage",
        json!({"AWS_SNAPSHOT_ACCOUNTS": ["999"], "AWS_GROUPS": ["g"]}),
    ));
    let plan = plan_with(&tree, m, Some(&c), &PlanOptions::default())
        .await
        .unwrap();
    let d = &plan.items[0].destinations[0];
    assert_eq!(d.sharing_accounts, ["000000", "121212"]);
    assert_eq!(
        d.snapshot_accounts,
        ["999"],
        "a dict of lists yields nothing: credentials defaults apply"
    );
    assert_eq!(d.groups, ["g"]);
    assert!(
        plan.warnings.iter().any(|w| w.ends_with(
            "meta.snapshot_accounts.default: Ignoring unsupported format for snapshot_accounts list"
        )),
        "{:?}",
        plan.warnings
    );
}

#[tokio::test]
async fn organizations_share_images_not_snapshots_and_image_features_are_planned() {
    let tree = stage("rhel-ec2", "rhel-ec2-9.4-1", &["x86_64"]);
    let org = "arn:aws:organizations::123456789012:organization/o-a1b2c3d4e5";
    let mut m = community_mapping();
    m[0]["mappings"]["aws-us-storage"]["meta"] = json!({
        "sharing_accounts": ["111111111111", org], "snapshot_accounts": ["222222222222"],
        "tpm_support": "v2.0", "imds_support": "v2.0", "root_device_volume_size": 20});
    let plan = plan_with(&tree, m.clone(), None, &PlanOptions::default())
        .await
        .unwrap();
    let d = &plan.items[0].destinations[0];
    assert_eq!(d.sharing_accounts, ["111111111111", org]);
    assert_eq!(
        d.features,
        ImageFeatures {
            tpm_support: Some("v2.0".into()),
            imds_support: Some("v2.0".into()),
            uefi_data: None,
            root_device_volume_size: Some(20),
        }
    );

    m[0]["mappings"]["aws-us-storage"]["meta"]["snapshot_accounts"] = json!([org]);
    let err = plan_with(&tree, m.clone(), None, &PlanOptions::default())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "/stage/starmap/CLOUD_IMAGES/ec2/rhel-ec2-9.4-1.x86_64.raw.xz: aws-us-storage.us-east-1-hourly.snapshot_accounts: '{org}': EC2 shares snapshots with accounts only, not with organizations or OUs"
        )
    );
    m[0]["mappings"]["aws-us-storage"]["meta"] = json!({"tpm_support": "v1"});
    let err = plan_with(&tree, m, None, &PlanOptions::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .ends_with("aws-us-storage us-east-1-hourly: meta.tpm_support: 'v1' is not v2.0"),
        "{err}"
    );
}

#[tokio::test]
async fn billing_codes_can_be_disabled() {
    let tree = stage("rhel-ec2", "rhel-ec2-9.4-1", &["x86_64"]);
    let opts = PlanOptions {
        require_billing_codes: false,
        ..PlanOptions::default()
    };
    let plan = plan_with(&tree, community_mapping(), None, &opts)
        .await
        .unwrap();
    assert_eq!(names(&plan)[0].1, "RHEL-9.4_HVM_GA-20240501-x86_64-1");
    assert_eq!(plan.items[0].destinations[0].billing_codes, None);
}

#[tokio::test]
async fn billing_errors_stop_the_plan() {
    let tree = stage("rhel-ec2", "rhel-ec2-9.4-1", &["x86_64"]);
    let mut m = community_mapping();
    m[0].as_object_mut().unwrap().remove("billing-code-config");
    let err = plan_with(&tree, m, None, &PlanOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "StArMap entity rhel-ec2: billing-code-config: No billing code configuration provided for rhel-ec2-9.4-1.x86_64.raw.xz on us-east-1-hourly."
    );
    let mut m = community_mapping();
    m[0]["billing-code-config"]["rhel-hourly"]["image_name"] = json!("sap");
    let err = plan_with(&tree, m, None, &PlanOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("StArMap entity rhel-ec2: billing-code-config: Could not apply a billing code for rhel-ec2-9.4-1.x86_64.raw.xz (type hourly) on us-east-1-hourly"), "{err}");
}

#[tokio::test]
async fn unmapped_builds_are_skipped_and_missing_credentials_fail() {
    let tree = stage("other-build", "other-9.4-1", &["x86_64"]);
    let plan = plan_with(&tree, community_mapping(), None, &PlanOptions::default())
        .await
        .unwrap();
    assert!(plan.items.is_empty());
    assert_eq!(
        plan.skipped[1].reason,
        "No community mappings found for other-build on cloud aws"
    );
    assert_eq!(plan.skipped[1].destination, None);

    let tree = stage("rhel-ec2", "rhel-ec2-9.4-1", &["x86_64"]);
    let c = creds(aws_creds("aws-na", json!({})));
    let err = plan_with(
        &tree,
        community_mapping(),
        Some(&c),
        &PlanOptions::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "credentials: aws-us-storage: The credentials for aws-us-storage were not found (given: aws-na)"
    );
}

#[tokio::test]
async fn bad_destinations_and_aliases_name_the_mapping() {
    let tree = stage("rhel-ec2", "rhel-ec2-9.4-1", &["x86_64"]);
    let mut m = community_mapping();
    m[0]["mappings"]["aws-us-storage"]["destinations"][0]["destination"] = json!("useast1hourly");
    let err = plan_with(&tree, m, None, &PlanOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "StArMap entity rhel-ec2 (community) aws-us-storage useast1hourly: destination: 'useast1hourly' is not <region>-<billing type>"
    );
    let mut m = community_mapping();
    let mapping = m[0]["mappings"]["aws-us-storage"].take();
    m[0]["mappings"] = json!({"gcp-storage": mapping});
    let err = plan_with(&tree, m, None, &PlanOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "StArMap entity rhel-ec2 (community): mappings.gcp-storage: No provider found for gcp-storage"
    );
    let m = with_meta_release(
        community_mapping(),
        json!({"product": "RHEL", "respin": "one"}),
    );
    let err = plan_with(&tree, m, None, &PlanOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "StArMap entity rhel-ec2 (community) aws-us-storage us-east-1-hourly: meta.release.respin: expected integer, got string"
    );
    let m = with_meta_release(community_mapping(), json!({"codename": "plow"}));
    let err = plan_with(&tree, m, None, &PlanOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "StArMap entity rhel-ec2 (community) aws-us-storage us-east-1-hourly: meta.release.codename: unknown release key"
    );
}

/// pubtools-marketplacesvm's sap-community.json shape: three partitions, 34 destinations.
#[tokio::test]
async fn multi_partition_community_mapping() {
    let us = [
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "eu-central-1",
        "eu-central-2",
        "eu-north-1",
        "eu-south-1",
        "eu-south-2",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "ca-central-1",
        "ca-west-1",
        "ap-east-1",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-south-1",
        "ap-south-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-southeast-5",
        "sa-east-1",
        "me-central-1",
        "me-south-1",
        "af-south-1",
        "il-central-1",
    ];
    let dests = |regions: &[&str]| -> Value {
        regions.iter().map(|r| json!({"architecture": null, "destination": format!("{r}-hourly"), "overwrite": false, "restrict_version": false})).collect()
    };
    let meta = |desc: &str, accounts: Value| {
        json!({"description": desc, "ena_support": true, "public_image": false,
        "release": {"base_product": "sample_base", "product": "sample_product", "type": "ga", "variant": "sample_productSAP"},
        "root_device": "/dev/sda1", "sharing_accounts": accounts, "sriov_net_support": "simple", "virtualization": "hvm", "volume": "gp3"})
    };
    let mapping = json!([{
        "billing-code-config": {
            "sample_base-access": {"codes": ["code-one"], "image_name": "sample_base", "image_types": ["access"], "name": "Access2"},
            "sample_base-ha": {"codes": ["code-three"], "image_name": "sample_base-ha", "image_types": ["hourly"]},
            "sample_base-hourly": {"codes": ["code-two"], "image_name": "sample_base", "image_types": ["hourly"], "name": "Hourly2"}},
        "mappings": {
            "aws-china-storage": {"destinations": dests(&["cn-north-1", "cn-northwest-1"]), "meta": meta("Description 1", json!(["111111111111111"])), "provider": "ACN"},
            "aws-us-gov-storage": {"destinations": dests(&["us-gov-west-1", "us-gov-east-1"]), "meta": meta("Description 1", json!(["222222222222", "333333333333"])), "provider": "AGOV"},
            "aws-us-storage": {"destinations": dests(&us), "meta": meta("Description 2", json!(["44444444444", "555555555555"])), "provider": "AWS"}},
        "name": "sample_base-sample_product-ec2", "workflow": "community", "cloud": "aws"}]);
    let tree = stage(
        "sample_base-sample_product-ec2",
        "sample_base-sample_product-7.0-1",
        &["x86_64"],
    );
    let plan = plan_with(&tree, mapping, None, &PlanOptions::default())
        .await
        .unwrap();
    let ds = &plan.items[0].destinations;
    assert_eq!(ds.len(), 34);
    assert!(
        ds.iter().all(|d| d.public),
        "all public despite meta public_image: false"
    );
    assert!(ds.iter().all(|d| d.ami_name.as_deref()
        == Some("sample_base-sample_product-9.4_HVM_GA-20240501-x86_64-1-Hourly2-GP3")));
    assert!(
        ds.iter()
            .all(|d| d.billing_codes.as_ref().unwrap().codes == ["code-two"])
    );
    let by = |i: usize| {
        (
            ds[i].account.as_str(),
            ds[i].partition.as_deref().unwrap(),
            ds[i].rhsm_provider.as_deref().unwrap(),
            ds[i].rhsm_product.as_deref().unwrap(),
        )
    };
    assert_eq!(
        by(0),
        (
            "aws-china-storage",
            "aws-cn",
            "ACN",
            "sample_product_HOURLY"
        )
    );
    assert_eq!(
        by(2),
        (
            "aws-us-gov-storage",
            "aws-us-gov",
            "AGOV",
            "sample_product_HOURLY"
        )
    );
    assert_eq!(
        by(33),
        ("aws-us-storage", "aws", "AWS", "sample_product_HOURLY")
    );
    assert_eq!(ds[3].sharing_accounts, ["222222222222", "333333333333"]);
    assert_eq!(
        ds[3].description.as_deref(),
        Some("Red Hat Enterprise Linux 9.4 for EC2")
    );
}

/// The marketplace mapping of Appendix A.2.
fn marketplace_mapping() -> Value {
    json!([{"name": "rhel-ec2", "cloud": "aws", "workflow": "stratosphere",
      "meta": {"marketplace_entity_type": "AmiProduct", "release": {"product": "Red Hat Enterprise Linux"},
               "release_notes": "https://example.com/{major_version}/{major_minor}", "user_name": "ec2-user",
               "usage_instructions": "Access your instance via ssh as ec2-user (RHEL {major_minor}).",
               "scanning_port": 22, "recommended_instance_type": "m5.large", "volume": "gp3", "virtualization": "hvm",
               "root_device": "/dev/sda1", "ena_support": true, "sriov_net_support": "simple",
               "security_groups": [{"from_port": 22, "ip_protocol": "tcp", "ip_ranges": ["0.0.0.0/0"], "to_port": 22}]},
      "mappings": {"aws-na": {"meta": {"sharing_accounts": ["679593333241"]}, "destinations": [
        {"architecture": "x86_64", "destination": "d87bcebf-9cf4-47f5-9b5b-5470d4490f3d", "overwrite": false,
         "restrict_version": true, "restrict_major": 3, "restrict_minor": 2, "tags": {"team": "rhel"}}]}}}])
}

#[tokio::test]
async fn marketplace_push_filters_by_architecture() {
    let tree = stage("rhel-ec2", "rhel-ec2-9.4-1", &["x86_64", "arm64"]);
    let c = creds(aws_creds(
        "aws-na",
        json!({"AWS_S3_BUCKET": "my-bucket", "AWS_SNAPSHOT_ACCOUNTS": ["684062674729"]}),
    ));
    let opts = PlanOptions {
        workflow: PlanWorkflow::Marketplace,
        ..PlanOptions::default()
    };
    let plan = plan_with(&tree, marketplace_mapping(), Some(&c), &opts)
        .await
        .unwrap();
    assert_eq!(plan.items.len(), 1);
    let d = &plan.items[0].destinations[0];
    assert_eq!(
        d.ami_name.as_deref(),
        Some("Red Hat Enterprise Linux-9.4_HVM_GA-20240501-x86_64-1")
    );
    assert_eq!(
        (d.bucket.as_str(), d.region.as_deref()),
        ("my-bucket", Some("us-east-1"))
    );
    assert_eq!(
        (d.sharing_accounts.clone(), d.snapshot_accounts.clone()),
        (
            vec!["679593333241".to_string()],
            vec!["684062674729".to_string()]
        )
    );
    assert_eq!(
        Value::Object(d.tags.clone()),
        json!({"nvra": "rhel-ec2-9.4-1.x86_64", "name": "rhel-ec2", "version": "9.4", "release": "1", "arch": "x86_64", "buildid": "None", "team": "rhel"})
    );
    let mkt = d.marketplace.as_ref().unwrap();
    assert_eq!(
        (
            mkt.entity_type.as_deref(),
            mkt.restrict_version,
            mkt.restrict_major,
            mkt.restrict_minor
        ),
        (Some("AmiProduct"), true, Some(3), Some(2))
    );
    let version = serde_json::to_value(mkt.version.as_ref().unwrap()).unwrap();
    assert_eq!(
        version,
        json!({"title": "9.4 20240501-1", "release_notes": "https://example.com/9/9.4",
               "usage_instructions": "Access your instance via ssh as ec2-user (RHEL 9.4).",
               "recommended_instance_type": "m5.large", "user_name": "ec2-user",
               "os_name": "RHEL", "os_version": "9.4", "scanning_port": 22,
               "security_groups": [{"from_port": 22, "ip_protocol": "tcp", "ip_ranges": ["0.0.0.0/0"], "to_port": 22}],
               "access_endpoint_url": null})
    );
    assert!(!d.public && d.rhsm_product.is_none());
    let reasons: Vec<_> = plan.skipped.iter().map(|s| s.reason.as_str()).collect();
    assert_eq!(
        reasons,
        [
            "No marketplace mappings found for rhel-azure on cloud azure",
            "Filtering out archive with no destinations: starmap/CLOUD_IMAGES/ec2/rhel-ec2-9.4-1.arm64.raw.xz"
        ]
    );
}

const STAGED_AMI: &str = r#"header: {version: "0.2"}
payload:
  files:
  - relative_path: us-east-1-hourly/AWS_IMAGES/rhel-8.5-x86_64.raw
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
      billing_codes: {name: Hourly2, codes: [code-0001]}
      release: {product: RHEL, version: "8.5.0", base_product: RHEL, base_version: "8.5",
                variant: BaseOS, arch: x86_64, respin: 5, date: "20210902", type: beta}
  - relative_path: us-east-1-access/AWS_IMAGES/rhel-8.5-x86_64.raw
    attributes:
      <<: *common
      type: access
      billing_codes: {name: Access2, codes: [code-0002]}
"#;

fn ami_stage() -> MemoryTree {
    let files = [
        ("staged.yaml", STAGED_AMI),
        ("us-east-1-hourly/AWS_IMAGES/rhel-8.5-x86_64.raw", "x"),
        ("us-east-1-access/AWS_IMAGES/rhel-8.5-x86_64.raw", "x"),
    ];
    MemoryTree::from_contents("/ami", files.iter().map(|(p, c)| (*p, c.as_bytes()))).unwrap()
}

#[tokio::test]
async fn aws_images_follow_pubtools_ami() {
    let opts = PlanOptions {
        ami_push: AmiPushOptions {
            accounts: Some(json!({"us-east-1": {"qe": "123456789012"}, "default": {"x": "999"}})),
            snapshot_account_ids: Some(json!({"default": ["555"]})),
            allow_public_images: true,
            ..AmiPushOptions::default()
        },
        ..PlanOptions::default()
    };
    let plan = plan_with(&ami_stage(), json!([]), None, &opts)
        .await
        .unwrap();
    assert_eq!(
        names(&plan),
        [
            (
                "us-east-1-access".into(),
                "RHEL-8.5-RHEL-8.5.0_HVM_BETA-20210902-x86_64-5-Access2-GP2".into(),
                false
            ),
            (
                "us-east-1-hourly".into(),
                "RHEL-8.5-RHEL-8.5.0_HVM_BETA-20210902-x86_64-5-Hourly2-GP2".into(),
                true
            ),
        ]
    );
    let d = &plan.items[1].destinations[0];
    assert_eq!(
        (d.sharing_accounts.clone(), d.snapshot_accounts.clone()),
        (vec!["123456789012".to_string()], vec!["555".to_string()])
    );
    assert_eq!(
        (
            d.account.as_str(),
            d.rhsm_product.as_deref(),
            d.rhsm_provider.as_deref()
        ),
        ("aws-us-storage", Some("RHEL_HOURLY"), Some("AWS"))
    );
    // Without --allow-public-images nothing is public; the marketplace workflow skips them.
    let private = plan_with(&ami_stage(), json!([]), None, &PlanOptions::default())
        .await
        .unwrap();
    assert!(names(&private).iter().all(|n| !n.2));
    let opts = PlanOptions {
        workflow: PlanWorkflow::Marketplace,
        ..PlanOptions::default()
    };
    let mkt = plan_with(&ami_stage(), json!([]), None, &opts)
        .await
        .unwrap();
    assert_eq!((mkt.items.len(), mkt.skipped.len()), (0, 2));
}

#[tokio::test]
async fn marketplace_versions_are_checked_and_titled_at_plan_time() {
    let tree = stage("rhel-ec2", "rhel-ec2-9.4-1", &["x86_64"]);
    let c = creds(aws_creds("aws-na", json!({})));
    let opts = PlanOptions {
        workflow: PlanWorkflow::Marketplace,
        ..PlanOptions::default()
    };
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut mapping = marketplace_mapping();
        edit(&mut mapping[0]["meta"]);
        mapping
    };
    // a title template over the release, dates through strftime codes
    let titled = with(&|meta| {
        meta["marketplace_title_template"] =
            json!("{product} {version} ({date:%Y-%m}) r{respin} {date}")
    });
    let plan = plan_with(&tree, titled, Some(&c), &opts).await.unwrap();
    let version = plan.items[0].destinations[0]
        .marketplace
        .clone()
        .unwrap()
        .version
        .unwrap();
    assert_eq!(
        version.title,
        "Red Hat Enterprise Linux 9.4 (2024-05) r1 2024-05-01"
    );
    // what the reference fails on after uploading fails the plan, naming the field
    for (edit, field) in [
        (
            Box::new(|m: &mut Value| {
                m.as_object_mut().unwrap().remove("marketplace_entity_type");
            }) as Box<dyn Fn(&mut Value)>,
            "meta.marketplace_entity_type",
        ),
        (
            Box::new(|m: &mut Value| {
                m.as_object_mut().unwrap().remove("release_notes");
            }),
            "meta.release_notes",
        ),
        (
            Box::new(|m: &mut Value| m["usage_instructions"] = json!("ssh {user}")),
            "meta.usage_instructions",
        ),
        (
            Box::new(|m: &mut Value| m["marketplace_title_template"] = json!("{version")),
            "meta.marketplace_title_template",
        ),
        (
            Box::new(|m: &mut Value| m["release"]["version"] = json!("9")),
            "release.version",
        ),
    ] {
        let err = plan_with(&tree, with(&*edit), Some(&c), &opts)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("StArMap entity rhel-ec2 (stratosphere) aws-na d87bcebf-9cf4-47f5-9b5b-5470d4490f3d: ")
                && err.contains(field),
            "{field}: {err}"
        );
    }
}

#[tokio::test]
async fn the_combined_workflow_plans_marketplace_then_community_destinations_of_each_item() {
    // GIVEN both mappings in one repo (the peer kit's mapping-all.yaml: marketplace first)
    let tree = stage("rhel-ec2", "rhel-ec2-9.4-1", &["x86_64", "arm64"]);
    let mut mapping = marketplace_mapping();
    mapping
        .as_array_mut()
        .unwrap()
        .extend(community_mapping().as_array().unwrap().clone());
    let opts = PlanOptions {
        workflow: PlanWorkflow::All,
        ..PlanOptions::default()
    };
    // WHEN planned with `all`
    let plan = plan_with(&tree, mapping, None, &opts).await.unwrap();
    // THEN each image has its marketplace destination (x86_64 only) before its community ones
    let per_item: Vec<Vec<(String, String)>> = plan
        .items
        .iter()
        .map(|i| {
            i.destinations
                .iter()
                .map(|d| (d.account.clone(), d.destination.clone()))
                .collect()
        })
        .collect();
    let community = |d: &str| ("aws-us-storage".to_string(), d.to_string());
    let product = (
        "aws-na".to_string(),
        "d87bcebf-9cf4-47f5-9b5b-5470d4490f3d".to_string(),
    );
    assert_eq!(
        per_item,
        [
            vec![community("us-east-1-hourly"), community("us-east-1-access")],
            vec![
                product,
                community("us-east-1-hourly"),
                community("us-east-1-access")
            ],
        ]
    );
    assert_eq!(plan.workflow, PlanWorkflow::All);
    // each workflow reports its own skips: the arm64 image has no marketplace destination,
    // the VHD no community one and no Azure marketplace entity
    let reasons: Vec<&str> = plan.skipped.iter().map(|s| s.reason.as_str()).collect();
    assert_eq!(
        reasons,
        [
            "No marketplace mappings found for rhel-azure on cloud azure",
            "Push Item rhel-azure-9.4-1.x86_64.vhd.xz at starmap/CLOUD_IMAGES/azure/rhel-azure-9.4-1.x86_64.vhd.xz is not an AmiPushItem, dropping it from the queue.",
            "Filtering out archive with no destinations: starmap/CLOUD_IMAGES/ec2/rhel-ec2-9.4-1.arm64.raw.xz",
        ]
    );
    // the marketplace destination names the StArMap answer it came from, kept once per entity
    let mkt = plan.items[1].destinations[0].marketplace.as_ref().unwrap();
    assert_eq!(
        mkt.starmap_query.as_deref(),
        Some("rhel-ec2/stratosphere/aws")
    );
    assert!(plan.items[1].destinations[1].marketplace.is_none());
    assert_eq!(
        plan.starmap.keys().collect::<Vec<_>>(),
        ["rhel-ec2/stratosphere/aws"]
    );
    let query = &plan.starmap["rhel-ec2/stratosphere/aws"];
    assert_eq!(
        (
            &query["name"],
            &query["workflow"],
            &query["cloud"],
            &query["billing_code_config"]
        ),
        (
            &json!("rhel-ec2"),
            &json!("stratosphere"),
            &json!("aws"),
            &json!({})
        )
    );
    let dest = &query["mappings"]["aws-na"]["destinations"][0];
    assert_eq!(
        (
            &dest["restrict_major"],
            &dest["tags"],
            &dest["provider"],
            &dest["vhd_check_base_sas_only"]
        ),
        (
            &json!(3),
            &json!({"team": "rhel"}),
            &Value::Null,
            &Value::Null
        )
    );
    // merged metas: entity < mapping < destination
    assert_eq!(dest["meta"]["sharing_accounts"], json!(["679593333241"]));
    assert_eq!(dest["meta"]["scanning_port"], json!(22));
    assert_eq!(query["meta"]["user_name"], json!("ec2-user"));
    // the work list carries the answers once, beside the tree
    let source = StagedSource {
        bucket: "b".into(),
        prefix: "p".into(),
    };
    let mut staged = plan.clone();
    for item in &mut staged.items {
        item.staged_dir = "s3://b/p".into();
    }
    let list = work_list("p1", &staged, &[source]).unwrap();
    assert_eq!(list.starmap, plan.starmap);
    assert_eq!(list.leaves().count(), 5);
}

#[tokio::test]
async fn a_combined_plan_of_unmapped_items_is_empty_with_both_workflows_skips() {
    let tree = stage("rhel-other", "rhel-other-9.4-1", &["x86_64"]);
    let opts = PlanOptions {
        workflow: PlanWorkflow::All,
        ..PlanOptions::default()
    };
    let plan = plan_with(&tree, community_mapping(), None, &opts)
        .await
        .unwrap();
    assert!(plan.items.is_empty());
    let reasons: Vec<&str> = plan.skipped.iter().map(|s| s.reason.as_str()).collect();
    assert_eq!(
        reasons,
        [
            "No marketplace mappings found for rhel-azure on cloud azure",
            "Push Item rhel-azure-9.4-1.x86_64.vhd.xz at starmap/CLOUD_IMAGES/azure/rhel-azure-9.4-1.x86_64.vhd.xz is not an AmiPushItem, dropping it from the queue.",
            "No marketplace mappings found for rhel-other on cloud aws",
            "No community mappings found for rhel-other on cloud aws",
        ]
    );
}

/// A marketplace mapping of the staged VHD to an Azure offer/plan.
fn azure_mapping(meta: Value, destination: &str) -> Value {
    json!([{"name": "rhel-azure", "cloud": "azure", "workflow": "stratosphere",
      "meta": {"release": {"product": "RHEL"}},
      "mappings": {"azure-na": {"destinations": [
        {"architecture": "x86_64", "destination": destination, "overwrite": true,
         "restrict_version": false, "vhd_check_base_sas_only": true, "meta": meta,
         "tags": {"team": "rhel"}}]}}}])
}

#[tokio::test]
async fn azure_destinations_plan_a_disk_version_of_a_plan() {
    let tree = stage("rhel-ec2", "rhel-ec2-9.4-1", &["x86_64"]);
    let opts = PlanOptions {
        workflow: PlanWorkflow::Marketplace,
        hour: "2026120311".into(),
        ..PlanOptions::default()
    };
    let meta = json!({"generation": "V1", "support_legacy": true, "modular_push": true,
        "recommended_sizes": ["Standard_D2s_v3", "Standard_B2s"]});
    let plan = plan_with(&tree, azure_mapping(meta, "rhel-offer/rhel-9"), None, &opts)
        .await
        .unwrap();
    let item = plan
        .items
        .iter()
        .find(|i| i.name == "rhel-azure-9.4-1.x86_64.vhd.xz")
        .unwrap();
    let d = &item.destinations[0];
    assert_eq!(
        (d.account.as_str(), d.bucket.as_str(), d.image_name.as_str()),
        ("azure-na", "pubupload", "RHEL-9.4_V1-20240501-x86_64-1")
    );
    assert_eq!(
        Value::Object(d.tags.clone()),
        json!({"nvra": "rhel-azure-9.4-1.x86_64", "name": "rhel-azure", "version": "9.4",
               "release": "1", "arch": "x86_64", "buildid": "None", "team": "rhel"})
    );
    assert_eq!(
        serde_json::to_value(d.azure.as_ref().unwrap()).unwrap(),
        json!({"offer": "rhel-offer", "plan": "rhel-9", "disk_version": "9.4.2026120311",
               "generation": "V1", "sku_id": null, "support_legacy": true, "legacy_sku_id": null,
               "recommended_sizes": ["Standard_B2s", "Standard_D2s_v3"], "architecture": "x64",
               "overwrite": true, "check_base_sas_only": true, "modular_push": true})
    );
    assert!(d.marketplace.is_none() && d.region.is_none() && d.ami_name.is_none());

    // the item's own disk version wins
    let meta = json!({"disk_version": "9.4.7"});
    let plan = plan_with(&tree, azure_mapping(meta, "rhel-offer/rhel-9"), None, &opts)
        .await
        .unwrap();
    let d = &plan.items[0].destinations[0];
    let target = d.azure.as_ref().unwrap();
    assert_eq!(
        (target.disk_version.as_str(), target.generation.as_str()),
        ("9.4.7", "V2")
    );
    assert_eq!(d.image_name, "RHEL-9.4_V2-20240501-x86_64-1");
}

#[tokio::test]
async fn bad_azure_destinations_name_the_mapping_field() {
    let tree = stage("rhel-ec2", "rhel-ec2-9.4-1", &["x86_64"]);
    let opts = PlanOptions {
        workflow: PlanWorkflow::Marketplace,
        ..PlanOptions::default()
    };
    for (meta, destination, message) in [
        (
            json!({}),
            "rhel-offer",
            "StArMap entity rhel-azure (stratosphere) azure-na rhel-offer: destination: 'rhel-offer' is not <offer>/<plan>",
        ),
        (
            json!({"disk_version": "9.4"}),
            "o/p",
            "StArMap entity rhel-azure (stratosphere) azure-na o/p: meta.disk_version: '9.4' is not <major>.<minor>.<patch> (patch a number or *)",
        ),
        (
            json!({"legacy_sku_id": "p-gen1"}),
            "o/p",
            "StArMap entity rhel-azure (stratosphere) azure-na o/p: meta.legacy_sku_id: only allowed when support_legacy is true",
        ),
    ] {
        let err = plan_with(&tree, azure_mapping(meta, destination), None, &opts)
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), message);
    }
}

#[tokio::test]
async fn azure_destinations_get_one_upload_per_account_and_one_publish_queue_per_offer() {
    let (source, tree) = dropped(&["x86_64"]);
    let mut mapping = azure_mapping(json!({}), "rhel-offer/rhel-9");
    let destinations = &mut mapping[0]["mappings"]["azure-na"]["destinations"];
    let mut second = destinations[0].clone();
    second["destination"] = json!("rhel-offer/rhel-9-byos");
    let mut third = destinations[0].clone();
    third["destination"] = json!("other-offer/rhel-9");
    destinations.as_array_mut().unwrap().extend([second, third]);
    let opts = PlanOptions {
        workflow: PlanWorkflow::Marketplace,
        ..PlanOptions::default()
    };
    let plan = plan_with(&tree, mapping, None, &opts).await.unwrap();
    let list = work_list("p1", &plan, std::slice::from_ref(&source)).unwrap();
    assert!(list.uploads.is_empty());
    assert_eq!(list.azure_uploads.len(), 1);
    let upload = &list.azure_uploads[0];
    assert_eq!(
        (
            upload.account.as_str(),
            upload.container.as_str(),
            upload.blob.as_str(),
            upload.source_key.as_str()
        ),
        (
            "azure-na",
            "pubupload",
            "rhel-azure-9.4-1.x86_64.vhd",
            "drops/p1/starmap/CLOUD_IMAGES/azure/rhel-azure-9.4-1.x86_64.vhd.xz"
        )
    );
    assert!(
        upload
            .tags
            .contains(&("nvra".into(), "rhel-azure-9.4-1.x86_64".into()))
    );
    let offers: Vec<(&str, Vec<&str>)> = list
        .azure_offers
        .iter()
        .map(|o| {
            let plans = o
                .destinations
                .iter()
                .map(|d| d.destination.azure.as_ref().unwrap().plan.as_str())
                .collect();
            (o.offer.as_str(), plans)
        })
        .collect();
    assert_eq!(
        offers,
        [
            ("rhel-offer", vec!["rhel-9", "rhel-9-byos"]),
            ("other-offer", vec!["rhel-9"])
        ]
    );
    assert_eq!(list.azure_leaves().count(), 3);
    assert!(list.azure_leaves().all(|(u, _, d)| d.upload == u.id));
    let ids = list.node_ids();
    assert_eq!(ids.len(), 1 + 2 + 3, "{ids:?}");
    assert!(
        ids.iter()
            .all(|id| ["au-", "ao-", "ad-"].contains(&&id[..3]))
    );
}
