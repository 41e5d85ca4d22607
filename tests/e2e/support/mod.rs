//! What several end-to-end tests share: the workspace root, invoking a function that must
//! succeed, and a snapshot imported through the real import-snapshot binary.

use std::path::Path;

use serde_json::{Value, json};
use vmpush_local::testing::{TestStack, eventually};

/// The workspace root.
pub fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// Invokes `function`, which must succeed; returns its answer.
pub fn invoke(stack: &TestStack, function: &str, payload: &Value) -> Value {
    let (error, body) = stack.invoke(function, payload);
    assert_eq!(error, None, "{body}");
    body
}

/// Stages 3 MiB at `bucket`/`sha` and imports it with `vmpush-import-snapshot` (which must be
/// registered) in us-east-1; returns the snapshot id and name.
pub async fn imported_snapshot(stack: &TestStack, bucket: &str, sha: &str) -> (String, String) {
    let image = stack.scratch().join("disk.raw");
    std::fs::write(&image, vec![7u8; 3 << 20]).unwrap();
    stack.aws(&["s3api", "create-bucket", "--bucket", bucket]);
    stack.aws(&[
        "s3api",
        "put-object",
        "--bucket",
        bucket,
        "--key",
        sha,
        "--body",
        image.to_str().unwrap(),
    ]);
    let import = |action: &str, task: Option<&str>| {
        json!({"id": "im-e2e", "action": action, "account": "aws-us-storage", "region": "us-east-1", "bucket": bucket, "key": sha, "sha256": sha,
               "format": "raw", "billing_codes": [], "tags": [], "task_id": task})
    };
    let task = invoke(stack, "vmpush-import-snapshot", &import("start", None))["task_id"]
        .as_str()
        .unwrap()
        .to_string();
    let imported = eventually(60, async || {
        let out = invoke(
            stack,
            "vmpush-import-snapshot",
            &import("check", Some(&task)),
        );
        (out["status"] != "active").then_some(out)
    })
    .await;
    assert_eq!(imported["status"], "completed", "{imported}");
    (
        imported["snapshot_id"].as_str().unwrap().to_string(),
        imported["snapshot_name"].as_str().unwrap().to_string(),
    )
}
