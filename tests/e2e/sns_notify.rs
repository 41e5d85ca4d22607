//! sns-notify through its real binary: the notice summarize stored in the results bucket
//! reaches the SQS queue subscribed to the
//! stack's topic as a structured document with the region → AMI map, with filterable message
//! attributes, plus one message per failed destination when asked; run again, it sends none.

use std::path::Path;

use serde_json::{Value, json};
use vmpush_local::Options;
use vmpush_local::testing::TestStack;

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_subscriber_gets_the_structured_notice() {
    let stack = TestStack::up(workspace(), &Options::default()).await;
    let name = "RHEL-9.0.0_HVM_GA-20250101-x86_64-10-Hourly2-GP3";
    let notice = json!({
        "event": "push-finished", "push_id": "p1", "workflow": "community", "state": "FAILED",
        "images": [{"name": name, "source": "drops/p1/rhel-ec2-9.0-10.x86_64.raw.xz",
                    "sha256": "ab".repeat(32), "product": "RHEL_HOURLY", "billing_type": "hourly",
                    "regions": {
                        "us-east-1": {"ami": "ami-1", "snapshot": "snap-1", "state": "PUSHED", "public": true},
                        "eu-west-1": {"ami": null, "snapshot": null, "state": "NOTPUSHED", "public": false}}}],
        "failures": [{"name": name, "region": "eu-west-1", "destination": "eu-west-1-hourly",
                      "state": "NOTPUSHED", "reason": "CopySnapshot: UnauthorizedOperation"}]});
    // as summarize stores it
    let stored = stack.scratch().join("notice.json");
    std::fs::write(&stored, notice.to_string()).unwrap();
    let key = "results/p1/notice.json";
    stack.aws(&[
        "s3api",
        "put-object",
        "--bucket",
        vmpush_local::RESULTS_BUCKET,
        "--key",
        key,
        "--body",
        stored.to_str().unwrap(),
    ]);
    let (error, out) = stack.invoke(
        "vmpush-sns-notify",
        &json!({"notice": key, "per_failure": true}),
    );
    assert_eq!(error, None, "{out}");
    assert_eq!(
        (
            out["delivered"].as_bool(),
            out["message_ids"].as_array().map(Vec::len)
        ),
        (Some(true), Some(2))
    );

    let mut envelopes = stack.notifications();
    envelopes.sort_by_key(|e| e["Subject"].as_str().unwrap().to_string());
    assert_eq!(envelopes.len(), 2, "{envelopes:?}");
    let push = &envelopes[1];
    assert_eq!(push["Subject"], "vmpush: push p1 FAILED");
    let document: Value = serde_json::from_str(push["Message"].as_str().unwrap()).unwrap();
    assert_eq!(document, notice);
    assert_eq!(
        document["images"][0]["regions"]["us-east-1"]["ami"],
        "ami-1"
    );
    assert_eq!(
        (
            &push["MessageAttributes"]["event"],
            &push["MessageAttributes"]["state"],
            &push["MessageAttributes"]["workflow"],
            &push["MessageAttributes"]["product"]
        ),
        (
            &json!({"Type": "String", "Value": "push-finished"}),
            &json!({"Type": "String", "Value": "FAILED"}),
            &json!({"Type": "String", "Value": "community"}),
            &json!({"Type": "String.Array", "Value": "[\"RHEL_HOURLY\"]"})
        )
    );
    let failure = &envelopes[0];
    assert_eq!(
        failure["Subject"],
        format!("vmpush: {name} NOTPUSHED in eu-west-1")
    );
    assert_eq!(
        failure["MessageAttributes"]["event"]["Value"],
        "destination-failed"
    );

    // WHEN the step runs again (a retry, or a re-run with the same outcome)
    let (error, again) = stack.invoke(
        "vmpush-sns-notify",
        &json!({"notice": key, "per_failure": true}),
    );
    // THEN it reports the messages already sent and sends none
    assert_eq!(error, None, "{again}");
    assert_eq!(again["message_ids"], out["message_ids"]);
    assert_eq!(stack.notifications(), Vec::<Value>::new());
    let records = stack.aws(&[
        "s3api",
        "list-objects-v2",
        "--bucket",
        vmpush_local::RESULTS_BUCKET,
        "--prefix",
        "results/p1/notified/",
    ]);
    assert_eq!(
        records["Contents"].as_array().map(Vec::len),
        Some(2),
        "{records}"
    );
}
