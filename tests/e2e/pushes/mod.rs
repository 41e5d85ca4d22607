//! What the whole-push tests (`pipeline`, `chaos`) share: staged builds, running `vmpush`,
//! following executions, reading results and notices, the stack's credentials, and every
//! text a push leaves with the secrets that must never be in it.

use std::collections::BTreeMap;

use serde_json::Value;
use vmpush_local::testing::{TestStack, eventually};
use vmpush_local::{CREDENTIALS_SECRET, RESULTS_BUCKET};

use super::staged::{image, sha, workspace, xz};

/// The peer kit's staged build folder and its image file.
pub const DIR: &str = "starmap/CLOUD_IMAGES/rhel-ec2-9.0-10";

/// The peer kit's mapping (offline StArMap).
pub fn mapping_document() -> Value {
    serde_yaml_ng::from_str(
        &std::fs::read_to_string(workspace().join("tests/fixtures/peer-kit-1image/mapping.yaml"))
            .unwrap(),
    )
    .unwrap()
}

/// The finished execution of a push.
pub async fn finished(stack: &TestStack, push_id: &str) -> Value {
    let machine = stack.var("VMPUSH_STATE_MACHINE_ARN").to_string();
    eventually(600, async || {
        let listed = stack.aws(&[
            "stepfunctions",
            "list-executions",
            "--state-machine-arn",
            &machine,
        ]);
        let arn = listed["executions"].as_array()?.iter().find(|e| {
            e["name"]
                .as_str()
                .is_some_and(|n| n.starts_with(&format!("{push_id}-")))
        })?["executionArn"]
            .as_str()?
            .to_string();
        let described = stack.aws(&[
            "stepfunctions",
            "describe-execution",
            "--execution-arn",
            &arn,
        ]);
        (described["status"] != "RUNNING").then_some(described)
    })
    .await
}

/// The result document of a push in the results bucket.
pub fn stored_result(stack: &TestStack, push_id: &str) -> Value {
    serde_json::from_slice(&stack.object(RESULTS_BUCKET, &format!("results/{push_id}/result.json")))
        .unwrap()
}

/// (AMI name, region) → (state, AMI) of a result document.
pub fn states(result: &Value) -> BTreeMap<(String, String), (String, Option<String>)> {
    result["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                (
                    d["name"].as_str().unwrap().to_string(),
                    d["region"].as_str().unwrap().to_string(),
                ),
                (
                    d["state"].as_str().unwrap().to_string(),
                    d["ami"].as_str().map(str::to_string),
                ),
            )
        })
        .collect()
}

/// The notices the SQS subscriber received since the last call.
pub fn notices(stack: &TestStack) -> Vec<(String, Value, Value)> {
    stack
        .notifications()
        .iter()
        .map(|envelope| {
            (
                envelope["Subject"].as_str().unwrap().to_string(),
                serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap(),
                envelope["MessageAttributes"].clone(),
            )
        })
        .collect()
}

/// The stack's credentials documents (`VMPUSH_LOCAL_CREDENTIALS`).
pub fn local_credentials(stack: &TestStack) -> Vec<Value> {
    serde_json::from_slice(&std::fs::read(stack.var("VMPUSH_LOCAL_CREDENTIALS")).unwrap()).unwrap()
}

/// The keys of `alias` in `documents`.
pub fn keys_of<'a>(documents: &'a [Value], alias: &str) -> (&'a str, &'a str) {
    let auth = &documents
        .iter()
        .find(|d| d["marketplace_account"] == alias)
        .unwrap_or_else(|| panic!("credentials of {alias}"))["auth"];
    (
        auth["AWS_IMAGE_ACCESS_KEY"].as_str().unwrap(),
        auth["AWS_IMAGE_SECRET_ACCESS"].as_str().unwrap(),
    )
}

/// Makes the deployment's secret hold `documents`.
pub fn store_secret(stack: &TestStack, documents: &[Value]) {
    stack.aws(&[
        "secretsmanager",
        "put-secret-value",
        "--secret-id",
        CREDENTIALS_SECRET,
        "--secret-string",
        &serde_json::to_string(documents).unwrap(),
    ]);
}

/// Every text a push leaves: the stack's logs, its executions' histories and outputs, the
/// results bucket and the notices. Azurite's log is not among them: it is the storage
/// service's own request log, which holds the SAS of every request it serves, as Azure's
/// storage logs would.
pub fn everything_written(stack: &TestStack) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(stack.layout.logs()).unwrap().flatten() {
        if entry.file_name() == "azurite.log" {
            continue;
        }
        text.push_str(&String::from_utf8_lossy(
            &std::fs::read(entry.path()).unwrap(),
        ));
    }
    // the push machine's executions and the upload flows' (the push machine's name, -upload)
    let push = stack.var("VMPUSH_STATE_MACHINE_ARN").to_string();
    for machine in [push.clone(), format!("{push}-upload")] {
        let listed = stack.aws(&[
            "stepfunctions",
            "list-executions",
            "--state-machine-arn",
            &machine,
        ]);
        for execution in listed["executions"].as_array().unwrap() {
            let arn = execution["executionArn"].as_str().unwrap();
            for call in ["get-execution-history", "describe-execution"] {
                let flag = "--execution-arn";
                text.push_str(&stack.aws(&["stepfunctions", call, flag, arn]).to_string());
            }
        }
    }
    let objects = stack.aws(&["s3api", "list-objects-v2", "--bucket", RESULTS_BUCKET]);
    for object in objects["Contents"].as_array().into_iter().flatten() {
        let key = object["Key"].as_str().unwrap();
        text.push_str(&String::from_utf8_lossy(&stack.object(RESULTS_BUCKET, key)));
    }
    for notice in stack.notifications() {
        text.push_str(&notice.to_string());
    }
    text
}

/// Stages a build of the peer kit's image for `version`-`respin` under `dir`: a real 4 MiB
/// image, xz-compressed, with the `sha256sum` of its decompressed content.
pub async fn staged_build(dir: &std::path::Path, version: &str, respin: &str, seed: u64) {
    let build = format!("rhel-ec2-{version}-{respin}");
    let folder = dir.join(format!("starmap/CLOUD_IMAGES/{build}"));
    std::fs::create_dir_all(&folder).unwrap();
    let raw = image(4 << 20, seed);
    std::fs::write(
        folder.join(format!("{build}.x86_64.raw.xz")),
        xz(&raw).await,
    )
    .unwrap();
    let resources = std::fs::read_to_string(workspace().join(format!(
        "tests/fixtures/peer-kit-1image/staged/{DIR}/resources.yaml"
    )))
    .unwrap()
    .replace(
        "305e5ece35fde47c2f8470f651141cb3b4052bf9183524f47c9a60260efa8d5b",
        &sha(&raw),
    )
    .replace("rhel-ec2-9.0-10", &build)
    .replace("version: \"9.0\"", &format!("version: \"{version}\""))
    .replace("respin: \"10\"", &format!("respin: \"{respin}\""));
    std::fs::write(folder.join("resources.yaml"), resources).unwrap();
}

/// Runs the `vmpush` binary the stack built against the stack; returns its exit code and
/// its standard output (JSON) and error (the progress and the table).
pub fn vmpush(stack: &TestStack, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(stack.layout.binary("vmpush"))
        .args(args)
        .current_dir(workspace())
        .env("VMPUSH_LOCAL_STACK", &stack.layout.dir)
        .output()
        .expect("vmpush runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every secret value a push on `stack` uses with `documents`: the accounts' secret keys and
/// each line of RHSM's client key (when the stack speaks mutual TLS to RHSM).
pub fn secrets(stack: &TestStack, documents: &[Value]) -> Vec<String> {
    let mut secrets: Vec<String> = documents
        .iter()
        .flat_map(|d| {
            ["AWS_IMAGE_SECRET_ACCESS", "AWS_MARKETPLACE_SECRET_ACCESS"]
                .map(|key| d["auth"][key].as_str())
        })
        .flatten()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if let Some(key) = stack.state.var("RHSM_KEY") {
        let pem = std::fs::read_to_string(key).unwrap();
        secrets.extend(
            pem.lines()
                .filter(|l| !l.starts_with("-----") && !l.is_empty())
                .map(str::to_string),
        );
    }
    secrets
}
