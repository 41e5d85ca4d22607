//! resolve-mapping through its real binary on the local stack: the staged tree is read from
//! the staging bucket, the mapping from the StArMap fake, the products from the RHSM fake; the
//! peer kit's push becomes 1 upload, 2 imports and 8 destinations, stored in the results
//! bucket (the function returns the index); a product missing in RHSM fails the push before
//! anything is written; credentials come from the Secrets Manager secret, read at every
//! invocation.

use std::path::Path;

use serde_json::{Value, json};
use vmpush_domain::plan::worklist::WorkList;
use vmpush_local::testing::TestStack;
use vmpush_local::{CREDENTIALS_SECRET, Options, RESULTS_BUCKET, STAGING_BUCKET};

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn invoke(stack: &TestStack, payload: &Value) -> (bool, Value) {
    let (error, body) = stack.invoke("vmpush-resolve-mapping", payload);
    (error.is_none(), body)
}

/// The work list an index names, from the results bucket.
fn stored(stack: &TestStack, index: &Value) -> Value {
    let key = index["stored"]
        .as_str()
        .unwrap_or_else(|| panic!("{index}"));
    serde_json::from_slice(&stack.object(RESULTS_BUCKET, key)).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn resolve_mapping_emits_the_work_list_after_the_rhsm_precheck() {
    let stack = TestStack::up(workspace(), &Options::default()).await;
    let fixture = workspace()
        .join("tests/fixtures/peer-kit-1image/staged/starmap/CLOUD_IMAGES/rhel-ec2-9.0-10");
    for file in ["resources.yaml", "rhel-ec2-9.0-10.x86_64.raw.xz"] {
        let key = format!("drops/p1/starmap/CLOUD_IMAGES/rhel-ec2-9.0-10/{file}");
        stack.aws(&[
            "s3api",
            "put-object",
            "--bucket",
            STAGING_BUCKET,
            "--key",
            &key,
            "--body",
            fixture.join(file).to_str().unwrap(),
        ]);
    }
    let push = |starmap: Value| {
        json!({"push_id": "p1", "execution_name": "p1-00000000",
        "sources": [{"bucket": STAGING_BUCKET, "prefix": "drops/p1"}],
        "request": {"push_id": "p1", "sources": [format!("staged:s3://{STAGING_BUCKET}/drops/p1")], "workflow": "community",
                    "pre_push": false, "beta": false, "starmap": starmap, "container_prefix": null, "notify": null}})
    };

    // from here on, nothing may be written but the work list
    stack.clear_aws_requests().await;

    // online: the StArMap fake serves rhel-ec2
    let (ok, index) = invoke(
        &stack,
        &push(json!({"mode": "online", "url": stack.var("VMPUSH_STARMAP_URL"), "repo": null})),
    );
    assert!(ok, "{index}");
    // the index names the stored list and each upload's subtree, and carries no destination
    let run = "results/p1/runs/p1-00000000";
    assert_eq!(index["stored"], format!("{run}/work.json"));
    let list = stored(&stack, &index);
    let upload = &index["uploads"][0];
    assert_eq!(upload["id"], list["uploads"][0]["id"]);
    assert_eq!(
        upload["work"],
        format!("{run}/uploads/{}.json", upload["id"].as_str().unwrap())
    );
    let subtree: Value =
        serde_json::from_slice(&stack.object(RESULTS_BUCKET, upload["work"].as_str().unwrap()))
            .unwrap();
    assert_eq!(subtree, list["uploads"][0]);
    assert!(!index.to_string().contains("destinations"), "{index}");
    assert_eq!(
        (
            list["uploads"].as_array().unwrap().len(),
            list["uploads"][0]["imports"].as_array().unwrap().len(),
            list["uploads"][0]["imports"][0]["copies"]
                .as_array()
                .unwrap()
                .len(),
        ),
        (1, 2, 4)
    );
    assert_eq!(list["uploads"][0]["bucket"], "redhat-cloudimg-us-east-1");
    assert_eq!(
        list["uploads"][0]["source_key"],
        "drops/p1/starmap/CLOUD_IMAGES/rhel-ec2-9.0-10/rhel-ec2-9.0-10.x86_64.raw.xz"
    );
    assert_eq!(
        list["uploads"][0]["imports"][0]["copies"][0]["destinations"][0]["destination"]["ami_name"],
        "RHEL-9.0.0_HVM_GA-20250101-x86_64-10-Hourly2-GP3"
    );
    let starmap_log = stack
        .get_json(&format!(
            "{}/_fake/requests",
            stack.var("VMPUSH_STARMAP_URL")
        ))
        .await;
    assert_eq!(starmap_log[0]["query"], "name=rhel-ec2&version=9.0");

    // the deployment's server is the default; a URL it does not know is never fetched
    let (ok, list) = invoke(
        &stack,
        &push(json!({"mode": "online", "url": null, "repo": null})),
    );
    assert!(ok, "{list}");
    let (ok, error) = invoke(
        &stack,
        &push(
            json!({"mode": "online", "url": "http://127.0.0.1:9/latest/meta-data", "repo": null}),
        ),
    );
    assert!(!ok);
    assert_eq!(
        (error["errorType"].as_str(), error["errorMessage"].as_str()),
        (
            Some("InvalidInput"),
            Some(
                "starmap.url: 'http://127.0.0.1:9/latest/meta-data' is not a StArMap server of this deployment (its StarmapUrl or StarmapAllowedUrls)"
            )
        )
    );

    // a product RHSM does not know fails the push, and nothing was written
    let mut repo: Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(workspace().join("tests/fixtures/peer-kit-1image/mapping.yaml"))
            .unwrap(),
    )
    .unwrap();
    repo[0]["mappings"]["aws-us-storage"]["meta"]["release"]["product"] = json!("FEDORA");
    let (ok, error) = invoke(
        &stack,
        &push(json!({"mode": "offline", "url": null, "repo": repo})),
    );
    assert!(!ok);
    assert_eq!(error["errorType"], "InvalidInput");
    assert!(
        error["errorMessage"]
            .as_str()
            .unwrap()
            .contains("Product not in RHSM: FEDORA_HOURLY (provider AWS)"),
        "{error}"
    );
    let requests = stack.aws_requests().await;
    let writes: Vec<&Value> = requests
        .iter()
        .filter(|r| {
            r["action"].as_str().is_some_and(|a| {
                a.starts_with("Put") || a.starts_with("Create") || a == "UploadPart"
            })
        })
        .collect();
    // the successful invocations stored their work lists (2 documents each), nothing else
    let stored_work = format!("/{RESULTS_BUCKET}/{run}/");
    assert_eq!(writes.len(), 4, "{writes:?}");
    assert!(
        writes.iter().all(|w| w["action"] == "PutObject"
            && w["params"]["path"]
                .as_str()
                .is_some_and(|p| p.starts_with(&stored_work))),
        "resolve-mapping writes only its work list: {writes:?}"
    );
    let rhsm_log = stack
        .get_json(&format!("{}/_fake/requests", stack.var("VMPUSH_RHSM_URL")))
        .await;
    assert!(
        rhsm_log
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["method"] == "GET"),
        "RHSM was only read"
    );

    // credentials come from the secret: its snapshot accounts apply where the mapping has none
    let mut credentials: Value = serde_json::from_slice(
        &std::fs::read(workspace().join("tests/fixtures/peer-kit-1image/credentials.json"))
            .unwrap(),
    )
    .unwrap();
    credentials["auth"]["AWS_SNAPSHOT_ACCOUNTS"] = json!(["999999999999"]);
    let put = |value: &str| {
        stack.aws(&[
            "secretsmanager",
            "put-secret-value",
            "--secret-id",
            CREDENTIALS_SECRET,
            "--secret-string",
            value,
        ]);
    };
    put(&json!([credentials]).to_string());
    repo[0]["mappings"]["aws-us-storage"]["meta"]["release"]["product"] = json!("RHEL");
    repo[0]["mappings"]["aws-us-storage"]["meta"]
        .as_object_mut()
        .unwrap()
        .remove("snapshot_accounts");
    let (ok, list) = invoke(
        &stack,
        &push(json!({"mode": "offline", "url": null, "repo": repo})),
    );
    assert!(ok, "{list}");
    let work: WorkList = serde_json::from_value(stored(&stack, &list)).unwrap();
    let snapshot_accounts: Vec<&Vec<String>> = work
        .leaves()
        .map(|leaf| &leaf.work.destination.snapshot_accounts)
        .collect();
    assert_eq!(
        snapshot_accounts,
        vec![&vec!["999999999999".to_string()]; 8]
    );

    // a malformed secret fails the push naming the secret, never quoting it
    put(r#"{"auth": {"AWS_IMAGE_SECRET_ACCESS": "s3cr3t"}}"#);
    let (ok, error) = invoke(
        &stack,
        &push(json!({"mode": "offline", "url": null, "repo": repo})),
    );
    assert!(!ok);
    assert_eq!(error["errorType"], "InvalidInput");
    assert_eq!(
        error["errorMessage"],
        format!(
            "secret {CREDENTIALS_SECRET}: marketplace_account: Missing mandatory key \"marketplace_account\" in credentials."
        )
    );
}
