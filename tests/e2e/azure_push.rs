//! Azure pushes through the real state machine, the real function binaries, Azurite and the
//! Partner Center fake: `vmpush push --workflow marketplace` of a staged VHD becomes a page
//! blob of its content and a disk version of the offer's plan, configured with the blob's SAS
//! and submitted to preview then live; a re-run uploads and configures nothing; a pre-push
//! uploads only; a submission
//! in progress is waited for; an offer someone else is changing is NOTPUSHED unless drafts may
//! be pushed; a failed certification fails only its destination, also in a combined push
//! (`-w all`) of a build with community, AWS Marketplace and Azure destinations, whose AWS
//! destinations are PUSHED. No SAS, key or client secret is in any output, log, history or
//! notice.

// shared with the other e2e tests, which use the rest of them
#[allow(dead_code)]
mod pushes;
#[allow(dead_code)]
mod staged;

use pushes::{
    everything_written, local_credentials, mapping_document, notices, staged_build, store_secret,
    vmpush,
};
use serde_json::{Value, json};
use staged::{image, sha, workspace, xz};
use vmpush_cloud::azure::StorageAccount;
use vmpush_cloud::azure::blobs::AzureBlobs;
use vmpush_domain::ports::PageBlobs;
use vmpush_domain::steps::azure_upload::vhd::fixed_footer;
use vmpush_local::Options;
use vmpush_local::testing::TestStack;

const OFFER: &str = "vmpush-example-offer";
const SECRET: &str = "client-secret-azure-e2e";

/// A fixed VHD of `mib` MiB (zeros with a random block in every MiB) and its footer.
fn vhd(mib: usize, seed: u64) -> Vec<u8> {
    let mut disk = image(mib << 20, seed);
    disk.extend_from_slice(&fixed_footer((mib as u64) << 20));
    disk
}

/// Stages build `rhel-azure-<version>-<respin>` (one x86_64 VHD, xz-compressed) under `dir`;
/// returns the VHD.
async fn staged_vhd(dir: &std::path::Path, version: &str, respin: &str, seed: u64) -> Vec<u8> {
    let build = format!("rhel-azure-{version}-{respin}");
    let folder = dir.join(format!("starmap/CLOUD_IMAGES/{build}"));
    std::fs::create_dir_all(&folder).unwrap();
    let disk = vhd(6, seed);
    std::fs::write(
        folder.join(format!("{build}.x86_64.vhd.xz")),
        xz(&disk).await,
    )
    .unwrap();
    let resources = format!(
        "api: v1\nresource: CloudImage\ntype: VHD\ndescription: RHEL for Azure\n\
         build: {{name: rhel-azure, version: \"{version}\", respin: \"{respin}\"}}\n\
         release: {{date: \"20250101\"}}\n\
         images:\n  - path: {build}.x86_64.vhd.xz\n    architecture: x86_64\n    sha256sum: {}\n",
        sha(&disk)
    );
    std::fs::write(folder.join("resources.yaml"), resources).unwrap();
    disk
}

/// The mapping of `rhel-azure`: the fake's offer, plan `rhel-9`.
fn mapping(stack: &TestStack) -> String {
    let mapping = json!([{"name": "rhel-azure", "cloud": "azure", "workflow": "stratosphere",
        "mappings": {"azure-na": {"destinations": [
            {"architecture": "x86_64", "destination": format!("{OFFER}/rhel-9"),
             "overwrite": false, "restrict_version": false}]}},
        "meta": {"description": "RHEL for Azure", "generation": "V2",
                 "release": {"product": "RHEL", "type": "ga"}}}]);
    let path = stack.scratch().join("azure-mapping.yaml");
    std::fs::write(&path, serde_yaml_ng::to_string(&mapping).unwrap()).unwrap();
    path.to_str().unwrap().to_string()
}

/// `vmpush push -w marketplace` of build `<version>-<respin>`; (exit code, result, VHD).
async fn push(
    stack: &TestStack,
    (version, respin, seed): (&str, &str, u64),
    push_id: &str,
    flags: &[&str],
) -> (i32, Value, Vec<u8>) {
    let dir = stack.scratch().join(push_id);
    let disk = staged_vhd(&dir, version, respin, seed).await;
    let source = format!("staged:{}", dir.display());
    let mapping = mapping(stack);
    let mut args = vec![
        "push",
        "--local",
        "--offline",
        "--repo-file",
        &mapping,
        "-w",
    ];
    args.push("marketplace");
    args.extend(flags);
    args.extend(["--push-id", push_id, &source]);
    let (code, stdout, stderr) = vmpush(stack, &args);
    let result: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{push_id}: {e}: {stdout}\n{stderr}"));
    (code, result, disk)
}

/// The kinds of resources of each configure call: `virtual-machine-plan-technical-
/// configuration` or `submission:<target>`.
fn configured(bodies: &[Value]) -> Vec<String> {
    bodies
        .iter()
        .map(|b| {
            let kinds: Vec<String> = b["resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    let schema = r["$schema"].as_str().unwrap();
                    let kind = schema.rsplit('/').nth(1).unwrap();
                    match kind {
                        "submission" => {
                            format!("submission:{}", r["target"]["targetType"].as_str().unwrap())
                        }
                        other => other.to_string(),
                    }
                })
                .collect();
            kinds.join("+")
        })
        .collect()
}

const TECH: &str = "virtual-machine-plan-technical-configuration";

/// The peer kit's marketplace entity and its community one (us-east-1 only), and the Azure
/// entity of `rhel-azure`, in one mapping file.
fn combined_mapping(stack: &TestStack) -> String {
    let text = std::fs::read_to_string(
        workspace().join("tests/fixtures/peer-kit-1image/mapping-marketplace.yaml"),
    )
    .unwrap();
    let mut all: Value = serde_yaml_ng::from_str(&text).unwrap();
    let mut community = mapping_document();
    let destinations = &mut community[0]["mappings"]["aws-us-storage"]["destinations"];
    let east: Vec<Value> = destinations
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["destination"].as_str().unwrap().starts_with("us-east-1-"))
        .cloned()
        .collect();
    *destinations = Value::Array(east);
    let azure: Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(mapping(stack)).unwrap()).unwrap();
    let list = all.as_array_mut().unwrap();
    list.push(community[0].clone());
    list.push(azure[0].clone());
    let path = stack.scratch().join("combined-mapping.yaml");
    std::fs::write(&path, serde_yaml_ng::to_string(&all).unwrap()).unwrap();
    path.to_str().unwrap().to_string()
}

/// `vmpush push -w all` of an AMI build and a VHD build of `version`; (exit code, result).
async fn push_all(
    stack: &TestStack,
    mapping: &str,
    (version, seed): (&str, u64),
    push_id: &str,
) -> (i32, Value) {
    let dir = stack.scratch().join(push_id);
    staged_build(&dir, version, "1", seed).await;
    staged_vhd(&dir, version, "1", seed).await;
    let source = format!("staged:{}", dir.display());
    let args = [
        "push",
        "--local",
        "--offline",
        "--repo-file",
        mapping,
        "-w",
        "all",
    ];
    let (code, stdout, stderr) = vmpush(
        stack,
        &[&args[..], &["--push-id", push_id, &source]].concat(),
    );
    let result = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{push_id}: {e}: {stdout}\n{stderr}"));
    (code, result)
}

/// (account, state) of every destination of a result but the skipped ones, sorted.
fn kinds(result: &Value) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = result["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["state"] != "SKIPPED")
        .map(|d| {
            (
                d["account"].as_str().unwrap_or_default().to_string(),
                d["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    all.sort();
    all
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vhd_becomes_a_live_disk_version_once_waiting_for_submissions_and_refusing_busy_offers() {
    let stack = TestStack::up(workspace(), &Options::default()).await;
    let connection = stack.var("AZURE_STORAGE_CONNECTION_STRING").to_string();
    let mut documents = local_credentials(&stack);
    documents.push(json!({"marketplace_account": "azure-na", "auth": {
        "AZURE_TENANT_ID": "tenant-e2e", "AZURE_CLIENT_ID": "client-e2e", "AZURE_API_SECRET": SECRET,
        "AZURE_STORAGE_CONNECTION_STRING": connection}}));
    store_secret(&stack, &documents);
    let account = StorageAccount::parse("azure-na", &connection).unwrap();
    let blobs = AzureBlobs::new(&account).unwrap();
    stack.partner_control("reset", &json!({})).await;

    // GIVEN a staged VHD for the fake's offer/plan
    // WHEN it is pushed
    let (code, result, disk) = push(&stack, ("9.4", "1", 21), "az-1", &[]).await;
    // THEN the page blob holds the VHD, a disk version points at it, and the offer is live
    assert_eq!(
        (code, result["state"].as_str()),
        (0, Some("PUSHED")),
        "{result}"
    );
    let d = &result["destinations"][0];
    let blob = "rhel-azure-9.4-1.x86_64.vhd";
    let url = format!("{}/pubupload/{blob}", stack.var("VMPUSH_AZURITE_URL"));
    assert_eq!(
        (&d["state"], &d["name"], &d["destination"], &d["account"]),
        (
            &json!("PUSHED"),
            &json!("rhel-azure-9.4-1.x86_64.vhd.xz"),
            &json!(format!("{OFFER}/rhel-9")),
            &json!("azure-na")
        )
    );
    let version = d["azure"]["disk_version"].as_str().unwrap().to_string();
    assert!(
        version.starts_with("9.4.") && version.len() == "9.4.2026120314".len(),
        "{version}"
    );
    assert_eq!(d["azure"]["blob_url"], url);
    assert_eq!(d["azure"]["submitted"], json!(["preview", "live"]));
    let stored = blobs.blob("pubupload", blob).await.unwrap().unwrap();
    assert_eq!(stored.tag("sha256"), Some(sha(&disk).as_str()));
    assert!(stored.tag("release_date").is_some_and(|t| t.contains("::")));
    let content = reqwest::get(blobs.read_url("pubupload", blob).unwrap())
        .await
        .unwrap();
    assert_eq!(sha(&content.bytes().await.unwrap()), sha(&disk));
    let bodies = stack.partner_configures().await;
    assert_eq!(
        configured(&bodies),
        [TECH, "submission:preview", "submission:live"]
    );
    let config = &bodies[0]["resources"][0];
    let versions = config["vmImageVersions"].as_array().unwrap();
    let ours = versions.last().unwrap();
    assert_eq!(ours["versionNumber"], version.as_str());
    let uri = ours["vmImages"][0]["source"]["osDisk"]["uri"]
        .as_str()
        .unwrap();
    assert!(
        uri.starts_with(&format!("{url}?")) && uri.contains("sp=r") && uri.contains("sig=REDACTED"),
        "{uri}"
    );
    assert_eq!(
        config["skus"],
        json!([{"imageType": "x64Gen2", "skuId": "rhel-9", "securityType": ["trusted"]}])
    );
    let offer = stack
        .get_json(&format!(
            "{}/_fake/offers/{OFFER}",
            stack.var("VMPUSH_PARTNER_URL")
        ))
        .await;
    assert!(offer["trees"]["live"].to_string().contains(&url));
    // the notice says which disk version went where
    let (_, notice, _) = notices(&stack)
        .into_iter()
        .find(|(_, n, _)| n["push_id"] == "az-1")
        .unwrap();
    let line = &notice["disks"][0];
    assert_eq!(
        (
            &line["offer"],
            &line["plan"],
            &line["disk_version"],
            &line["state"],
            &line["blob_url"]
        ),
        (
            &json!(OFFER),
            &json!("rhel-9"),
            &json!(version),
            &json!("PUSHED"),
            &json!(url)
        )
    );

    // WHEN the same build is pushed again THEN nothing is uploaded or configured
    stack.partner_control("requests", &json!({})).await;
    let invoked = stack.invocations().await.len();
    let (code, again, _) = push(&stack, ("9.4", "1", 21), "az-2", &[]).await;
    assert_eq!(
        (code, again["state"].as_str()),
        (0, Some("PUSHED")),
        "{again}"
    );
    assert_eq!(again["destinations"][0]["azure"]["existing"], true);
    assert!(stack.partner_configures().await.is_empty());
    let uploads: Vec<Value> = stack.invocations().await[invoked..]
        .iter()
        .filter(|i| i["function"] == "vmpush-azure-upload")
        .map(|i| i["result"].clone())
        .collect();
    assert_eq!(uploads.len(), 1, "{uploads:?}");
    assert_eq!(
        (&uploads[0]["skipped"], &uploads[0]["chunks"]["written"]),
        (&json!(true), &json!(0)),
        "{uploads:?}"
    );

    // WHEN a build is pre-pushed THEN its VHD is uploaded and nothing is published
    stack.partner_control("requests", &json!({})).await;
    let (code, pre, disk) = push(&stack, ("9.4", "9", 29), "az-pre", &["--pre-push"]).await;
    assert_eq!((code, pre["state"].as_str()), (0, Some("PUSHED")), "{pre}");
    let uploaded = blobs
        .blob("pubupload", "rhel-azure-9.4-9.x86_64.vhd")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(uploaded.tag("sha256"), Some(sha(&disk).as_str()));
    assert!(stack.partner_requests().await.is_empty());

    // WHEN a submission is in progress for 3 polls THEN the push waits for it
    stack
        .partner_control("running", &json!({"offer": OFFER, "polls": 3}))
        .await;
    stack.partner_control("requests", &json!({})).await;
    let (code, waited, _) = push(&stack, ("9.4", "2", 22), "az-3", &[]).await;
    assert_eq!(
        (code, waited["state"].as_str()),
        (0, Some("PUSHED")),
        "{waited}"
    );
    let requests = stack.partner_requests().await;
    let first_configure = requests
        .iter()
        .position(|r| r["method"] == "POST" && r["path"] == "/rp/product-ingestion/configure")
        .unwrap();
    let polls_before = requests[..first_configure]
        .iter()
        .filter(|r| {
            r["path"]
                .as_str()
                .unwrap()
                .starts_with("/rp/product-ingestion/submission/")
        })
        .count();
    assert!(
        polls_before >= 4,
        "{polls_before} submission checks before configuring"
    );

    // WHEN someone else changes the offer's listing THEN the push is NOTPUSHED with the reason
    stack
        .partner_control("draft-change", &json!({"offer": OFFER}))
        .await;
    stack.partner_control("requests", &json!({})).await;
    let (code, refused, _) = push(&stack, ("9.4", "3", 23), "az-4", &[]).await;
    assert_eq!(
        (code, refused["state"].as_str()),
        (30, Some("FAILED")),
        "{refused}"
    );
    let d = &refused["destinations"][0];
    assert_eq!(d["state"], "NOTPUSHED");
    assert!(
        d["error"].as_str().unwrap().starts_with(&format!(
            "Can't update the offer {OFFER} as it's already being changed: listing/"
        )),
        "{d}"
    );
    assert!(stack.partner_configures().await.is_empty());
    // AND with --azure-allow-draft-push it is pushed
    let (code, allowed, _) = push(
        &stack,
        ("9.4", "3", 23),
        "az-5",
        &["--azure-allow-draft-push"],
    )
    .await;
    assert_eq!(
        (code, allowed["state"].as_str()),
        (0, Some("PUSHED")),
        "{allowed}"
    );

    // WHEN the offer fails certification THEN the destination is NOTPUSHED at once
    stack
        .partner_control("certification", &json!({"offer": OFFER}))
        .await;
    stack.partner_control("requests", &json!({})).await;
    let (code, failed, _) = push(
        &stack,
        ("9.4", "4", 24),
        "az-6",
        &["--azure-allow-draft-push"],
    )
    .await;
    assert_eq!(
        (code, failed["destinations"][0]["state"].as_str()),
        (30, Some("NOTPUSHED")),
        "{failed}"
    );
    assert!(
        failed["destinations"][0]["error"]
            .as_str()
            .unwrap()
            .contains("Certification failed"),
        "{failed}"
    );
    assert_eq!(
        configured(&stack.partner_configures().await),
        [TECH, "submission:preview"]
    );

    // GIVEN one build with an AMI image (community and AWS Marketplace destinations) and a
    // VHD (the Azure offer), pushed with -w all
    let both = combined_mapping(&stack);
    stack
        .partner_control("certification", &json!({"offer": OFFER}))
        .await;
    let (code, mixed) = push_all(&stack, &both, ("9.7", 31), "mix-1").await;
    // THEN the failing Azure publish fails only its destination
    assert_eq!(
        (code, mixed["state"].as_str(), mixed["error"].as_str()),
        (
            30,
            Some("FAILED"),
            Some("Combined VM push failed: at least one workflow failed.")
        ),
        "{mixed}"
    );
    // (the community workflow skips the VHD, as pubtools drops what is no AMI)
    let skipped: Vec<&Value> = mixed["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["state"] == "SKIPPED")
        .collect();
    assert_eq!(skipped.len(), 1, "{mixed}");
    assert!(
        skipped[0]["source"].as_str().unwrap().ends_with(".vhd.xz"),
        "{mixed}"
    );
    assert_eq!(
        kinds(&mixed),
        [
            ("aws-na".to_string(), "PUSHED".to_string()),
            ("aws-us-storage".into(), "PUSHED".into()),
            ("aws-us-storage".into(), "PUSHED".into()),
            ("azure-na".into(), "NOTPUSHED".into()),
        ]
    );
    // AND WHEN the next build is pushed THEN every kind is PUSHED
    let (code, mixed) = push_all(&stack, &both, ("9.8", 32), "mix-2").await;
    assert_eq!(
        (code, mixed["state"].as_str()),
        (0, Some("PUSHED")),
        "{mixed}"
    );
    assert!(kinds(&mixed).iter().all(|(_, state)| state == "PUSHED"));
    assert_eq!(kinds(&mixed).len(), 4);

    // no signature, key or client secret anywhere a push writes (Azurite's own log aside:
    // the storage service logs the SAS it receives)
    let key = connection
        .split("AccountKey=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap();
    // the fake's request log shows which disk was configured, its signature redacted
    let text = everything_written(&stack).replace("sig=REDACTED", "");
    for secret in ["sig=", key, SECRET] {
        if let Some(at) = text.find(secret) {
            let context = &text[at.saturating_sub(300)..(at + 100).min(text.len())];
            panic!("{secret} leaked: {context}");
        }
    }
}
