//! upload (and import-snapshot after it) through their real binaries on the local stack: an
//! 80 MiB raw image staged as `.raw.xz` ends as one content-addressed object, one import task
//! and one snapshot however often the steps run; an interrupted upload resumes with only the
//! missing parts; a wrong `sha256sum` completes nothing; an uncompressed image is copied
//! server-side, only from the version whose sum was verified.

mod staged;

use serde_json::{Value, json};
use staged::{image, sha, stage, workspace, xz};
use vmpush_local::testing::{TestStack, eventually};
use vmpush_local::{Options, STAGING_BUCKET};

const BUCKET: &str = "redhat-cloudimg-us-east-1";

fn work(key: &str, sha256: &str) -> Value {
    json!({"id": "up-e2e", "account": "aws-us-storage", "region": "us-east-1", "bucket": BUCKET,
           "source_bucket": STAGING_BUCKET, "source_key": key, "size": null, "sha256": sha256, "format": "raw",
           "tags": [["awspub:source:filename", "disk.raw.xz"], ["awspub:source:architecture", "x86_64"]]})
}

fn keys(stack: &TestStack) -> Vec<String> {
    let listed = stack.aws(&["s3api", "list-objects-v2", "--bucket", BUCKET]);
    listed["Contents"]
        .as_array()
        .map(|c| {
            c.iter()
                .map(|o| o["Key"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn invoke(stack: &TestStack, function: &str, payload: &Value) -> Value {
    let (error, body) = stack.invoke(function, payload);
    assert_eq!(error, None, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn an_xz_image_is_uploaded_once_resumed_and_imported_once() {
    let stack = TestStack::up(workspace(), &Options::default()).await;
    let raw = image(80 << 20, 7);
    let compressed = xz(&raw).await;
    let sum = sha(&compressed);
    stage(&stack, "drops/p1/disk.raw.xz", &compressed);

    // interrupted after 4 of 10 parts
    let mut first = work("drops/p1/disk.raw.xz", &sum);
    first["max_parts"] = json!(4);
    let out = invoke(&stack, "vmpush-upload", &first);
    assert_eq!(
        (out["status"].as_str(), &out["parts"]),
        (
            Some("continue"),
            &json!({"uploaded": 4, "copied": 0, "reused": 0})
        )
    );
    assert_eq!(out["continuation"]["parts_stored"], 4);
    assert_eq!(keys(&stack), Vec::<String>::new());

    // resumed by a new invocation: only the 6 missing parts are sent
    stack.clear_aws_requests().await;
    let out = invoke(&stack, "vmpush-upload", &work("drops/p1/disk.raw.xz", &sum));
    assert_eq!(
        (
            out["status"].as_str(),
            out["key"].as_str(),
            out["size"].as_u64()
        ),
        (Some("done"), Some(sum.as_str()), Some(80 << 20))
    );
    assert_eq!(
        out["parts"],
        json!({"uploaded": 6, "copied": 0, "reused": 4})
    );
    assert_eq!(
        stack
            .aws_counts(&[
                "CreateMultipartUpload",
                "UploadPart",
                "CompleteMultipartUpload"
            ])
            .await,
        [0, 6, 1]
    );
    assert_eq!(keys(&stack), [sum.as_str()]);
    let head = stack.aws(&["s3api", "head-object", "--bucket", BUCKET, "--key", &sum]);
    assert_eq!(head["ContentLength"], 80 << 20);
    assert_eq!(head["Metadata"], json!({"sha256": sum}));
    let tags = stack.aws(&[
        "s3api",
        "get-object-tagging",
        "--bucket",
        BUCKET,
        "--key",
        &sum,
    ]);
    assert_eq!(
        tags["TagSet"],
        json!([{"Key": "awspub:source:filename", "Value": "disk.raw.xz"},
               {"Key": "awspub:source:architecture", "Value": "x86_64"},
               {"Key": "awspub:source:sha256", "Value": sum}])
    );
    let downloaded = stack.scratch().join("downloaded.raw");
    stack.aws(&[
        "s3api",
        "get-object",
        "--bucket",
        BUCKET,
        "--key",
        &sum,
        downloaded.to_str().unwrap(),
    ]);
    assert_eq!(sha(&std::fs::read(&downloaded).unwrap()), sha(&raw));

    // import once
    let import = |action: &str, task: Option<&str>| {
        json!({"id": "im-e2e", "action": action, "account": "aws-us-storage", "region": "us-east-1", "bucket": BUCKET, "key": sum, "sha256": sum,
               "format": "raw", "billing_codes": ["bp-6fa54006"], "tags": [], "task_id": task})
    };
    let started = invoke(&stack, "vmpush-import-snapshot", &import("start", None));
    let task = started["task_id"].as_str().unwrap().to_string();
    let done = eventually(60, async || {
        let out = invoke(
            &stack,
            "vmpush-import-snapshot",
            &import("check", Some(&task)),
        );
        (out["status"] != "active").then_some(out)
    })
    .await;
    assert_eq!(done["status"], "completed", "{done}");
    let snapshot = done["snapshot_id"].as_str().unwrap().to_string();

    // every step again: nothing new
    stack.clear_aws_requests().await;
    let again = invoke(&stack, "vmpush-upload", &work("drops/p1/disk.raw.xz", &sum));
    assert_eq!(
        (again["status"].as_str(), again["skipped"].as_bool()),
        (Some("done"), Some(true))
    );
    let again = invoke(&stack, "vmpush-import-snapshot", &import("start", None));
    assert_eq!(
        (again["status"].as_str(), again["snapshot_id"].as_str()),
        (Some("completed"), Some(snapshot.as_str()))
    );
    assert_eq!(
        stack
            .aws_counts(&[
                "CreateBucket",
                "CreateMultipartUpload",
                "UploadPart",
                "PutObject",
                "ImportSnapshot"
            ])
            .await,
        [0, 0, 0, 0, 0]
    );
    assert_eq!(keys(&stack), [sum.as_str()]);
    let tasks = stack.aws(&["ec2", "describe-import-snapshot-tasks"]);
    assert_eq!(tasks["ImportSnapshotTasks"].as_array().unwrap().len(), 1);
    let snapshots = stack.aws(&["ec2", "describe-snapshots", "--owner-ids", "self"]);
    let ours: Vec<&Value> = snapshots["Snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Tags"].as_array().is_some_and(|t| !t.is_empty()))
        .collect();
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0]["SnapshotId"], snapshot.as_str());

    // a wrong staged sha256sum: a clear error, nothing completed, nothing left pending
    let small = xz(&image(12 << 20, 7)).await;
    stage(&stack, "drops/p2/disk.raw.xz", &small);
    let wrong = "ab".repeat(32);
    let (error, body) = stack.invoke("vmpush-upload", &work("drops/p2/disk.raw.xz", &wrong));
    assert!(error.is_some(), "{body}");
    assert_eq!(body["errorType"], "InvalidInput");
    assert_eq!(
        body["errorMessage"],
        format!(
            "s3://{STAGING_BUCKET}/drops/p2/disk.raw.xz: sha256sum: the staged metadata says {wrong}, the file's is {} (its decompressed content's {}); nothing was uploaded",
            sha(&small),
            sha(&image(12 << 20, 7))
        )
    );
    assert_eq!(keys(&stack), [sum.as_str()]);
    let pending = stack.aws(&["s3api", "list-multipart-uploads", "--bucket", BUCKET]);
    assert_eq!(pending["Uploads"].as_array().map_or(0, Vec::len), 0);

    // an uncompressed image is copied server-side, in a bucket created on the way
    let plain = image(12 << 20, 7);
    stage(&stack, "drops/p3/disk.raw", &plain);
    stack.clear_aws_requests().await;
    let mut copy = work("drops/p3/disk.raw", &sha(&plain));
    copy["region"] = json!("us-west-2");
    copy["bucket"] = json!("redhat-cloudimg-us-west-2");
    let out = invoke(&stack, "vmpush-upload", &copy);
    assert_eq!(
        (out["status"].as_str(), &out["parts"], out["size"].as_u64()),
        (
            Some("done"),
            &json!({"uploaded": 0, "copied": 2, "reused": 0}),
            Some(12 << 20)
        )
    );
    assert_eq!(
        stack
            .aws_counts(&["CreateBucket", "UploadPartCopy", "UploadPart"])
            .await,
        [1, 2, 0]
    );
    let location = stack.aws(&[
        "s3api",
        "get-bucket-location",
        "--bucket",
        "redhat-cloudimg-us-west-2",
    ]);
    assert_eq!(location["LocationConstraint"], "us-west-2");
    let head = stack.aws(&[
        "s3api",
        "head-object",
        "--bucket",
        "redhat-cloudimg-us-west-2",
        "--key",
        &sha(&plain),
    ]);
    assert_eq!(head["ContentLength"], 12 << 20);

    // a staged file replaced between two invocations of a copy is never stored under the
    // verified sum: the continuation's copies are refused (S3's copy-source-if-match)
    let first_version = image(12 << 20, 9);
    stage(&stack, "drops/p4/disk.raw", &first_version);
    let mut copy = work("drops/p4/disk.raw", &sha(&first_version));
    copy["max_parts"] = json!(1);
    let out = invoke(&stack, "vmpush-upload", &copy);
    assert_eq!(out["status"], "continue", "{out}");
    stage(&stack, "drops/p4/disk.raw", &image(12 << 20, 10));
    let mut resumed = work("drops/p4/disk.raw", &sha(&first_version));
    resumed["continuation"] = out["continuation"].clone();
    let (error, body) = stack.invoke("vmpush-upload", &resumed);
    assert!(error.is_some(), "{body}");
    assert_eq!(body["errorType"], "InvalidInput", "{body}");
    assert_eq!(
        body["errorMessage"],
        format!("s3://{STAGING_BUCKET}/drops/p4/disk.raw: the file changed while it was uploaded")
    );
    assert!(!keys(&stack).contains(&sha(&first_version)));
    let pending = stack.aws(&["s3api", "list-multipart-uploads", "--bucket", BUCKET]);
    assert_eq!(
        pending["Uploads"].as_array().map_or(0, Vec::len),
        0,
        "aborted"
    );
}
