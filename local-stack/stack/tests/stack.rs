//! The local stack end to end, started through the same code path as `vmpush local up`:
//! ImportSnapshot completes into a snapshot, a state machine with a Rust Lambda task
//! succeeds, an S3 notification invokes the Rust function, the fakes answer with their
//! documented shapes, a second `up` is a no-op, and `down` leaves no process behind.
//! AWS is driven with the AWS CLI the stack installs.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use vmpush_local::Options;
use vmpush_local::testing::{TestStack, eventually, group_alive};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

#[tokio::test(flavor = "multi_thread")]
async fn local_stack_end_to_end() {
    let stack = TestStack::up(&workspace(), &Options::default()).await;
    exercise(&stack).await;
    let (layout, pids) = (
        stack.layout.clone(),
        stack
            .state
            .services
            .iter()
            .map(|s| s.pid)
            .collect::<Vec<_>>(),
    );
    let stopped = stack.down();
    assert_eq!(
        stopped.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["lambda", "azurite", "moto", "fakes"]
    );
    assert!(stopped.iter().all(|(_, was_running)| *was_running));
    for pid in pids {
        assert!(!group_alive(pid), "process group {pid} survived down");
    }
    assert!(!layout.state_file().exists() && !layout.env_file().exists());
}

async fn exercise(stack: &TestStack) {
    let (layout, state, scratch) = (&stack.layout, &stack.state, stack.scratch());
    // Every URL is on loopback, and the env file matches the state.
    for (key, value) in &state.env {
        if value.starts_with("http") {
            assert!(value.starts_with("http://127.0.0.1:"), "{key}={value}");
        }
    }
    let env_text = std::fs::read_to_string(layout.env_file()).unwrap();
    assert!(env_text.contains(&format!(
        "export AWS_ENDPOINT_URL='{}'",
        state.var("AWS_ENDPOINT_URL").unwrap()
    )));

    // A second up while running is a no-op.
    let again = vmpush_local::up(layout, &Options::default(), &|_| {})
        .await
        .unwrap();
    assert_eq!(&again, state);

    let aws_url = state.var("AWS_ENDPOINT_URL").unwrap().to_string();

    // ImportSnapshot from an object in moto completes into a snapshot.
    let image = scratch.join("disk.raw");
    std::fs::write(&image, vec![0u8; 1 << 20]).unwrap();
    stack.aws(&["s3api", "create-bucket", "--bucket", "vmpush-e2e"]);
    stack.aws(&[
        "s3api",
        "put-object",
        "--bucket",
        "vmpush-e2e",
        "--key",
        "disk.raw",
        "--body",
        image.to_str().unwrap(),
    ]);
    let task = stack.aws(&[
        "ec2",
        "import-snapshot",
        "--disk-container",
        "Format=raw,UserBucket={S3Bucket=vmpush-e2e,S3Key=disk.raw}",
        "--tag-specifications",
        "ResourceType=import-snapshot-task,Tags=[{Key=Name,Value=e2e-snap}]",
    ]);
    assert_eq!(task["SnapshotTaskDetail"]["Status"], "active");
    let snapshot_id = eventually(10, async || {
        let tasks = stack.aws(&[
            "ec2",
            "describe-import-snapshot-tasks",
            "--filters",
            "Name=tag:Name,Values=e2e-snap",
        ]);
        let detail = &tasks["ImportSnapshotTasks"][0]["SnapshotTaskDetail"];
        (detail["Status"] == "completed")
            .then(|| detail["SnapshotId"].as_str().unwrap().to_string())
    })
    .await;
    let snapshots = stack.aws(&["ec2", "describe-snapshots", "--snapshot-ids", &snapshot_id]);
    assert_eq!(snapshots["Snapshots"][0]["State"], "completed");

    // RegisterImage keeps what moto drops; a duplicate name is refused as in EC2.
    let bdm = format!(
        r#"[{{"DeviceName": "/dev/sda1", "Ebs": {{"SnapshotId": "{snapshot_id}", "VolumeType": "gp3", "DeleteOnTermination": true}}}}]"#
    );
    let register = |name: &str| {
        vec![
            "ec2".to_string(),
            "register-image".into(),
            "--name".into(),
            name.into(),
            "--architecture".into(),
            "arm64".into(),
            "--virtualization-type".into(),
            "hvm".into(),
            "--root-device-name".into(),
            "/dev/sda1".into(),
            "--boot-mode".into(),
            "uefi-preferred".into(),
            "--ena-support".into(),
            "--sriov-net-support".into(),
            "simple".into(),
            "--billing-products".into(),
            "bp-6fa54006".into(),
            "--block-device-mappings".into(),
            bdm.clone(),
            "--tag-specifications".into(),
            "ResourceType=image,Tags=[{Key=billing_type,Value=hourly}]".into(),
        ]
    };
    let args = register("RHEL-9.4_HVM_GA-20240501-arm64-1-Hourly2-GP3");
    let registered = stack.aws(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let image_id = registered["ImageId"].as_str().unwrap().to_string();
    let described = stack.aws(&["ec2", "describe-images", "--image-ids", &image_id]);
    let d = &described["Images"][0];
    assert_eq!(
        (
            d["Architecture"].as_str(),
            d["BootMode"].as_str(),
            d["EnaSupport"].as_bool(),
            d["SriovNetSupport"].as_str()
        ),
        (
            Some("arm64"),
            Some("uefi-preferred"),
            Some(true),
            Some("simple")
        )
    );
    assert_eq!(
        d["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"],
        snapshot_id.as_str()
    );
    assert_eq!(d["BlockDeviceMappings"][0]["Ebs"]["VolumeType"], "gp3");
    assert_eq!(
        d["Tags"],
        json!([{"Key": "billing_type", "Value": "hourly"}])
    );
    let billing = stack
        .get_json(&format!("{aws_url}/_local/billing-products"))
        .await;
    assert_eq!(billing["us-east-1"][&image_id], json!(["bp-6fa54006"]));
    let duplicate = stack.aws_run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        String::from_utf8_lossy(&duplicate.stderr).contains("(InvalidAMIName.Duplicate)"),
        "{duplicate:?}"
    );
    stack.aws(&[
        "ec2",
        "modify-snapshot-attribute",
        "--snapshot-id",
        &snapshot_id,
        "--attribute",
        "createVolumePermission",
        "--create-volume-permission",
        r#"{"Add": [{"UserId": "111122223333"}]}"#,
    ]);
    let permissions = stack.aws(&[
        "ec2",
        "describe-snapshot-attribute",
        "--snapshot-id",
        &snapshot_id,
        "--attribute",
        "createVolumePermission",
    ]);
    assert_eq!(
        permissions["CreateVolumePermissions"],
        json!([{"UserId": "111122223333"}])
    );
    let bpa = stack.aws(&["ec2", "get-image-block-public-access-state"]);
    assert_eq!(bpa["ImageBlockPublicAccessState"], "unblocked");
    stack.aws(&[
        "ec2",
        "enable-image-block-public-access",
        "--image-block-public-access-state",
        "block-new-sharing",
    ]);
    assert_eq!(
        stack.aws(&["ec2", "get-image-block-public-access-state"])["ImageBlockPublicAccessState"],
        "block-new-sharing"
    );

    // A state machine with a Rust Lambda task succeeds; Retry and Catch match the error type.
    let function_arn = stack.create_function("vmpush-probe");

    let definition = json!({"StartAt": "Probe", "States": {
        "Probe": {"Type": "Task", "Resource": function_arn, "ResultPath": "$.probe", "Next": "Fail on purpose"},
        "Fail on purpose": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "vmpush-probe", "Payload": {"fail": true}},
            "Retry": [{"ErrorEquals": ["ProbeFailure"], "MaxAttempts": 1, "IntervalSeconds": 1}],
            "Catch": [{"ErrorEquals": ["ProbeFailure"], "ResultPath": "$.caught", "Next": "Done"}], "Next": "Done"},
        "Done": {"Type": "Succeed"}}});
    let machine = stack.aws(&[
        "stepfunctions",
        "create-state-machine",
        "--name",
        "e2e",
        "--definition",
        &definition.to_string(),
        "--role-arn",
        "arn:aws:iam::123456789012:role/vmpush-test",
    ]);
    let execution = stack.aws(&[
        "stepfunctions",
        "start-execution",
        "--state-machine-arn",
        machine["stateMachineArn"].as_str().unwrap(),
        "--input",
        r#"{"push": "e2e"}"#,
    ]);
    let execution_arn = execution["executionArn"].as_str().unwrap().to_string();
    let described = eventually(60, async || {
        let d = stack.aws(&[
            "stepfunctions",
            "describe-execution",
            "--execution-arn",
            &execution_arn,
        ]);
        (d["status"] != "RUNNING").then_some(d)
    })
    .await;
    assert_eq!(described["status"], "SUCCEEDED");
    let output: Value = serde_json::from_str(described["output"].as_str().unwrap()).unwrap();
    assert_eq!(
        output["probe"],
        json!({"probe": "ok", "event": {"push": "e2e"}})
    );
    assert_eq!(output["caught"]["Error"], "ProbeFailure");
    let invocations = stack
        .get_json(&format!("{aws_url}/_local/invocations"))
        .await;
    assert_eq!(
        invocations
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["payload"] == json!({"fail": true}))
            .count(),
        2,
        "one retry"
    );

    // An S3 PutObject with a notification invokes the Rust function (asynchronously).
    let notification = json!({"LambdaFunctionConfigurations": [{"LambdaFunctionArn": function_arn, "Events": ["s3:ObjectCreated:*"],
        "Filter": {"Key": {"FilterRules": [{"Name": "suffix", "Value": "push.yaml"}]}}}]});
    stack.aws(&[
        "s3api",
        "put-bucket-notification-configuration",
        "--bucket",
        "vmpush-e2e",
        "--notification-configuration",
        &notification.to_string(),
    ]);
    stack.aws(&[
        "s3api",
        "put-object",
        "--bucket",
        "vmpush-e2e",
        "--key",
        "drops/p1/push.yaml",
        "--body",
        image.to_str().unwrap(),
    ]);
    let event = eventually(30, async || {
        let all = stack
            .get_json(&format!("{aws_url}/_local/invocations"))
            .await;
        all.as_array()
            .unwrap()
            .iter()
            .find(|i| i["payload"]["Records"].is_array())
            .cloned()
    })
    .await;
    // Keys arrive URL-encoded, as AWS sends them.
    assert_eq!(
        event["payload"]["Records"][0]["s3"]["object"]["key"],
        "drops%2Fp1%2Fpush.yaml"
    );
    assert_eq!(event["result"]["probe"], "ok");

    // The fakes answer with the documented shapes; the Marketplace one through the SDK's endpoint variable.
    let rhsm = state.var("VMPUSH_RHSM_URL").unwrap();
    let groups = stack
        .get_json(&format!(
            "{rhsm}/v1/internal/cloud_access_providers/amazon/provider_image_groups"
        ))
        .await;
    assert!(
        groups["body"]
            .as_array()
            .unwrap()
            .contains(&json!({"name": "RHEL_HOURLY", "providerShortName": "AWS"}))
    );
    let starmap = state.var("VMPUSH_STARMAP_URL").unwrap();
    let mapping = stack
        .get_json(&format!("{starmap}/api/v2/query?name=rhel-ec2&version=9.0"))
        .await;
    assert_eq!(
        mapping[0]["mappings"]["aws-us-storage"]["destinations"]
            .as_array()
            .unwrap()
            .len(),
        8
    );
    assert_eq!(
        reqwest::get(format!("{starmap}/api/v2/query?name=unknown"))
            .await
            .unwrap()
            .status(),
        404
    );
    let entity = stack.aws(&[
        "marketplace-catalog",
        "describe-entity",
        "--catalog",
        "AWSMarketplace",
        "--entity-id",
        "d87bcebf-9cf4-47f5-9b5b-5470d4490f3d",
    ]);
    assert_eq!(entity["EntityType"], "AmiProduct@1.0");
    let blob = state.var("VMPUSH_AZURITE_URL").unwrap();
    let azurite = reqwest::get(format!("{blob}?comp=list")).await.unwrap();
    assert!(
        azurite.headers().contains_key("x-ms-request-id"),
        "Azurite answers: {:?}",
        azurite.headers()
    );

    // The request log counts calls by action.
    let requests = stack.get_json(&format!("{aws_url}/_local/requests")).await;
    let count = |action: &str| {
        requests
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["action"] == action)
            .count()
    };
    assert_eq!(count("ImportSnapshot"), 1);
    assert!(count("DescribeImportSnapshotTasks") >= 2);

    // Seeded fault injection answers in the protocol's own error format.
    let client = reqwest::Client::new();
    let faults = json!({"rate": 1.0, "seed": 1, "kinds": ["throttle"], "services": ["ec2"]});
    assert!(
        client
            .post(format!("{aws_url}/_local/faults"))
            .json(&faults)
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
    );
    let throttled = stack.aws_run(&["ec2", "describe-images", "--owners", "self"]);
    assert!(
        String::from_utf8_lossy(&throttled.stderr).contains("(RequestLimitExceeded)"),
        "{throttled:?}"
    );
    let requests = stack.get_json(&format!("{aws_url}/_local/requests")).await;
    let last = requests.as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (
            last["action"].as_str(),
            last["status"].as_u64(),
            last["fault"].as_str()
        ),
        (Some("DescribeImages"), Some(503), Some("throttle"))
    );
    assert!(
        stack.aws_run(&["s3api", "list-buckets"]).status.success(),
        "other services are not faulted"
    );
    client
        .post(format!("{aws_url}/_local/faults"))
        .json(&json!({"rate": 0}))
        .send()
        .await
        .unwrap();

    // reset wipes emulator state.
    let state = vmpush_local::reset(layout).await.unwrap();
    let tasks = stack.aws(&["ec2", "describe-import-snapshot-tasks"]);
    assert_eq!(tasks["ImportSnapshotTasks"], json!([]));
    assert_eq!(
        stack
            .get_json(&format!("{aws_url}/_local/invocations"))
            .await,
        json!([])
    );
    let blob = state.var("VMPUSH_AZURITE_URL").unwrap();
    assert!(
        reqwest::get(format!("{blob}?comp=list"))
            .await
            .unwrap()
            .headers()
            .contains_key("x-ms-request-id")
    );
}

/// RHSM over mutual TLS: the stack exports pubtools' `RHSM_CERT`/`RHSM_KEY` and the CA, the
/// fake accepts that certificate and refuses a client without one, the functions' secret holds
/// the same files; a second `up` with other
/// options restarts the stack instead of keeping the old one.
#[tokio::test(flavor = "multi_thread")]
async fn local_stack_rhsm_over_mutual_tls() {
    let options = Options {
        rhsm_tls: true,
        ..Options::default()
    };
    let stack = TestStack::up(&workspace(), &options).await;
    let (layout, state) = (&stack.layout, &stack.state);
    let rhsm = state.var("VMPUSH_RHSM_URL").unwrap().to_string();
    assert!(rhsm.starts_with("https://127.0.0.1:"), "{rhsm}");
    let read = |var: &str| std::fs::read(state.var(var).unwrap()).unwrap();
    let ca = reqwest::Certificate::from_pem(&read("VMPUSH_RHSM_CA")).unwrap();
    let mut identity = read("RHSM_CERT");
    identity.extend(read("RHSM_KEY"));
    let with_cert = reqwest::Client::builder()
        .add_root_certificate(ca.clone())
        .identity(reqwest::Identity::from_pem(&identity).unwrap())
        .build()
        .unwrap();
    let url = format!("{rhsm}/v1/internal/cloud_access_providers/amazon/provider_image_groups");
    assert_eq!(with_cert.get(&url).send().await.unwrap().status(), 200);
    let without = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    assert!(without.get(&url).send().await.is_err());
    // the functions get the same pair, and the CA, from a secret, as a deployment does
    let secret = stack.aws(&[
        "secretsmanager",
        "get-secret-value",
        "--secret-id",
        state.var("VMPUSH_RHSM_CERT_SECRET").unwrap(),
    ]);
    let stored: serde_json::Value =
        serde_json::from_str(secret["SecretString"].as_str().unwrap()).unwrap();
    let text = |var: &str| serde_json::json!(String::from_utf8(read(var)).unwrap());
    assert_eq!(
        stored,
        serde_json::json!({"certificate": text("RHSM_CERT"), "key": text("RHSM_KEY"), "ca": text("VMPUSH_RHSM_CA")})
    );
    vmpush_local::reset(layout).await.unwrap();

    let plain = vmpush_local::up(layout, &Options::default(), &|_| {})
        .await
        .unwrap();
    assert!(
        plain
            .var("VMPUSH_RHSM_URL")
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    assert_ne!(
        plain.services[0].pid, state.services[0].pid,
        "restarted with the new options"
    );
    let first = state.services.clone();
    stack.down();
    for s in first.iter().chain(&plain.services) {
        assert!(!group_alive(s.pid), "{} survived", s.name);
    }
}
