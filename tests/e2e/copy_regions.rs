//! copy-regions through its real binary on the local stack: an imported snapshot gets one
//! copy per destination region, tagged at creation with its name; a retried `start` copies
//! nothing twice; a region EC2 refuses is reported failed while the others complete, and a
//! re-run then copies only that region.

mod support;

use serde_json::{Value, json};
use support::{imported_snapshot, invoke, workspace};
use vmpush_local::Options;
use vmpush_local::testing::{TestStack, eventually};

const BUCKET: &str = "redhat-cloudimg-us-east-1";
const SHA: &str = "5a6f4c3e35fde47c2f8470f651141cb3b4052bf9183524f47c9a60260efa8d5b";

/// The regions CopySnapshot succeeded in, in order.
async fn copy_snapshot_calls(stack: &TestStack) -> Vec<String> {
    stack
        .aws_requests()
        .await
        .iter()
        .filter(|r| r["action"] == "CopySnapshot" && r["status"] == 200)
        .map(|r| r["region"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn copy_regions_gets_or_creates_one_copy_per_region() {
    let stack = TestStack::up(workspace(), &Options::default()).await;
    let (source, name) = imported_snapshot(&stack, BUCKET, SHA).await;

    // EC2 refuses everything in ap-south-1
    stack.aws_faults(&json!({"rate": 1.0, "kinds": ["denied"], "services": ["ec2"], "regions": ["ap-south-1"]})).await;
    let copy = |action: &str, copies: &Value| {
        json!({"action": action, "source_region": "us-east-1", "snapshot_id": source, "snapshot_name": name,
               "regions": ["us-east-1", "us-west-2", "eu-west-1", "ap-south-1"],
               "tags": [["nvra", "rhel-ec2-9.0-10.x86_64"]], "copies": copies})
    };
    let started = invoke(&stack, "vmpush-copy-regions", &copy("start", &json!({})));
    let copies = &started["copies"];
    assert_eq!(
        copies["us-east-1"],
        json!({"state": "completed", "snapshot_id": source, "progress": null, "error": null, "started": false})
    );
    for region in ["us-west-2", "eu-west-1"] {
        assert_eq!(
            (
                copies[region]["state"].as_str(),
                copies[region]["started"].as_bool()
            ),
            (Some("pending"), Some(true)),
            "{region}: {started}"
        );
    }
    assert_eq!(copies["ap-south-1"]["state"], "failed");
    assert!(
        copies["ap-south-1"]["error"]
            .as_str()
            .unwrap()
            .contains("UnauthorizedOperation (HTTP 403)"),
        "{started}"
    );
    let done = eventually(60, async || {
        let out = invoke(&stack, "vmpush-copy-regions", &copy("check", copies));
        (out["status"] == "completed").then_some(out)
    })
    .await;
    for region in ["us-west-2", "eu-west-1"] {
        assert_eq!(done["copies"][region]["state"], "completed", "{done}");
        let found = stack.aws(&[
            "ec2",
            "describe-snapshots",
            "--region",
            region,
            "--owner-ids",
            "self",
            "--filters",
            &format!("Name=tag:Name,Values={name}"),
        ]);
        let snapshots = found["Snapshots"].as_array().unwrap();
        assert_eq!(snapshots.len(), 1, "{region}");
        assert_eq!(
            snapshots[0]["SnapshotId"],
            done["copies"][region]["snapshot_id"]
        );
        assert_eq!(
            snapshots[0]["Tags"],
            json!([{"Key": "Name", "Value": name}, {"Key": "nvra", "Value": "rhel-ec2-9.0-10.x86_64"}])
        );
    }
    assert_eq!(done["copies"]["ap-south-1"]["state"], "failed");
    let mut first_copies = copy_snapshot_calls(&stack).await;
    first_copies.sort();
    assert_eq!(first_copies, ["eu-west-1", "us-west-2"]);

    // the region recovers: a re-run copies it alone
    stack.aws_faults(&json!({"rate": 0})).await;
    let again = invoke(&stack, "vmpush-copy-regions", &copy("start", &json!({})));
    for region in ["us-west-2", "eu-west-1"] {
        assert_eq!(
            (
                again["copies"][region]["snapshot_id"].as_str(),
                again["copies"][region]["started"].as_bool()
            ),
            (done["copies"][region]["snapshot_id"].as_str(), Some(false))
        );
    }
    assert_eq!(again["copies"]["ap-south-1"]["started"], true);
    assert_eq!(
        copy_snapshot_calls(&stack).await.len(),
        3,
        "one more copy in all"
    );
}
