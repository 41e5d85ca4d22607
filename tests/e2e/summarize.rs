//! summarize through its real binary: the result of a push with one failed region, from the
//! work list and the upload's outcomes stored in the results bucket, is written there
//! (result.json, awspub's images.json, pubtools' pushitems.jsonl and clouds.json) and its
//! verdict returned with where the notice for subscribers is (`notice.json` beside them).

use std::path::Path;

use serde_json::{Value, json};
use vmpush_local::testing::TestStack;
use vmpush_local::{Options, RESULTS_BUCKET};

const SOURCE: &str = "starmap/CLOUD_IMAGES/rhel-ec2-9.0-10/rhel-ec2-9.0-10.x86_64.raw.xz";

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn destination(region: &str) -> Value {
    let name = "RHEL-9.0.0_HVM_GA-20250101-x86_64-10-Hourly2-GP3";
    json!({
        "account": "aws-us-storage", "provider": "AWS", "destination": format!("{region}-hourly"),
        "region": region, "partition": "aws", "billing_type": "hourly", "ami_name": name,
        "image_name": name, "billing_codes": null, "public": true, "rhsm_product": "RHEL_HOURLY",
        "rhsm_provider": "AWS", "architecture": "x86_64", "boot_mode": null, "volume": "gp3",
        "bucket": "redhat-cloudimg-us-east-1", "sharing_accounts": [], "snapshot_accounts": [],
        "groups": [], "tags": {}, "description": null, "virtualization": null,
        "root_device": null, "ena_support": null, "sriov_net_support": null,
        "release": {"product": "RHEL", "date": "20250101", "arch": "x86_64", "respin": 10,
                    "version": "9.0", "base_product": null, "base_version": null,
                    "variant": null, "type": "ga"},
        "marketplace": null})
}

fn object(stack: &TestStack, key: &str) -> String {
    String::from_utf8(stack.object(RESULTS_BUCKET, key)).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_result_lands_in_the_results_bucket() {
    let stack = TestStack::up(workspace(), &Options::default()).await;
    let sha = "ab".repeat(32);
    let work = json!({
        "push_id": "p1",
        "uploads": [{"id": "up-1", "account": "aws-us-storage", "region": "us-east-1", "bucket": "redhat-cloudimg-us-east-1",
                     "source_bucket": "vmpush-staging", "source_key": format!("drops/p1/{SOURCE}"),
                     "size": null, "sha256": sha, "format": "raw", "tags": [],
                     "imports": [{"id": "im-1", "billing_codes": [], "copies": [
                        {"id": "cp-east", "region": "us-east-1", "destinations": [{"id": "ds-east", "source": SOURCE, "destination": destination("us-east-1")}]},
                        {"id": "cp-west", "region": "eu-west-1", "destinations": [{"id": "ds-west", "source": SOURCE, "destination": destination("eu-west-1")}]}]}]}],
        "skipped": []});
    // as the upload's execution stores them: per import, copy, destination, each naming its
    // node; a failed copy as its Catch records it (Lambda's error document, whose message is
    // plain text)
    let outcomes = json!([[[[{"id": "ds-east", "ami": "ami-1", "snapshot": "snap-1", "public": true}],
                   {"id": "cp-west", "failed_at": "copy", "failure": {"Error": "Fatal", "Cause": json!({"errorType": "Fatal",
                    "errorMessage": "CopySnapshot to eu-west-1: UnauthorizedOperation (HTTP 403)"}).to_string()}}]]]);
    let run = "results/p1/runs/p1-00000000";
    for (key, value) in [("work.json", &work), ("outcomes/up-1.json", &outcomes)] {
        let path = stack.scratch().join(key.replace('/', "-"));
        std::fs::write(&path, value.to_string()).unwrap();
        stack.aws(&[
            "s3api",
            "put-object",
            "--bucket",
            RESULTS_BUCKET,
            "--key",
            &format!("{run}/{key}"),
            "--body",
            path.to_str().unwrap(),
        ]);
    }
    // as the push's execution passes them: the index, and the upload's execution's answer
    let input = json!({
        "workflow": "community",
        "push_id": "p1",
        "work": {"push_id": "p1", "stored": format!("{run}/work.json"),
                 "uploads": [{"id": "up-1", "work": format!("{run}/uploads/up-1.json"),
                              "execution": "up-1-0000000000000000",
                              "outcomes": format!("{run}/outcomes/up-1.json")}],
                 "azure_uploads": [], "azure_offers": [], "credentials_version": null},
        "outcomes": [[{"id": "up-1", "stored": format!("{run}/outcomes/up-1.json")}]]});
    let (error, out) = stack.invoke("vmpush-summarize", &input);
    assert_eq!(error, None, "{out}");
    assert_eq!(
        out["location"],
        format!("s3://{RESULTS_BUCKET}/results/p1/")
    );
    assert_eq!(
        out["verdict"],
        json!({"push_id": "p1", "workflow": "community", "state": "FAILED", "error": null,
               "location": format!("s3://{RESULTS_BUCKET}/results/p1/")})
    );
    assert_eq!(out["notice"], "results/p1/notice.json");
    let notice: Value = serde_json::from_str(&object(&stack, "results/p1/notice.json")).unwrap();
    assert_eq!(notice["failures"][0]["region"], "eu-west-1");
    assert_eq!(
        notice["failures"][0]["reason"],
        "CopySnapshot to eu-west-1: UnauthorizedOperation (HTTP 403)"
    );

    let stored: Value = serde_json::from_str(&object(&stack, "results/p1/result.json")).unwrap();
    assert_eq!(stored["state"], "FAILED");
    let states: Vec<&str> = stored["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["PUSHED", "NOTPUSHED"]);
    let images: Value = serde_json::from_str(&object(&stack, "results/p1/images.json")).unwrap();
    assert_eq!(
        images,
        json!({"images": {"RHEL-9.0.0_HVM_GA-20250101-x86_64-10-Hourly2-GP3": {"us-east-1": "ami-1"}}})
    );
    let clouds: Value = serde_json::from_str(&object(&stack, "results/p1/clouds.json")).unwrap();
    let clouds: Vec<(&Value, &Value, &Value)> = clouds
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (&c["dest"], &c["state"], &c["image_id"]))
        .collect();
    assert_eq!(
        clouds,
        [
            (
                &json!(["us-east-1-hourly"]),
                &json!("PUSHED"),
                &json!("ami-1")
            ),
            (
                &json!(["eu-west-1-hourly"]),
                &json!("NOTPUSHED"),
                &Value::Null
            )
        ]
    );
    let pushitems = object(&stack, "results/p1/pushitems.jsonl");
    let lines: Vec<Value> = pushitems
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines[1],
        json!({"build": null, "checksums": {"sha256": sha}, "dest": "eu-west-1-hourly",
               "filename": "RHEL-9.0.0_HVM_GA-20250101-x86_64-10-Hourly2-GP3",
               "origin": "s3://vmpush-staging/drops/p1/starmap/CLOUD_IMAGES/rhel-ec2-9.0-10",
               "signing_key": null, "src": format!("s3://vmpush-staging/drops/p1/{SOURCE}"),
               "state": "NOTPUSHED"})
    );
}
