//! publish through its real binary on the local stack: a destination's AMI is registered once
//! with every attribute of the plan, shared with the planned accounts (the snapshot with the
//! snapshot accounts); an hourly image becomes public only in the release invocation (which the
//! state machine runs after RHSM), and a re-run modifies nothing; a region whose image block
//! public access is on fails a public destination with a clear error, before registering it or,
//! when it was shared before the block, when EC2 refuses its release.

mod support;

use serde_json::{Value, json};
use support::{imported_snapshot, invoke, workspace};
use vmpush_local::Options;
use vmpush_local::testing::TestStack;

const BUCKET: &str = "redhat-cloudimg-us-east-1";
const SHA: &str = "6b6f4c3e35fde47c2f8470f651141cb3b4052bf9183524f47c9a60260efa8d5b";
const HOURLY: &str = "RHEL-9.0.0_HVM_GA-20250101-x86_64-10-Hourly2-GP3";
const ACCESS: &str = "RHEL-9.0.0_HVM_GA-20250101-x86_64-10-Access2-GP3";
const LATE: &str = "RHEL-9.0.0_HVM_GA-20250101-x86_64-10-Hourly2-GP2";

/// A destination as resolve-mapping plans it (the peer kit's push).
fn destination(name: &str, billing: &str, code: &str, public: bool) -> Value {
    json!({
        "account": "aws-us-storage", "provider": "AWS", "destination": format!("us-east-1-{billing}"),
        "region": "us-east-1", "partition": "aws", "billing_type": billing, "ami_name": name,
        "image_name": name, "billing_codes": {"name": "x", "codes": [code]},
        "public": public, "rhsm_product": "RHEL_HOURLY", "rhsm_provider": "AWS",
        "architecture": "x86_64", "boot_mode": "uefi-preferred", "volume": "gp3",
        "bucket": BUCKET, "sharing_accounts": ["111122223333", "aws-us-gov:444455556666"],
        "snapshot_accounts": ["777788889999"], "groups": [],
        "tags": {"nvra": "rhel-ec2-9.0-10.x86_64", "billing_type": billing},
        "description": "Provided by Red Hat, Inc.", "virtualization": "hvm",
        "root_device": "/dev/sda1", "ena_support": true, "sriov_net_support": "simple",
        "release": {"product": "RHEL", "date": "20250101", "arch": "x86_64", "respin": 10,
                    "version": "9.0", "base_product": null, "base_version": null,
                    "variant": "BaseOS", "type": "ga"},
        "marketplace": null})
}

fn image(stack: &TestStack, name: &str) -> Value {
    let found = stack.aws(&[
        "ec2",
        "describe-images",
        "--owners",
        "self",
        "--filters",
        &format!("Name=name,Values={name}"),
    ]);
    let images = found["Images"].as_array().unwrap();
    assert_eq!(images.len(), 1, "{name}: {found}");
    images[0].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn publish_registers_shares_then_releases_once() {
    let stack = TestStack::up(workspace(), &Options::default()).await;
    let (snapshot, _) = imported_snapshot(&stack, BUCKET, SHA).await;
    let publish = |destination: Value| {
        json!({"id": "ds-e2e", "destination": destination, "snapshot_id": snapshot, "pre_push": false,
               "tags": [["vmpush:push-id", "p1"]]})
    };
    let hourly = publish(destination(HOURLY, "hourly", "bp-6fa54006", true));
    let access = publish(destination(ACCESS, "access", "bp-63a5400a", false));
    let mut release = hourly.clone();
    release["action"] = json!("release");
    let launch_permissions = |ami: &str| -> Vec<String> {
        let launch = stack.aws(&[
            "ec2",
            "describe-image-attribute",
            "--image-id",
            ami,
            "--attribute",
            "launchPermission",
        ]);
        let mut permissions: Vec<String> = launch["LaunchPermissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                p["UserId"]
                    .as_str()
                    .or(p["Group"].as_str())
                    .unwrap()
                    .to_string()
            })
            .collect();
        permissions.sort();
        permissions
    };

    // share: registered and shared, a release due, not public before RHSM knows it
    let out = invoke(&stack, "vmpush-publish", &hourly);
    assert_eq!(
        (
            out["created"].as_bool(),
            out["public"].as_bool(),
            out["release"].as_bool(),
            &out["shared_with"],
            &out["snapshot_shared_with"]
        ),
        (
            Some(true),
            Some(false),
            Some(true),
            &json!(["111122223333"]),
            &json!(["777788889999"])
        )
    );
    assert_eq!(
        launch_permissions(out["ami"].as_str().unwrap()),
        ["111122223333"]
    );
    // release (after RHSM): public
    let released = invoke(&stack, "vmpush-publish", &release);
    assert_eq!(
        (
            &released["ami"],
            released["public"].as_bool(),
            released["release"].as_bool()
        ),
        (&out["ami"], Some(true), Some(false))
    );
    let ami = out["ami"].as_str().unwrap().to_string();
    let registered = image(&stack, HOURLY);
    assert_eq!(registered["ImageId"], ami.as_str());
    assert_eq!(
        (
            &registered["Architecture"],
            &registered["BootMode"],
            &registered["EnaSupport"],
            &registered["SriovNetSupport"],
            &registered["RootDeviceName"],
            &registered["Description"]
        ),
        (
            &json!("x86_64"),
            &json!("uefi-preferred"),
            &json!(true),
            &json!("simple"),
            &json!("/dev/sda1"),
            &json!("Provided by Red Hat, Inc.")
        )
    );
    let root = &registered["BlockDeviceMappings"][0]["Ebs"];
    assert_eq!(
        (&root["SnapshotId"], &root["VolumeType"]),
        (&json!(snapshot), &json!("gp3"))
    );
    let mut tags: Vec<(String, String)> = registered["Tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["Key"].as_str().unwrap().into(),
                t["Value"].as_str().unwrap().into(),
            )
        })
        .collect();
    tags.sort();
    assert_eq!(
        tags,
        [
            ("billing_type".to_string(), "hourly".to_string()),
            ("nvra".into(), "rhel-ec2-9.0-10.x86_64".into()),
            ("vmpush:push-id".into(), "p1".into())
        ]
    );
    let billing = stack
        .get_json(&format!(
            "{}/_local/billing-products",
            stack.var("AWS_ENDPOINT_URL")
        ))
        .await;
    assert_eq!(billing["us-east-1"][&ami], json!(["bp-6fa54006"]));
    assert_eq!(launch_permissions(&ami), ["111122223333", "all"]);
    let volume = stack.aws(&[
        "ec2",
        "describe-snapshot-attribute",
        "--snapshot-id",
        &snapshot,
        "--attribute",
        "createVolumePermission",
    ]);
    assert_eq!(
        volume["CreateVolumePermissions"],
        json!([{"UserId": "777788889999"}]),
        "the snapshot of a public image stays private"
    );

    // the access image: registered, shared, not public
    let out = invoke(&stack, "vmpush-publish", &access);
    assert_eq!(
        (
            out["created"].as_bool(),
            out["public"].as_bool(),
            out["release"].as_bool()
        ),
        (Some(true), Some(false), Some(false))
    );
    assert_eq!(
        launch_permissions(out["ami"].as_str().unwrap()),
        ["111122223333"]
    );

    // again: the same AMIs, nothing registered or modified
    let before = stack
        .aws_counts(&["RegisterImage", "ModifyImageAttribute"])
        .await;
    let again = invoke(&stack, "vmpush-publish", &hourly);
    assert_eq!(
        (
            again["ami"].as_str(),
            again["created"].as_bool(),
            again["public"].as_bool(),
            &again["shared_with"]
        ),
        (Some(ami.as_str()), Some(false), Some(true), &json!([]))
    );
    invoke(&stack, "vmpush-publish", &release);
    invoke(&stack, "vmpush-publish", &access);
    assert_eq!(
        stack
            .aws_counts(&[
                "RegisterImage",
                "ModifyImageAttribute",
                "ModifySnapshotAttribute"
            ])
            .await,
        [before[0], before[1], 1]
    );

    // shared before the region blocks public sharing, released after: EC2 refuses the grant,
    // the release names the block and the image stays private
    let late = publish(destination(LATE, "hourly", "bp-6fa54006", true));
    let shared = invoke(&stack, "vmpush-publish", &late);
    assert_eq!(shared["release"].as_bool(), Some(true), "{shared}");
    let late_ami = shared["ami"].as_str().unwrap().to_string();

    // image block public access on: a public destination fails, clearly, before registering
    stack.aws(&[
        "ec2",
        "enable-image-block-public-access",
        "--image-block-public-access-state",
        "block-new-sharing",
    ]);
    let (error, body) = stack.invoke(
        "vmpush-publish",
        &publish(destination(
            "RHEL-9.0.0-beta-Hourly2-GP3",
            "hourly",
            "bp-6fa54006",
            true,
        )),
    );
    assert!(error.is_some(), "{body}");
    assert_eq!(body["errorType"], "Conflict");
    assert_eq!(
        body["errorMessage"],
        "RHEL-9.0.0-beta-Hourly2-GP3 in us-east-1: image block public access is on in this region; nothing was registered or shared"
    );
    let found = stack.aws(&[
        "ec2",
        "describe-images",
        "--owners",
        "self",
        "--filters",
        "Name=name,Values=RHEL-9.0.0-beta-Hourly2-GP3",
    ]);
    assert_eq!(found["Images"], json!([]));

    let mut late_release = late;
    late_release["action"] = json!("release");
    let (error, body) = stack.invoke("vmpush-publish", &late_release);
    assert!(error.is_some(), "{body}");
    assert_eq!(
        (&body["errorType"], &body["errorMessage"]),
        (
            &json!("Conflict"),
            &json!(format!(
                "{LATE} in us-east-1: image block public access is on in this region; the image stays private"
            ))
        )
    );
    assert_eq!(launch_permissions(&late_ami), ["111122223333"]);
}
