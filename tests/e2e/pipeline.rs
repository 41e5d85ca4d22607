//! The whole push through the real state machine (`statemachine/push.asl.json`, executed by
//! moto) and the real function binaries: a drop of 1 image for 4 regions × 2 billing types
//! becomes 8 AMIs with exact names, billing products, tags and permissions, RHSM gets the exact
//! §5.2 bodies, the SQS subscriber gets the structured notice, and the result document in the
//! results bucket is the execution's. A region refusing one step fails only its destination;
//! a re-run (same drop, new push id) finishes only that destination, and another creates
//! nothing at all and sends RHSM only PUTs. `vmpush push --local` pushes two images (16 AMIs)
//! and a pre-push (nothing public, no RHSM), a malformed drop ends FAILED with its typed
//! error in the result and the notice, having uploaded nothing, and `vmpush push --api` starts
//! and follows a push through the push API (SigV4-signed, API Gateway's proxy events on the
//! local stack), storing `--credentials` in the deployment's secret. RHSM refusing every
//! write leaves every image private and NOTPUSHED; a re-run releases the hourly ones.

mod pushes;
mod staged;

use std::collections::BTreeMap;

use pushes::{
    DIR, everything_written, finished, keys_of, local_credentials, mapping_document, notices,
    secrets, staged_build, states, store_secret, stored_result, vmpush,
};
use serde_json::{Value, json};
use staged::{image, sha, stage, workspace, xz};
use vmpush_local::testing::TestStack;
use vmpush_local::{CREDENTIALS_SECRET, Options, RESULTS_BUCKET, STAGING_BUCKET};

const HOURLY: &str = "RHEL-9.0.0_HVM_GA-20250101-x86_64-10-Hourly2-GP3";
const ACCESS: &str = "RHEL-9.0.0_HVM_GA-20250101-x86_64-10-Access2-GP3";
const REGIONS: [&str; 4] = ["us-east-1", "us-east-2", "us-west-1", "us-west-2"];
const FILE: &str = "rhel-ec2-9.0-10.x86_64.raw.xz";

/// Stages the peer kit's image (a real 6 MiB one, xz-compressed) under `drops/<push_id>/`,
/// `push.yaml` last; returns its `sha256sum`, of the decompressed content as the peer kit
/// writes it.
async fn drop_push(stack: &TestStack, push_id: &str) -> String {
    drop_push_of(stack, push_id, &mapping_document()).await
}

/// [`drop_push`] with another mapping.
async fn drop_push_of(stack: &TestStack, push_id: &str, mapping: &Value) -> String {
    let raw = image(6 << 20, 11);
    let compressed = xz(&raw).await;
    let sum = sha(&raw);
    let resources = std::fs::read_to_string(workspace().join(format!(
        "tests/fixtures/peer-kit-1image/staged/{DIR}/resources.yaml"
    )))
    .unwrap()
    .replace(
        "305e5ece35fde47c2f8470f651141cb3b4052bf9183524f47c9a60260efa8d5b",
        &sum,
    );
    let prefix = format!("drops/{push_id}/{DIR}");
    stage(stack, &format!("{prefix}/{FILE}"), &compressed);
    stage(
        stack,
        &format!("{prefix}/resources.yaml"),
        resources.as_bytes(),
    );
    let request = json!({"workflow": "community", "starmap": {"mode": "offline", "repo": mapping}});
    stage(
        stack,
        &format!("drops/{push_id}/push.yaml"),
        serde_yaml_ng::to_string(&request).unwrap().as_bytes(),
    );
    sum
}

/// Starts a push of the drop `drops/<drop>/` under a new push id through start-push's API
/// entry.
fn repush(stack: &TestStack, drop: &str, push_id: &str) {
    repush_of(stack, drop, push_id, &mapping_document());
}

/// [`repush`] with another mapping.
fn repush_of(stack: &TestStack, drop: &str, push_id: &str, mapping: &Value) {
    let request = json!({"push_id": push_id, "workflow": "community",
        "sources": [format!("staged:s3://{STAGING_BUCKET}/drops/{drop}")],
        "starmap": {"mode": "offline", "repo": mapping}});
    let (error, out) = stack.invoke("vmpush-start-push", &request);
    assert_eq!(error, None, "{out}");
}

/// The AMIs moto holds: (name, region) → image.
fn images(stack: &TestStack) -> BTreeMap<(String, String), Value> {
    let mut all = BTreeMap::new();
    for region in REGIONS {
        let listed = stack.aws(&[
            "ec2",
            "describe-images",
            "--owners",
            "self",
            "--region",
            region,
        ]);
        for image in listed["Images"].as_array().unwrap() {
            let name = image["Name"].as_str().unwrap().to_string();
            assert!(
                all.insert((name.clone(), region.to_string()), image.clone())
                    .is_none(),
                "two AMIs named {name} in {region}"
            );
        }
    }
    all
}

fn tag<'a>(resource: &'a Value, key: &str) -> Option<&'a str> {
    resource["Tags"]
        .as_array()?
        .iter()
        .find(|t| t["Key"] == key)?["Value"]
        .as_str()
}

/// RHSM writes as (method, path, status).
fn calls(writes: &[Value]) -> Vec<(String, String, u64)> {
    writes
        .iter()
        .map(|r| {
            (
                r["method"].as_str().unwrap().to_string(),
                r["path"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string(),
                r["status"].as_u64().unwrap(),
            )
        })
        .collect()
}

const CREATES: [&str; 8] = [
    "CreateBucket",
    "CreateMultipartUpload",
    "UploadPart",
    "UploadPartCopy",
    "ImportSnapshot",
    "CopySnapshot",
    "RegisterImage",
    "ModifyImageAttribute",
];

#[tokio::test(flavor = "multi_thread")]
async fn a_drop_becomes_eight_amis_best_effort_and_re_runs_create_nothing() {
    let stack = TestStack::up(workspace(), &Options::default()).await;
    // us-west-1 refuses to say whether public sharing is blocked: only its hourly (public)
    // destination needs to know
    stack
        .aws_faults(&json!({"rate": 1.0, "kinds": ["denied"], "services": ["ec2"],
                            "regions": ["us-west-1"], "actions": ["GetImageBlockPublicAccessState"]}))
        .await;

    // WHEN the drop is written, push.yaml last
    let sum = drop_push(&stack, "p1").await;
    let execution = finished(&stack, "p1").await;

    // THEN the push fails after notifying, with 7 destinations PUSHED and 1 NOTPUSHED
    assert_eq!(
        (&execution["status"], &execution["error"]),
        (&json!("FAILED"), &json!("vmpush.PushFailed")),
        "{execution}"
    );
    assert_eq!(
        execution["cause"],
        format!("push p1 ended FAILED: see s3://{RESULTS_BUCKET}/results/p1/result.json")
    );
    let result = stored_result(&stack, "p1");
    assert_eq!(
        (&result["push_id"], &result["state"]),
        (&json!("p1"), &json!("FAILED"))
    );
    let first = states(&result);
    assert_eq!(first.len(), 8, "{result}");
    let amis = images(&stack);
    for region in REGIONS {
        for name in [HOURLY, ACCESS] {
            let key = (name.to_string(), region.to_string());
            let (state, ami) = &first[&key];
            if (name, region) == (HOURLY, "us-west-1") {
                assert_eq!((state.as_str(), ami), ("NOTPUSHED", &None));
                assert!(!amis.contains_key(&key), "nothing registered");
                continue;
            }
            assert_eq!(state, "PUSHED", "{name} in {region}: {result}");
            let image = &amis[&key];
            assert_eq!(ami.as_deref(), image["ImageId"].as_str());
            let billing = if name == HOURLY { "hourly" } else { "access" };
            assert_eq!(tag(image, "billing_type"), Some(billing));
            assert_eq!(tag(image, "awspub:source:sha256"), Some(sum.as_str()));
            assert_eq!(tag(image, "awspub:source:filename"), Some(FILE));
        }
    }
    // every snapshot carries its AMI's tags: the imports' tagged on completion and by publish
    // in the home region, the copies at creation (publish tags no new copy again)
    for region in REGIONS {
        let found = stack.aws(&[
            "ec2",
            "describe-snapshots",
            "--owner-ids",
            "self",
            "--region",
            region,
        ]);
        let mut billing: Vec<&str> = found["Snapshots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                assert_eq!(tag(s, "awspub:source:sha256"), Some(sum.as_str()), "{s}");
                tag(s, "billing_type").unwrap_or_else(|| panic!("{region}: {s}"))
            })
            .collect();
        billing.sort_unstable();
        assert_eq!(billing, ["access", "hourly"], "{region}");
    }
    assert_eq!(
        stack.aws_counts(&["CreateTags"]).await,
        [2 + 2],
        "the two imports' snapshots on completion and by their home region's publish"
    );
    let failed = result["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["state"] == "NOTPUSHED")
        .unwrap();
    let reason = failed["error"].as_str().unwrap();
    assert!(
        reason.contains("GetImageBlockPublicAccessState")
            || reason.contains("UnauthorizedOperation"),
        "{reason}"
    );
    // the failed step's cause in the history (the upload's execution's) is Lambda's error
    // document, whose message is the plain reason (no JSON inside it)
    let history = execution_events(&stack, execution["executionArn"].as_str().unwrap());
    let causes: Vec<Value> = history
        .iter()
        .filter(|e| e["type"] == "LambdaFunctionFailed")
        .map(|e| {
            serde_json::from_str(
                e["lambdaFunctionFailedEventDetails"]["cause"]
                    .as_str()
                    .unwrap(),
            )
            .unwrap()
        })
        .collect();
    assert!(!causes.is_empty(), "{history:?}");
    for cause in &causes {
        let message = cause["errorMessage"].as_str().unwrap();
        assert!(
            serde_json::from_str::<Value>(message).is_err(),
            "plain text: {message}"
        );
        assert!(
            reason.contains(message) || message.contains("UnauthorizedOperation"),
            "{message}"
        );
    }
    let billing = stack
        .get_json(&format!(
            "{}/_local/billing-products",
            stack.var("AWS_ENDPOINT_URL")
        ))
        .await;
    for ((name, region), (_, ami)) in &first {
        let Some(ami) = ami else { continue };
        let codes = if name == HOURLY {
            "bp-6fa54006"
        } else {
            "bp-63a5400a"
        };
        assert_eq!(billing[region][ami], json!([codes]), "{name} in {region}");
        let launch = stack.aws(&[
            "ec2",
            "describe-image-attribute",
            "--region",
            region,
            "--image-id",
            ami,
            "--attribute",
            "launchPermission",
        ]);
        let mut shared: Vec<&str> = launch["LaunchPermissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["UserId"].as_str().or(p["Group"].as_str()).unwrap())
            .collect();
        shared.sort();
        let expected: &[&str] = if name == HOURLY {
            &["111122223333", "444455556666", "all"]
        } else {
            &["111122223333", "444455556666"]
        };
        assert_eq!(shared, expected, "{name} in {region}");
    }

    for d in result["destinations"].as_array().unwrap() {
        let Some(snapshot) = d["snapshot"].as_str() else {
            continue;
        };
        let permissions = stack.aws(&[
            "ec2",
            "describe-snapshot-attribute",
            "--region",
            d["region"].as_str().unwrap(),
            "--snapshot-id",
            snapshot,
            "--attribute",
            "createVolumePermission",
        ]);
        assert_eq!(
            permissions["CreateVolumePermissions"],
            json!([{"UserId": "777788889999"}]),
            "{d}"
        );
    }

    // the subscriber got the structured notice with the region → AMI map and the failure
    let received = notices(&stack);
    assert_eq!(received.len(), 1, "{received:?}");
    let (subject, notice, attributes) = &received[0];
    assert_eq!(subject, "vmpush: push p1 FAILED");
    assert_eq!(attributes["state"]["Value"], "FAILED");
    let hourly = notice["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == HOURLY)
        .unwrap();
    assert_eq!(hourly["sha256"], sum);
    for region in REGIONS {
        let expected = first[&(HOURLY.to_string(), region.to_string())].1.clone();
        assert_eq!(
            hourly["regions"][region]["ami"],
            json!(expected),
            "{region}"
        );
    }
    assert_eq!(hourly["regions"]["us-west-1"]["state"], "NOTPUSHED");
    assert_eq!(notice["failures"][0]["region"], "us-west-1");
    assert_eq!(notice["failures"][0]["reason"], reason);

    // RHSM: per new AMI, PUT (unknown) → POST region → POST AMI, with the §5.2 bodies
    let writes = stack.rhsm_writes().await;
    assert_eq!(writes.len(), 7 * 3, "{writes:?}");
    for ((name, region), (_, ami)) in &first {
        let Some(ami) = ami else { continue };
        let mine: Vec<Value> = writes
            .iter()
            .filter(|w| w["body"]["amiID"] == ami.as_str())
            .cloned()
            .collect();
        assert_eq!(
            calls(&mine),
            [
                ("PUT".to_string(), "amis".to_string(), 404),
                ("POST".to_string(), "amis".to_string(), 200)
            ],
            "{name} in {region}"
        );
        let mut body = mine[1]["body"].clone();
        let description = body["description"].as_str().unwrap().to_string();
        assert!(
            description.starts_with(&format!("Released {name} on ")),
            "{description}"
        );
        body["description"] = json!("-");
        let (product, variant) = if name == HOURLY {
            ("RHEL_HOURLY", "BaseOS")
        } else {
            ("RHEL", "BaseOS")
        };
        assert_eq!(
            body,
            json!({"amiID": ami, "arch": "x86_64", "product": product, "version": "9.0",
                   "variant": variant, "description": "-", "status": "VISIBLE", "region": region})
        );
    }
    let regions_posted: Vec<&Value> = writes
        .iter()
        .filter(|w| w["path"].as_str().unwrap().ends_with("/regions"))
        .map(|w| &w["body"])
        .collect();
    assert_eq!(regions_posted.len(), 7);
    assert!(
        regions_posted
            .iter()
            .all(|b| b["providerShortname"] == "AWS"
                && REGIONS.contains(&b["regionID"].as_str().unwrap()))
    );

    // WHEN the same drop is pushed again, the region allowed
    stack.aws_faults(&json!({"rate": 0})).await;
    stack.clear_aws_requests().await;
    stack.clear_rhsm_requests().await;
    repush(&stack, "p1", "p1-again");
    let execution = finished(&stack, "p1-again").await;

    // THEN only the failed destination is done: one AMI registered, nothing uploaded,
    // imported or copied, the other AMIs the same
    assert_eq!(execution["status"], "SUCCEEDED", "{execution}");
    // the execution's output is the verdict, whatever the push's size; the result is stored
    let verdict: Value = serde_json::from_str(execution["output"].as_str().unwrap()).unwrap();
    assert_eq!(
        verdict,
        json!({"push_id": "p1-again", "workflow": "community", "state": "PUSHED", "error": null,
               "location": format!("s3://{RESULTS_BUCKET}/results/p1-again/")})
    );
    let output = stored_result(&stack, "p1-again");
    let second = states(&output);
    assert!(second.values().all(|(s, _)| s == "PUSHED"), "{output}");
    for (key, (_, ami)) in &first {
        if ami.is_some() {
            assert_eq!(&second[key].1, ami);
        }
    }
    assert_eq!(
        stack.aws_counts(&CREATES).await,
        [0, 0, 0, 0, 0, 0, 1, 2],
        "only us-west-1's hourly AMI: registered and shared, then made public after RHSM"
    );
    assert_eq!(images(&stack).len(), 8);
    let writes = calls(&stack.rhsm_writes().await);
    assert_eq!(writes.iter().filter(|c| c.0 == "PUT").count(), 8);
    assert_eq!(writes.len(), 8 + 2, "{writes:?}");
    let (_, notice, _) = &notices(&stack)[0];
    assert_eq!(notice["state"], "PUSHED");

    // WHEN pushed once more
    stack.clear_aws_requests().await;
    stack.clear_rhsm_requests().await;
    repush(&stack, "p1", "p1-third");
    let execution = finished(&stack, "p1-third").await;

    // THEN nothing is created and RHSM gets PUTs only
    assert_eq!(execution["status"], "SUCCEEDED", "{execution}");
    assert_eq!(states(&stored_result(&stack, "p1-third")), second);
    assert_eq!(stack.aws_counts(&CREATES).await, [0; 8]);
    // and what exists is looked up by resolve-mapping's survey alone: per region one
    // DescribeImages for all its AMI names, one per sharing account (2) for who may launch
    // them, one DescribeSnapshots for all its snapshot names and one for who may restore them
    // (the one snapshot account); no attribute read destination by destination, no import or
    // copy looking its snapshot up, no upload reading the bucket, no block state (the images
    // to be public are) and no write
    assert_eq!(
        stack
            .aws_counts(&[
                "DescribeImages",
                "DescribeImageAttribute",
                "DescribeSnapshotAttribute",
                "DescribeSnapshots",
                "DescribeImportSnapshotTasks",
                "HeadBucket",
                "HeadObject",
                "GetImageBlockPublicAccessState",
                "CreateTags",
                "ModifyImageAttribute",
                "ModifySnapshotAttribute"
            ])
            .await,
        [4 + 4 * 2, 0, 0, 4 + 4, 0, 0, 0, 0, 0, 0, 0]
    );
    assert_eq!(
        calls(&stack.rhsm_writes().await),
        vec![("PUT".to_string(), "amis".to_string(), 200); 8]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_rhsm_update_leaves_images_private_and_a_re_run_releases_them() {
    let stack = TestStack::up(workspace(), &Options::default()).await;
    // GIVEN RHSM refuses every write (reads, the pre-check among them, still work)
    stack
        .rhsm_faults(&json!({"rate": 1.0, "kinds": ["denied"], "methods": ["PUT", "POST"]}))
        .await;

    // WHEN the drop is pushed
    drop_push(&stack, "r1").await;
    let execution = finished(&stack, "r1").await;

    // THEN every destination is NOTPUSHED with RHSM's refusal, registered and shared but no
    // image public: the release comes only after RHSM knows the image (reference §3.5.6)
    assert_eq!(execution["status"], "FAILED", "{execution}");
    let result = stored_result(&stack, "r1");
    let destinations = result["destinations"].as_array().unwrap();
    assert_eq!(destinations.len(), 8);
    for d in destinations {
        assert_eq!(d["state"], "NOTPUSHED", "{d}");
        assert_eq!(d["public"], false, "{d}");
        let error = d["error"].as_str().unwrap_or_default();
        assert!(error.contains("403"), "{d}");
        let region = d["region"].as_str().unwrap();
        let ami = d["ami"].as_str().expect("registered before RHSM");
        assert!(
            !launch_permissions(&stack, region, ami).contains(&"all".to_string()),
            "{} in {region} is public although RHSM does not know it",
            d["name"]
        );
    }
    let first = states(&result);

    // WHEN RHSM is back and the drop is pushed again
    stack.rhsm_faults(&json!({"rate": 0})).await;
    stack.clear_aws_requests().await;
    repush(&stack, "r1", "r1-again");
    let execution = finished(&stack, "r1-again").await;

    // THEN the same AMIs are PUSHED, the hourly ones public now, nothing registered again
    assert_eq!(execution["status"], "SUCCEEDED", "{execution}");
    let result = stored_result(&stack, "r1-again");
    let second = states(&result);
    assert_eq!(
        first.values().map(|(_, ami)| ami).collect::<Vec<_>>(),
        second.values().map(|(_, ami)| ami).collect::<Vec<_>>()
    );
    assert!(
        second.values().all(|(state, _)| state == "PUSHED"),
        "{result}"
    );
    for ((name, region), (_, ami)) in &second {
        let public = launch_permissions(&stack, region, ami.as_deref().unwrap())
            .contains(&"all".to_string());
        assert_eq!(public, name == HOURLY, "{name} in {region}");
    }
    assert_eq!(
        stack
            .aws_counts(&["RegisterImage", "ModifyImageAttribute"])
            .await,
        [0, 4],
        "each hourly image is released once; nothing else changes"
    );
}

/// The history events of an execution and of the upload flows it started (each named by its
/// `TaskSubmitted` event's `ExecutionArn`), in that order.
pub fn execution_events(stack: &TestStack, arn: &str) -> Vec<Value> {
    let history = |arn: &str| {
        let events = stack.aws(&[
            "stepfunctions",
            "get-execution-history",
            "--execution-arn",
            arn,
        ]);
        events["events"].as_array().cloned().unwrap_or_default()
    };
    let mut events = history(arn);
    let children: Vec<String> = events
        .iter()
        .filter(|e| e["type"] == "TaskSubmitted")
        .filter_map(|e| {
            let output = e["taskSubmittedEventDetails"]["output"].as_str()?;
            let output: Value = serde_json::from_str(output).ok()?;
            output["ExecutionArn"].as_str().map(str::to_string)
        })
        .collect();
    for child in children {
        events.extend(history(&child));
    }
    events
}

/// The local stack's accounts: alias, account id, region, RHSM provider, partition.
const ACCOUNTS: [(&str, &str, &str, &str, &str); 3] = [
    ("aws-us-storage", "111111111111", "us-east-1", "AWS", "aws"),
    (
        "aws-us-gov-storage",
        "222222222222",
        "us-gov-west-1",
        "AGOV",
        "aws-us-gov",
    ),
    (
        "aws-china-storage",
        "333333333333",
        "cn-north-1",
        "ACN",
        "aws-cn",
    ),
];

/// The peer kit's mapping for the three accounts, hourly and access in each home region,
/// shared with an account everywhere and one per partition.
fn three_account_mapping() -> Value {
    let mut mapping = mapping_document();
    let template = mapping[0]["mappings"]["aws-us-storage"].clone();
    let mut accounts = serde_json::Map::new();
    for (alias, _, region, provider, _) in ACCOUNTS {
        let mut account = template.clone();
        account["provider"] = json!(provider);
        account["meta"]["sharing_accounts"] = json!([
            "111122223333",
            "aws-us-gov:444455556666",
            "aws-cn:555566667777"
        ]);
        account["meta"]["snapshot_accounts"] = json!([]);
        let destination = |billing: &str| {
            let mut d = template["destinations"][0].clone();
            d["destination"] = json!(format!("{region}-{billing}"));
            d
        };
        account["destinations"] = json!([destination("hourly"), destination("access")]);
        accounts.insert(alias.to_string(), account);
    }
    mapping[0]["mappings"] = Value::Object(accounts);
    mapping
}

#[tokio::test(flavor = "multi_thread")]
async fn every_account_acts_as_itself_in_its_partition() {
    // RHSM over mutual TLS: the functions present the certificate of the stack's secret
    let options = Options {
        rhsm_tls: true,
        ..Options::default()
    };
    let stack = TestStack::up(workspace(), &options).await;
    assert_eq!(
        stack.var("VMPUSH_RHSM_CERT_SECRET"),
        "vmpush-rhsm-certificate"
    );
    let mapping = three_account_mapping();
    let documents = local_credentials(&stack);
    // the stack's credentials file names each account's own IAM user, in its partition
    for (alias, account, region, _, partition) in ACCOUNTS {
        let keys = keys_of(&documents, alias);
        let caller = stack.aws_as(
            Some(keys),
            &["sts", "get-caller-identity", "--region", region],
        );
        assert_eq!(
            (&caller["Account"], &caller["Arn"]),
            (
                &json!(account),
                &json!(format!(
                    "arn:{partition}:iam::{account}:user/vmpush-{alias}"
                ))
            )
        );
    }

    // WHEN one image is pushed to us-east-1, us-gov-west-1 and cn-north-1 with those keys
    store_secret(&stack, &documents);
    drop_push_of(&stack, "a1", &mapping).await;
    let execution = finished(&stack, "a1").await;

    // THEN all six destinations are PUSHED
    assert_eq!(execution["status"], "SUCCEEDED", "{execution}");
    let result = stored_result(&stack, "a1");
    let pushed = states(&result);
    assert_eq!(pushed.len(), 6, "{result}");
    assert!(pushed.values().all(|(s, _)| s == "PUSHED"), "{result}");
    // AND each AMI and snapshot is its account's, in its region, nobody else's; sharing
    // follows the partition; RHSM heard of each with its partition's provider
    for (alias, account, region, _, partition) in ACCOUNTS {
        let keys = keys_of(&documents, alias);
        let images = stack.aws_as(
            Some(keys),
            &[
                "ec2",
                "describe-images",
                "--owners",
                "self",
                "--region",
                region,
            ],
        );
        let mut names: Vec<&str> = images["Images"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                assert_eq!(i["OwnerId"], account, "{i}");
                i["Name"].as_str().unwrap()
            })
            .collect();
        names.sort_unstable();
        assert_eq!(names, [ACCESS, HOURLY], "{alias} in {region}");
        let snapshots = stack.aws_as(
            Some(keys),
            &[
                "ec2",
                "describe-snapshots",
                "--owner-ids",
                "self",
                "--region",
                region,
            ],
        );
        let snapshots = snapshots["Snapshots"].as_array().unwrap();
        assert!(
            !snapshots.is_empty(),
            "{alias} has its snapshot in {region}"
        );
        assert!(snapshots.iter().all(|s| s["OwnerId"] == account));
        let shared_too = match partition {
            "aws-us-gov" => Some("444455556666"),
            "aws-cn" => Some("555566667777"),
            _ => None,
        };
        for image in images["Images"].as_array().unwrap() {
            let ami = image["ImageId"].as_str().unwrap();
            let shared = launch_permissions_as(&stack, Some(keys), region, ami);
            let mut expected: Vec<&str> = ["111122223333"].into_iter().chain(shared_too).collect();
            if image["Name"] == HOURLY {
                expected.push("all");
            }
            assert_eq!(shared, expected, "{alias} {ami}");
        }
        for (other, _, _, _, _) in ACCOUNTS.iter().filter(|a| a.0 != alias) {
            let theirs = stack.aws_as(
                Some(keys_of(&documents, other)),
                &[
                    "ec2",
                    "describe-images",
                    "--owners",
                    "self",
                    "--region",
                    region,
                ],
            );
            assert_eq!(theirs["Images"], json!([]), "{other} sees none in {region}");
        }
        let own = stack.aws(&[
            "ec2",
            "describe-images",
            "--owners",
            "self",
            "--region",
            region,
        ]);
        assert_eq!(
            own["Images"],
            json!([]),
            "the functions' own account has none"
        );
    }
    let regions_told: Vec<(String, String)> = stack
        .rhsm_writes()
        .await
        .iter()
        .filter(|w| w["path"].as_str().is_some_and(|p| p.ends_with("/regions")))
        .map(|w| {
            (
                w["body"]["regionID"].as_str().unwrap().to_string(),
                w["body"]["providerShortname"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (_, _, region, provider, _) in ACCOUNTS {
        assert!(
            regions_told.contains(&(region.to_string(), provider.to_string())),
            "{regions_told:?}"
        );
    }

    // WHEN China's key is wrong and the push runs again
    let mut wrong = documents.clone();
    for d in &mut wrong {
        if d["marketplace_account"] == "aws-china-storage" {
            d["auth"]["AWS_IMAGE_ACCESS_KEY"] = json!("AKIAWRONGKEY00000000");
        }
    }
    store_secret(&stack, &wrong);
    repush_of(&stack, "a1", "a1-wrong-key", &mapping);
    let execution = finished(&stack, "a1-wrong-key").await;

    // THEN only China's destinations fail, at the upload, with the reason; the rest PUSHED
    assert_eq!(execution["status"], "FAILED", "{execution}");
    let result = stored_result(&stack, "a1-wrong-key");
    for d in result["destinations"].as_array().unwrap() {
        if d["region"] == "cn-north-1" {
            assert_eq!(d["state"], "UPLOADFAILED", "{d}");
            assert!(d["error"].as_str().unwrap().contains("HTTP 403"), "{d}");
        } else {
            assert_eq!(d["state"], "PUSHED", "{d}");
        }
    }

    // AND no secret was logged, returned or written anywhere: no account's secret key, no
    // line of RHSM's client key
    let written = everything_written(&stack);
    let secrets = secrets(&stack, &documents);
    // the three accounts' secret keys and the lines of RHSM's client key
    assert!(secrets.len() > 3, "{}", secrets.len());
    let leaked = secrets
        .iter()
        .filter(|s| written.contains(s.as_str()))
        .count();
    assert_eq!(leaked, 0, "secrets written");
}

/// The steps `vmpush push` printed for each destination (AMI name, region), in order.
fn followed(stderr: &str) -> BTreeMap<(String, String), Vec<String>> {
    let mut seen: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for line in stderr.lines().filter_map(|l| l.strip_prefix("  ")) {
        let mut fields = line.split_whitespace();
        if let (Some(name), Some(region)) = (fields.next(), fields.next()) {
            let step = fields.collect::<Vec<_>>().join(" ");
            seen.entry((name.to_string(), region.to_string()))
                .or_default()
                .push(step);
        }
    }
    seen
}

fn launch_permissions(stack: &TestStack, region: &str, ami: &str) -> Vec<String> {
    launch_permissions_as(stack, None, region, ami)
}

/// [`launch_permissions`], looked up as the account of `keys`.
fn launch_permissions_as(
    stack: &TestStack,
    keys: Option<(&str, &str)>,
    region: &str,
    ami: &str,
) -> Vec<String> {
    let launch = stack.aws_as(
        keys,
        &[
            "ec2",
            "describe-image-attribute",
            "--region",
            region,
            "--image-id",
            ami,
            "--attribute",
            "launchPermission",
        ],
    );
    let mut shared: Vec<String> = launch["LaunchPermissions"]
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
    shared.sort();
    shared
}

#[tokio::test(flavor = "multi_thread")]
async fn vmpush_push_publishes_two_images_pre_pushes_and_reports_a_bad_drop() {
    // the functions named as CloudFormation names a SAM stack's: progress must not depend on it
    let options = Options {
        cfn_function_names: true,
        ..Options::default()
    };
    let stack = TestStack::up(workspace(), &options).await;
    let upload = stack.function("vmpush-upload");
    assert!(
        upload.starts_with("vmpush-UploadFunction-")
            && upload.len() == "vmpush-UploadFunction-".len() + 12,
        "{upload}"
    );
    let mapping = stack.scratch().join("mapping.yaml");
    std::fs::copy(
        workspace().join("tests/fixtures/peer-kit-1image/mapping.yaml"),
        &mapping,
    )
    .unwrap();
    let mapping = mapping.to_str().unwrap();

    // WHEN two images are pushed with the CLI
    let two = stack.scratch().join("two");
    staged_build(&two, "9.0", "10", 1).await;
    staged_build(&two, "9.1", "3", 2).await;
    let source = format!("staged:{}", two.display());
    let (code, stdout, stderr) = vmpush(
        &stack,
        &[
            "push",
            "--local",
            "--offline",
            "--repo-file",
            mapping,
            "--push-id",
            "two",
            &source,
        ],
    );

    // THEN 16 AMIs are PUSHED with their exact names, and the printed result is the stored one
    assert_eq!(code, 0, "{stderr}");
    let result: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(result, stored_result(&stack, "two"));
    let pushed = states(&result);
    let mut expected = BTreeMap::new();
    for (version, respin) in [("9.0.0", "10"), ("9.1.0", "3")] {
        for billing in ["Hourly2", "Access2"] {
            for region in REGIONS {
                let name = format!("RHEL-{version}_HVM_GA-20250101-x86_64-{respin}-{billing}-GP3");
                expected.insert((name, region.to_string()), "PUSHED".to_string());
            }
        }
    }
    let got: BTreeMap<_, _> = pushed
        .iter()
        .map(|(k, (s, _))| (k.clone(), s.clone()))
        .collect();
    assert_eq!(got, expected);
    let amis = images(&stack);
    assert_eq!(amis.len(), 16);
    for ((name, region), (_, ami)) in &pushed {
        assert_eq!(
            amis[&(name.clone(), region.clone())]["ImageId"].as_str(),
            ami.as_deref()
        );
    }
    // every destination was followed: seen importing, then done with its own AMI
    let seen = followed(&stderr);
    for ((name, region), (_, ami)) in &pushed {
        let steps = &seen[&(name.clone(), region.clone())];
        assert!(
            steps.iter().any(|s| s.starts_with("importing")),
            "{name} in {region}: {steps:?}"
        );
        assert_eq!(
            steps.last(),
            Some(&format!("done {}", ami.as_deref().unwrap())),
            "{name} in {region}: {steps:?}"
        );
    }
    assert!(stderr.contains("push two: PUSHED"), "{stderr}");
    let (code, status_out, _) = vmpush(&stack, &["status", "--local", "two"]);
    assert_eq!(
        (code, serde_json::from_str::<Value>(&status_out).unwrap()),
        (0, result)
    );

    // WHEN a third image is pre-pushed
    stack.clear_rhsm_requests().await;
    let third = stack.scratch().join("third");
    staged_build(&third, "9.2", "1", 3).await;
    let source = format!("staged:{}", third.display());
    let (code, stdout, stderr) = vmpush(
        &stack,
        &[
            "push",
            "--local",
            "--offline",
            "--repo-file",
            mapping,
            "--pre-push",
            "--push-id",
            "pre",
            &source,
        ],
    );

    // THEN it is PUSHED, shared with the accounts only, and RHSM heard nothing
    assert_eq!(code, 0, "{stderr}");
    let result: Value = serde_json::from_str(&stdout).unwrap();
    let pre = states(&result);
    assert_eq!(pre.len(), 8);
    for ((name, region), (state, ami)) in &pre {
        assert_eq!(state, "PUSHED", "{name} in {region}");
        assert_eq!(
            launch_permissions(&stack, region, ami.as_deref().unwrap()),
            ["111122223333", "444455556666"],
            "{name} in {region}"
        );
    }
    assert!(
        result["destinations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["public"] == false)
    );
    assert_eq!(stack.rhsm_writes().await, Vec::<Value>::new());
    notices(&stack);

    // WHEN a drop's push.yaml is malformed
    stack.clear_aws_requests().await;
    stage(&stack, "drops/bad/push.yaml", b"workflow: every\n");
    let execution = finished(&stack, "bad").await;

    // THEN the push ends FAILED with the typed error in its result and its notice, having
    // uploaded nothing; `vmpush status` exits 30
    assert_eq!(execution["status"], "FAILED", "{execution}");
    let result = stored_result(&stack, "bad");
    let error = "s3://vmpush-staging/drops/bad/push.yaml: workflow: unknown variant `every`, expected one of `community`, `marketplace`, `all` at line 1 column 11";
    assert_eq!(
        (
            &result["state"],
            result["error"].as_str(),
            &result["destinations"]
        ),
        (&json!("FAILED"), Some(error), &json!([]))
    );
    let received = notices(&stack);
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].1["error"], error);
    assert_eq!(received[0].1["state"], "FAILED");
    assert_eq!(
        stack
            .aws_counts(&[
                "CreateMultipartUpload",
                "UploadPart",
                "ImportSnapshot",
                "RegisterImage"
            ])
            .await,
        [0, 0, 0, 0]
    );
    let (code, stdout, stderr) = vmpush(&stack, &["status", "--local", "bad"]);
    assert_eq!(code, 30, "{stderr}");
    assert_eq!(serde_json::from_str::<Value>(&stdout).unwrap(), result);
    assert!(
        stderr.contains(&format!("push bad: FAILED ({error})")),
        "{stderr}"
    );

    // WHEN the two images are pushed again through the push API, with credentials
    let api = stack.var("VMPUSH_LOCAL_API_URL").to_string();
    let unsigned = reqwest::get(format!("{api}/pushes/two")).await.unwrap();
    assert_eq!(unsigned.status(), 403);
    assert_eq!(
        unsigned.json::<Value>().await.unwrap(),
        json!({"message": "Missing Authentication Token"})
    );
    // the peer kit's document with empty image keys: the functions' own role acts for the
    // account (its keys are no moto account's), so the first push's AMIs come back
    let fixture = workspace().join("tests/fixtures/peer-kit-1image/credentials.json");
    let mut document: Value = serde_json::from_slice(&std::fs::read(fixture).unwrap()).unwrap();
    document["auth"]["AWS_IMAGE_ACCESS_KEY"] = json!("");
    document["auth"]["AWS_IMAGE_SECRET_ACCESS"] = json!("");
    let credentials = stack.scratch().join("credentials.json");
    std::fs::write(&credentials, document.to_string()).unwrap();
    let source = format!("staged:{}", two.display());
    let args = [
        "push",
        "--local",
        "--api",
        &api,
        "--credentials",
        credentials.to_str().unwrap(),
        "--offline",
        "--repo-file",
        mapping,
        "--push-id",
        "via-api",
        &source,
    ];
    stack.clear_aws_requests().await;
    let (code, stdout, stderr) = vmpush(&stack, &args);

    // THEN the API starts and reports it, the secret holds the credentials (and no output
    // does), and the same 16 AMIs come back
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "credentials (aws-us-storage): stored in secret {CREDENTIALS_SECRET}"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("push via-api: started via-api-"),
        "{stderr}"
    );
    let via_api: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(states(&via_api), pushed);
    // GET /pushes/{id} reports every destination's step too
    let seen = followed(&stderr);
    for ((name, region), (_, ami)) in &pushed {
        assert_eq!(
            seen[&(name.clone(), region.clone())].last(),
            Some(&format!("done {}", ami.as_deref().unwrap())),
            "{name} in {region}"
        );
    }
    assert_eq!(stack.aws_counts(&["RegisterImage"]).await, [0]);
    let secret = stack.aws(&[
        "secretsmanager",
        "get-secret-value",
        "--secret-id",
        CREDENTIALS_SECRET,
    ]);
    let fixture: Value = serde_json::from_slice(&std::fs::read(&credentials).unwrap()).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(secret["SecretString"].as_str().unwrap()).unwrap(),
        json!([fixture])
    );
    assert!(!format!("{stdout}{stderr}").contains("peer-marketplace-secret"));
    let api_calls: Vec<(String, u64)> = stack
        .aws_requests()
        .await
        .iter()
        .filter(|r| r["service"] == "execute-api")
        .map(|r| {
            (
                r["action"].as_str().unwrap().to_string(),
                r["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(api_calls[0], ("POST /pushes".to_string(), 202));
    assert!(
        api_calls[1..]
            .iter()
            .all(|c| c == &("GET /pushes/{id}".to_string(), 200))
    );

    // WHEN the same push is started again
    let (code, stdout, stderr) = vmpush(&stack, &args);

    // THEN nothing starts or changes: the API answers with the finished push
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("already in secret"), "{stderr}");
    assert!(
        stderr.contains("push via-api: already started as via-api-"),
        "{stderr}"
    );
    assert_eq!(serde_json::from_str::<Value>(&stdout).unwrap(), via_api);
    let (code, stdout, _) = vmpush(&stack, &["status", "--local", "--api", &api, "via-api"]);
    assert_eq!(
        (code, serde_json::from_str::<Value>(&stdout).unwrap()),
        (0, via_api)
    );
    let (code, _, stderr) = vmpush(&stack, &["status", "--local", "--api", &api, "never"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("push never: no execution found"),
        "{stderr}"
    );
}

/// The peer kit's marketplace mapping (one `aws-na` destination, the Marketplace fake's
/// product), with `meta` and destination settings changed by `edit`.
fn marketplace_mapping(stack: &TestStack, name: &str, edit: impl FnOnce(&mut Value)) -> String {
    let text = std::fs::read_to_string(
        workspace().join("tests/fixtures/peer-kit-1image/mapping-marketplace.yaml"),
    )
    .unwrap();
    let mut mapping: Value = serde_yaml_ng::from_str(&text).unwrap();
    edit(&mut mapping[0]);
    let path = stack.scratch().join(name);
    std::fs::write(&path, serde_yaml_ng::to_string(&mapping).unwrap()).unwrap();
    path.to_str().unwrap().to_string()
}

/// `vmpush push --workflow marketplace` of one staged build; (exit code, result, stderr).
async fn marketplace_push(
    stack: &TestStack,
    mapping: &str,
    build: (&str, &str, u64),
    push_id: &str,
) -> (i32, Value, String) {
    push_build(stack, mapping, build, push_id, &["-w", "marketplace"]).await
}

/// `vmpush push` of one staged build with `flags`; (exit code, result, stderr).
async fn push_build(
    stack: &TestStack,
    mapping: &str,
    (version, respin, seed): (&str, &str, u64),
    push_id: &str,
    flags: &[&str],
) -> (i32, Value, String) {
    let dir = stack.scratch().join(push_id);
    staged_build(&dir, version, respin, seed).await;
    let source = format!("staged:{}", dir.display());
    let mut args = vec!["push", "--local", "--offline", "--repo-file", mapping];
    args.extend(flags);
    args.extend(["--push-id", push_id, &source]);
    let (code, stdout, stderr) = vmpush(stack, &args);
    let result = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{push_id}: {e}: {stdout}\n{stderr}"));
    (code, result, stderr)
}

/// The AMI `ami` as the seller's account describes it in us-east-1.
fn image_as(stack: &TestStack, seller: (&str, &str), ami: &str) -> Value {
    let described = stack.aws_as(
        Some(seller),
        &[
            "ec2",
            "describe-images",
            "--region",
            "us-east-1",
            "--image-ids",
            ami,
        ],
    );
    described["Images"][0].clone()
}

/// The Marketplace fake's product.
const PRODUCT: &str = "d87bcebf-9cf4-47f5-9b5b-5470d4490f3d";

#[tokio::test(flavor = "multi_thread")]
async fn marketplace_pushes_become_product_versions_once_waiting_for_locks_and_restricting() {
    let stack = TestStack::up(workspace(), &Options::default()).await;
    let documents = local_credentials(&stack);
    store_secret(&stack, &documents);
    let seller = keys_of(&documents, "aws-na");
    let auth = &documents
        .iter()
        .find(|d| d["marketplace_account"] == "aws-na")
        .unwrap()["auth"];
    let role = auth["AWS_ACCESS_ROLE_ARN"].as_str().unwrap();
    let mapping = marketplace_mapping(&stack, "marketplace.yaml", |_| {});
    // the first call's answer is lost: Step Functions retries it
    let function = stack.function("vmpush-marketplace-version");
    stack
        .kills(&json!({"rules": [{"function": function, "match": {"id": {"$present": true}},
                                   "when": "after", "count": 1, "error": "Lambda.ServiceException"}]}))
        .await;

    // WHEN the peer kit's marketplace input is pushed
    let (code, result, stderr) =
        marketplace_push(&stack, &mapping, ("9.0", "10", 21), "mkt-1").await;

    // THEN one version is added, with the reference's change set plus token and name
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(result["state"], "PUSHED", "{result}");
    let destinations = result["destinations"].as_array().unwrap();
    assert_eq!(destinations.len(), 1);
    let d = &destinations[0];
    let name = "Red Hat Enterprise Linux-9.0_HVM_GA-20250101-x86_64-10";
    assert_eq!(
        (
            &d["state"],
            &d["name"],
            &d["account"],
            &d["destination"],
            &d["region"]
        ),
        (
            &json!("PUSHED"),
            &json!(name),
            &json!("aws-na"),
            &json!(PRODUCT),
            &json!("us-east-1")
        )
    );
    let ami = d["ami"].as_str().unwrap().to_string();
    let started = stack.started_change_sets().await;
    assert_eq!(started.len(), 1, "{started:?}");
    let body = &started[0];
    let token = body["ClientRequestToken"].as_str().unwrap();
    assert_eq!(token.len(), 32);
    let expected = json!({"Catalog": "AWSMarketplace", "Intent": "APPLY",
        "ChangeSetName": body["ChangeSetName"], "ClientRequestToken": token,
        "ChangeSet": [{"ChangeType": "AddDeliveryOptions",
            "Entity": {"Type": "AmiProduct@1.0", "Identifier": PRODUCT},
            "DetailsDocument": {
                "Version": {"VersionTitle": "9.0 20250101-10",
                    "ReleaseNotes": "https://access.redhat.com/documentation/en-us/red_hat_enterprise_linux/9/html/9.0_release_notes/index"},
                "DeliveryOptions": [{"Details": {"AmiDeliveryOptionDetails": {
                    "AmiSource": {"AmiId": ami, "AccessRoleArn": role, "UserName": "ec2-user",
                        "OperatingSystemName": "RHEL", "OperatingSystemVersion": "9.0", "ScanningPort": 22},
                    "UsageInstructions": "Access your instance via ssh using the default username \"ec2-user\".",
                    "RecommendedInstanceType": "m5dn.2xlarge",
                    "SecurityGroups": [{"FromPort": 22, "IpProtocol": "tcp", "IpRanges": ["0.0.0.0/0"], "ToPort": 22}]}}}]}}]});
    assert_eq!(body, &expected);
    assert!(
        body["ChangeSetName"]
            .as_str()
            .unwrap()
            .starts_with("vmpush-ds-"),
        "{body}"
    );
    // signed with the account's Marketplace keys, never its image keys
    let requests = stack.marketplace_requests().await;
    assert!(
        requests
            .iter()
            .all(|r| r["signer"] == auth["AWS_MARKETPLACE_ACCESS_KEY"]),
        "{requests:?}"
    );
    let mkt = &d["marketplace"];
    assert_eq!(
        (
            &mkt["entity"],
            &mkt["title"],
            &mkt["existing"],
            &mkt["change_type"]
        ),
        (
            &json!(PRODUCT),
            &json!("9.0 20250101-10"),
            &json!(false),
            &json!("AddDeliveryOptions")
        )
    );
    let change_set = mkt["change_set"].as_str().unwrap();
    assert!(
        requests.iter().any(|r| r["path"] == "/DescribeChangeSet"
            && r["query"].as_str().unwrap().contains(change_set)),
        "{change_set}"
    );
    // the AMI: private (its accounts only), tagged with its release date
    let image = &image_as(&stack, seller, &ami);
    let released = tag(image, "release_date").unwrap();
    assert!(
        released.len() == 18 && &released[10..12] == "::" && &released[14..16] == "::",
        "{released}"
    );
    assert_eq!(
        launch_permissions_as(&stack, Some(seller), "us-east-1", &ami),
        ["425685993791", "684062674729"]
    );
    // the killed call was retried and opened no second change set
    let invocations = stack.invocations().await;
    assert_eq!(
        invocations
            .iter()
            .filter(|i| !i["killed"].is_null())
            .count(),
        1
    );
    stack.kills(&json!({"rules": []})).await;

    // WHEN the same image is pushed again
    let (code, again, stderr) =
        marketplace_push(&stack, &mapping, ("9.0", "10", 21), "mkt-2").await;
    // THEN the version is there: nothing is started
    assert_eq!(code, 0, "{stderr}");
    let d = &again["destinations"][0];
    assert_eq!((&d["state"], &d["ami"]), (&json!("PUSHED"), &json!(ami)));
    assert_eq!(d["marketplace"]["existing"], true);
    assert_eq!(stack.started_change_sets().await.len(), 1);

    // WHEN the next change set on the product fails
    stack
        .marketplace_control(
            "fail",
            &json!({"entity": PRODUCT, "code": "INVALID_INPUT", "message": "UsageInstructions are too short"}),
        )
        .await;
    let (code, failed, _) = marketplace_push(&stack, &mapping, ("9.1", "3", 22), "mkt-3").await;
    // THEN that destination is NOTPUSHED with the change set's error details
    assert_ne!(code, 0);
    let d = &failed["destinations"][0];
    assert_eq!(
        (&failed["state"], &d["state"]),
        (&json!("FAILED"), &json!("NOTPUSHED"))
    );
    let error = d["error"].as_str().unwrap();
    assert!(
        error.contains(
            "failed with code CLIENT_ERROR: INVALID_INPUT: UsageInstructions are too short"
        ),
        "{error}"
    );

    // WHEN another seller's change set locks the product for 3 polls, and the push restricts
    // older versions (one minor per major)
    stack
        .marketplace_control("lock", &json!({"entity": PRODUCT, "polls": 3}))
        .await;
    let restricting = marketplace_mapping(&stack, "restrict.yaml", |entity| {
        let dest = &mut entity["mappings"]["aws-na"]["destinations"][0];
        dest["restrict_version"] = json!(true);
        dest["restrict_minor"] = json!(1);
    });
    let lists = async || {
        let requests = stack.marketplace_requests().await;
        requests
            .iter()
            .filter(|r| r["path"] == "/ListChangeSets")
            .count()
    };
    let lists_before = lists().await;
    let before = stack.started_change_sets().await.len();
    let (code, restricted, stderr) =
        marketplace_push(&stack, &restricting, ("9.2", "1", 23), "mkt-4").await;
    // THEN it waits, adds 9.2, restricts 9.0 and deletes its AMI and snapshot
    assert_eq!(code, 0, "{stderr}");
    let d = &restricted["destinations"][0];
    assert_eq!(d["state"], "PUSHED", "{d}");
    let started = stack.started_change_sets().await;
    let kinds: Vec<&str> = started[before..]
        .iter()
        .map(|b| b["ChangeSet"][0]["ChangeType"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["AddDeliveryOptions", "RestrictDeliveryOptions"]);
    let restriction = &started[before + 1]["ChangeSet"][0];
    let details: Value = serde_json::from_str(restriction["Details"].as_str().unwrap()).unwrap();
    assert_eq!(details["DeliveryOptionIds"], d["marketplace"]["restricted"]);
    assert_eq!(details["DeliveryOptionIds"].as_array().unwrap().len(), 1);
    assert_eq!(d["marketplace"]["deleted_amis"], json!([ami]));
    let gone = stack.aws_as(
        Some(seller),
        &[
            "ec2",
            "describe-images",
            "--region",
            "us-east-1",
            "--owners",
            "self",
        ],
    );
    let names: Vec<&str> = gone["Images"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["Name"].as_str())
        .collect();
    assert!(!names.contains(&name), "{names:?}");
    assert_eq!(
        d["marketplace"]["deleted_snapshots"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // 3 locked polls, then one before each of the two change sets
    assert_eq!(lists().await - lists_before, 5);

    // WHEN a version title is kept across respins and the destination says overwrite
    let titled = |overwrite: bool| {
        move |entity: &mut Value| {
            entity["meta"]["marketplace_title_template"] = json!("{version} stable");
            entity["mappings"]["aws-na"]["destinations"][0]["overwrite"] = json!(overwrite);
        }
    };
    let first = marketplace_mapping(&stack, "titled.yaml", titled(false));
    let (code, _, stderr) = marketplace_push(&stack, &first, ("9.3", "1", 24), "mkt-5").await;
    assert_eq!(code, 0, "{stderr}");
    let overwriting = marketplace_mapping(&stack, "overwrite.yaml", titled(true));
    let (code, updated, stderr) =
        marketplace_push(&stack, &overwriting, ("9.3", "2", 25), "mkt-6").await;
    // THEN the second updates the version of that title, by its delivery option id
    assert_eq!(code, 0, "{stderr}");
    let started = stack.started_change_sets().await;
    let last = &started.last().unwrap()["ChangeSet"][0];
    assert_eq!(last["ChangeType"], "UpdateDeliveryOptions");
    let entity = stack
        .get_json(&format!(
            "{}/DescribeEntity?catalog=AWSMarketplace&entityId={PRODUCT}",
            stack.var("VMPUSH_MARKETPLACE_URL")
        ))
        .await;
    let stable = entity["DetailsDocument"]["Versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["VersionTitle"] == "9.3 stable")
        .unwrap()
        .clone();
    assert_eq!(
        last["DetailsDocument"]["DeliveryOptions"][0]["Id"],
        stable["DeliveryOptions"][0]["Id"]
    );
    assert_eq!(
        stable["Sources"][0]["Image"],
        updated["destinations"][0]["ami"]
    );
    assert_eq!(updated["destinations"][0]["state"], "PUSHED");

    // WHEN a build is pre-pushed (spec §3.7)
    let requests_before = stack.marketplace_requests().await.len();
    let (code, pre, stderr) = push_build(
        &stack,
        &mapping,
        ("9.4", "1", 26),
        "mkt-7",
        &["-w", "marketplace", "--pre-push"],
    )
    .await;
    // THEN it is uploaded, imported and registered privately; nothing reaches the Catalog
    assert_eq!(code, 0, "{stderr}");
    let d = &pre["destinations"][0];
    assert_eq!(
        (&pre["state"], &d["state"]),
        (&json!("PUSHED"), &json!("PUSHED"))
    );
    assert!(d["marketplace"].is_null(), "{d}");
    assert_eq!(stack.marketplace_requests().await.len(), requests_before);
    let pre_ami = d["ami"].as_str().unwrap();
    let described = image_as(&stack, seller, pre_ami);
    assert_eq!(
        described["Name"],
        "Red Hat Enterprise Linux-9.4_HVM_GA-20250101-x86_64-1"
    );
    assert_eq!(tag(&described, "release_date"), None);
    assert_eq!(
        launch_permissions_as(&stack, Some(seller), "us-east-1", pre_ami),
        ["425685993791", "684062674729"]
    );

    // WHEN the peer kit's combined input is pushed with `-w all` (and pubtools' flags)
    let all = workspace().join("tests/fixtures/peer-kit-1image/mapping-all.yaml");
    let before = stack.started_change_sets().await.len();
    let (code, combined, stderr) = push_build(
        &stack,
        all.to_str().unwrap(),
        ("9.5", "1", 27),
        "all-1",
        &[
            "-w",
            "all",
            "--skip",
            "x",
            "--rhsm-url",
            "https://rhsm.example.com",
        ],
    )
    .await;
    // THEN the product version and the eight community AMIs are all PUSHED
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        (&combined["workflow"], &combined["state"]),
        (&json!("all"), &json!("PUSHED"))
    );
    let kinds: Vec<(&str, &str)> = combined["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["account"].as_str().unwrap(), d["state"].as_str().unwrap()))
        .collect();
    let mut expected = vec![("aws-na", "PUSHED")];
    expected.extend([("aws-us-storage", "PUSHED"); 8]);
    assert_eq!(kinds, expected);
    assert_eq!(stack.started_change_sets().await.len(), before + 1);
    assert_eq!(
        combined["destinations"][0]["marketplace"]["title"],
        "9.5 20250101-1"
    );
    for line in [
        "--skip x: accepted without effect: no step of a push can be skipped (pubtools-marketplacesvm ignores --skip too)",
        "--rhsm-url https://rhsm.example.com: not applied: a push updates its deployment's RHSM (template parameter RhsmUrl)",
    ] {
        assert!(stderr.lines().any(|l| l == line), "{line} not in {stderr}");
    }
    // clouds.json: the marketplace element carries its StArMap answer, community ones do not
    let clouds: Value =
        serde_json::from_slice(&stack.object(RESULTS_BUCKET, "results/all-1/clouds.json")).unwrap();
    let clouds = clouds.as_array().unwrap();
    assert_eq!(clouds.len(), 9);
    assert_eq!(
        (
            &clouds[0]["cloud_info"],
            &clouds[0]["starmap_query"]["workflow"],
            &clouds[0]["type"]
        ),
        (
            &json!({"account": "aws-na", "provider": "aws"}),
            &json!("stratosphere"),
            &json!("AMI")
        )
    );
    assert!(clouds[1..].iter().all(
        |c| c.get("starmap_query").is_none() && c["cloud_info"]["account"] == "aws-us-storage"
    ));
}
