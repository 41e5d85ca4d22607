//! rhsm-update through its real binary against the RHSM fake: a new AMI gets exactly the
//! region and AMI bodies of spec §5.2, a re-run sends one `PUT` only, a pre-push sends nothing.

use std::path::Path;

use serde_json::{Value, json};
use vmpush_local::Options;
use vmpush_local::testing::TestStack;

const NAME: &str = "RHEL-9.0.0_HVM_GA-20250101-x86_64-10-Hourly2-GP3";

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn input(pre_push: bool) -> Value {
    json!({"id": "ds-e2e", "ami": "ami-0123456789abcdef0", "pre_push": pre_push, "destination": {
        "account": "aws-us-storage", "provider": "AWS", "destination": "us-east-1-hourly",
        "region": "us-east-1", "partition": "aws", "billing_type": "hourly", "ami_name": NAME,
        "image_name": NAME, "billing_codes": {"name": "Hourly2", "codes": ["bp-6fa54006"]},
        "public": true, "rhsm_product": "RHEL_HOURLY", "rhsm_provider": "AWS",
        "architecture": "x86_64", "boot_mode": "uefi-preferred", "volume": "gp3",
        "bucket": "redhat-cloudimg-us-east-1", "sharing_accounts": [], "snapshot_accounts": [],
        "groups": [], "tags": {}, "description": null, "virtualization": "hvm",
        "root_device": "/dev/sda1", "ena_support": true, "sriov_net_support": "simple",
        "release": {"product": "RHEL", "date": "20250101", "arch": "x86_64", "respin": 10,
                    "version": "9.0", "base_product": null, "base_version": null,
                    "variant": "BaseOS", "type": "ga"},
        "marketplace": null}})
}

async fn requests(stack: &TestStack) -> Vec<Value> {
    stack
        .get_json(&format!("{}/_fake/requests", stack.var("VMPUSH_RHSM_URL")))
        .await
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["method"] != "GET")
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn rhsm_gets_the_exact_bodies_once_then_updates() {
    let stack = TestStack::up(workspace(), &Options::default()).await;

    let (error, out) = stack.invoke("vmpush-rhsm-update", &input(false));
    assert_eq!(error, None, "{out}");
    assert_eq!(out["action"], "created");
    let sent = requests(&stack).await;
    let calls: Vec<(&str, &str, u64)> = sent
        .iter()
        .map(|r| {
            (
                r["method"].as_str().unwrap(),
                r["path"].as_str().unwrap(),
                r["status"].as_u64().unwrap(),
            )
        })
        .collect();
    let amis = "/v1/internal/cloud_access_providers/amazon/amis";
    assert_eq!(
        calls,
        [
            ("PUT", amis, 404),
            (
                "POST",
                "/v1/internal/cloud_access_providers/amazon/regions",
                200
            ),
            ("POST", amis, 200)
        ]
    );
    assert_eq!(
        sent[1]["body"],
        json!({"regionID": "us-east-1", "providerShortname": "AWS"})
    );
    let mut created = sent[2]["body"].clone();
    let description = created["description"].as_str().unwrap().to_string();
    let stamp = description
        .strip_prefix(&format!("Released {NAME} on "))
        .unwrap_or_else(|| panic!("{description}"));
    assert!(
        stamp.len() == 25 && stamp.ends_with("+00:00") && stamp.as_bytes()[10] == b'T',
        "{stamp}"
    );
    created["description"] = json!("-");
    assert_eq!(
        created,
        json!({"amiID": "ami-0123456789abcdef0", "arch": "x86_64", "product": "RHEL_HOURLY",
               "version": "9.0", "variant": "BaseOS", "description": "-", "status": "VISIBLE",
               "region": "us-east-1"})
    );

    // again: one PUT, accepted
    let (error, out) = stack.invoke("vmpush-rhsm-update", &input(false));
    assert_eq!((error, out["action"].as_str()), (None, Some("updated")));
    let sent = requests(&stack).await;
    assert_eq!(sent.len(), 4);
    assert_eq!(
        (sent[3]["method"].as_str(), sent[3]["status"].as_u64()),
        (Some("PUT"), Some(200))
    );

    // pre-push: nothing
    let (error, out) = stack.invoke("vmpush-rhsm-update", &input(true));
    assert_eq!((error, out["action"].as_str()), (None, Some("skipped")));
    assert_eq!(requests(&stack).await.len(), 4);
}
