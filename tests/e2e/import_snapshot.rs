//! import-snapshot through its real binary on the local stack: `start` imports once (tagged at
//! creation), `check` follows the task to a snapshot tagged with its name and provenance, a
//! second `start` reuses the snapshot and imports nothing, and a missing object fails with
//! EC2's status message.

use std::path::Path;

use serde_json::{Value, json};
use vmpush_local::Options;
use vmpush_local::testing::{TestStack, eventually};

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn invoke(stack: &TestStack, payload: &Value) -> Value {
    let (error, body) = stack.invoke("vmpush-import-snapshot", payload);
    assert_eq!(error, None, "{body}");
    body
}

const SHA: &str = "305e5ece35fde47c2f8470f651141cb3b4052bf9183524f47c9a60260efa8d5b";

#[tokio::test(flavor = "multi_thread")]
async fn import_snapshot_gets_or_creates_by_name() {
    let stack = TestStack::up(workspace(), &Options::default()).await;
    let image = stack.scratch().join("disk.raw");
    std::fs::write(&image, vec![7u8; 3 << 20]).unwrap();
    stack.aws(&[
        "s3api",
        "create-bucket",
        "--bucket",
        "redhat-cloudimg-us-east-1",
    ]);
    stack.aws(&[
        "s3api",
        "put-object",
        "--bucket",
        "redhat-cloudimg-us-east-1",
        "--key",
        SHA,
        "--body",
        image.to_str().unwrap(),
    ]);
    let input = |action: &str, key: &str, task: Option<&str>| {
        json!({
        "id": "im-e2e", "action": action, "account": "aws-us-storage", "region": "us-east-1", "bucket": "redhat-cloudimg-us-east-1", "key": key, "sha256": SHA,
        "format": "raw", "billing_codes": ["bp-6fa54006"], "tags": [["nvra", "rhel-ec2-9.0-10.x86_64"], ["billing_type", "hourly"]],
        "task_id": task})
    };

    // start imports once
    let started = invoke(&stack, &input("start", SHA, None));
    assert_eq!(
        (started["status"].as_str(), started["started"].as_bool()),
        (Some("active"), Some(true))
    );
    let name = started["snapshot_name"].as_str().unwrap().to_string();
    let task_id = started["task_id"].as_str().unwrap().to_string();
    let tasks = stack.aws(&[
        "ec2",
        "describe-import-snapshot-tasks",
        "--import-task-ids",
        &task_id,
    ]);
    assert_eq!(
        tasks["ImportSnapshotTasks"][0]["Tags"],
        json!([{"Key": "Name", "Value": name}, {"Key": "nvra", "Value": "rhel-ec2-9.0-10.x86_64"}, {"Key": "billing_type", "Value": "hourly"}])
    );
    assert_eq!(
        tasks["ImportSnapshotTasks"][0]["SnapshotTaskDetail"]["Format"],
        "RAW"
    );
    // a retried start resumes the same task
    let resumed = invoke(&stack, &input("start", SHA, None));
    assert_eq!(
        (resumed["task_id"].as_str(), resumed["started"].as_bool()),
        (Some(task_id.as_str()), Some(false))
    );

    // check follows it to a tagged snapshot
    let done = eventually(30, async || {
        let out = invoke(&stack, &input("check", SHA, Some(&task_id)));
        (out["status"] != "active").then_some(out)
    })
    .await;
    assert_eq!(done["status"], "completed");
    let snapshot_id = done["snapshot_id"].as_str().unwrap().to_string();
    let snapshot = stack.aws(&["ec2", "describe-snapshots", "--snapshot-ids", &snapshot_id]);
    let mut tags: Vec<(String, String)> = snapshot["Snapshots"][0]["Tags"]
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
            ("Name".to_string(), name.clone()),
            ("billing_type".into(), "hourly".into()),
            ("nvra".into(), "rhel-ec2-9.0-10.x86_64".into())
        ]
    );

    // a second start reuses the snapshot: one ImportSnapshot call in all
    let again = invoke(&stack, &input("start", SHA, None));
    assert_eq!(
        (
            again["status"].as_str(),
            again["snapshot_id"].as_str(),
            again["started"].as_bool()
        ),
        (Some("completed"), Some(snapshot_id.as_str()), Some(false))
    );
    assert_eq!(stack.aws_counts(&["ImportSnapshot"]).await, [1]);
    let owned = stack.aws(&[
        "ec2",
        "describe-snapshots",
        "--owner-ids",
        "self",
        "--filters",
        &format!("Name=tag:Name,Values={name}"),
    ]);
    assert_eq!(owned["Snapshots"].as_array().unwrap().len(), 1);

    // a missing object fails with EC2's message
    let other = "0000000000000000000000000000000000000000000000000000000000000000";
    let mut missing = input("start", other, None);
    missing["sha256"] = json!(other);
    let task = invoke(&stack, &missing)["task_id"]
        .as_str()
        .unwrap()
        .to_string();
    let failed = eventually(30, async || {
        let mut check = input("check", other, Some(&task));
        check["sha256"] = json!(other);
        let out = invoke(&stack, &check);
        (out["status"] != "active").then_some(out)
    })
    .await;
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["message"]
            .as_str()
            .unwrap()
            .contains("Unable to read the disk image"),
        "{failed}"
    );
}
