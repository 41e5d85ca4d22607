//! copy-regions through its real binary on the local stack, one region per invocation (as
//! the state machine maps over an import's regions): an imported snapshot gets its copy in
//! a region, tagged at creation with its name, and its own region is the snapshot itself; a
//! retried `start` copies nothing twice; a region EC2 refuses fails on its own (the others
//! complete), and a re-run then copies only that region.

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
async fn copy_regions_gets_or_creates_the_copy_of_a_region() {
    let stack = TestStack::up(workspace(), &Options::default()).await;
    let (source, name) = imported_snapshot(&stack, BUCKET, SHA).await;

    // EC2 refuses everything in ap-south-1
    stack.aws_faults(&json!({"rate": 1.0, "kinds": ["denied"], "services": ["ec2"], "regions": ["ap-south-1"]})).await;
    let copy = |region: &str| {
        json!({"id": format!("cp-{region}"), "action": "start", "account": "aws-us-storage", "source_region": "us-east-1",
               "snapshot_id": source, "snapshot_name": name, "region": region,
               "tags": [["nvra", "rhel-ec2-9.0-10.x86_64"]]})
    };
    let check = |started: &Value| {
        let mut input = copy(started["region"].as_str().unwrap());
        input["action"] = json!("check");
        input["copy_snapshot_id"] = started["snapshot_id"].clone();
        input["started"] = started["started"].clone();
        input
    };
    assert_eq!(
        invoke(&stack, "vmpush-copy-regions", &copy("us-east-1")),
        json!({"id": "cp-us-east-1", "status": "completed", "snapshot_name": name,
               "region": "us-east-1", "snapshot_id": source, "progress": null, "started": false})
    );
    let mut done = Vec::new();
    for region in ["us-west-2", "eu-west-1"] {
        let started = invoke(&stack, "vmpush-copy-regions", &copy(region));
        assert_eq!(
            (
                started["id"].as_str(),
                started["status"].as_str(),
                started["started"].as_bool()
            ),
            (
                Some(format!("cp-{region}").as_str()),
                Some("active"),
                Some(true)
            ),
            "{region}: {started}"
        );
        let finished = eventually(60, async || {
            let out = invoke(&stack, "vmpush-copy-regions", &check(&started));
            (out["status"] == "completed").then_some(out)
        })
        .await;
        assert_eq!(
            (&finished["snapshot_id"], &finished["started"]),
            (&started["snapshot_id"], &json!(true)),
            "{finished}"
        );
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
        assert_eq!(snapshots[0]["SnapshotId"], finished["snapshot_id"]);
        assert_eq!(
            snapshots[0]["Tags"],
            json!([{"Key": "Name", "Value": name}, {"Key": "nvra", "Value": "rhel-ec2-9.0-10.x86_64"}])
        );
        done.push((region, finished));
    }
    // the refused region fails alone, with the reason, as a Fatal error the ASL catches
    let (error, body) = stack.invoke("vmpush-copy-regions", &copy("ap-south-1"));
    assert!(error.is_some(), "{body}");
    assert_eq!(body["errorType"], "Fatal", "{body}");
    let message = body["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("UnauthorizedOperation (HTTP 403)"),
        "{body}"
    );
    assert!(
        serde_json::from_str::<Value>(message).is_err(),
        "the message is plain text: {message}"
    );
    let mut first_copies = copy_snapshot_calls(&stack).await;
    first_copies.sort();
    assert_eq!(first_copies, ["eu-west-1", "us-west-2"]);

    // the region recovers: a re-run copies it alone
    stack.aws_faults(&json!({"rate": 0})).await;
    for (region, finished) in &done {
        let again = invoke(&stack, "vmpush-copy-regions", &copy(region));
        assert_eq!(
            (&again["snapshot_id"], &again["started"]),
            (&finished["snapshot_id"], &json!(false))
        );
    }
    let again = invoke(&stack, "vmpush-copy-regions", &copy("ap-south-1"));
    assert_eq!(again["started"], true);
    assert_eq!(
        copy_snapshot_calls(&stack).await.len(),
        3,
        "one more copy in all"
    );

    // CopySnapshot's answer is lost once (applied, then a 500): the SDK's retry makes a second
    // copy; the next check keeps the first and deletes the other
    stack
        .aws_faults(
            &json!({"rate": 1.0, "kinds": ["lost"], "actions": ["CopySnapshot"], "count": 1}),
        )
        .await;
    let started = invoke(&stack, "vmpush-copy-regions", &copy("sa-east-1"));
    stack.aws_faults(&json!({"rate": 0})).await;
    let named = || {
        let found = stack.aws(&[
            "ec2",
            "describe-snapshots",
            "--region",
            "sa-east-1",
            "--owner-ids",
            "self",
            "--filters",
            &format!("Name=tag:Name,Values={name}"),
        ]);
        let mut ids: Vec<String> = found["Snapshots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["SnapshotId"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    let both = named();
    assert_eq!(
        both.len(),
        2,
        "the lost answer made a second copy: {both:?}"
    );
    let finished = eventually(60, async || {
        let out = invoke(&stack, "vmpush-copy-regions", &check(&started));
        (out["status"] == "completed").then_some(out)
    })
    .await;
    assert_eq!(named(), [both[0].clone()]);
    assert_eq!(finished["snapshot_id"], json!(both[0]));
}
