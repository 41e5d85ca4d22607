//! start-push through its real binary (`cargo lambda watch`) on the local stack: a drop's
//! `push.yaml` starts one execution however many times its event arrives; API requests start
//! once; an invalid request fails with a typed error and starts nothing.

use std::path::Path;

use serde_json::{Value, json};
use vmpush_local::testing::{TestStack, eventually};
use vmpush_local::{Options, STAGING_BUCKET};

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn executions(stack: &TestStack, machine: &str) -> Vec<Value> {
    stack.aws(&[
        "stepfunctions",
        "list-executions",
        "--state-machine-arn",
        machine,
    ])["executions"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn start_push_starts_each_push_once() {
    let stack = TestStack::up(workspace(), &Options::default()).await;
    // GIVEN the stack's push state machine (here reduced to accepting, so only starts are
    // observed) and its staging bucket notifying start-push of drops/*/push.yaml
    let machine = stack.var("VMPUSH_STATE_MACHINE_ARN").to_string();
    let definition = json!({"StartAt": "Accepted", "States": {"Accepted": {"Type": "Succeed"}}});
    stack.aws(&[
        "stepfunctions",
        "update-state-machine",
        "--state-machine-arn",
        &machine,
        "--definition",
        &definition.to_string(),
    ]);
    let notification = stack.aws(&[
        "s3api",
        "get-bucket-notification-configuration",
        "--bucket",
        STAGING_BUCKET,
    ]);
    assert_eq!(
        notification["LambdaFunctionConfigurations"][0]["LambdaFunctionArn"],
        stack.function_arn("vmpush-start-push")
    );

    // WHEN a drop is written, push.yaml last, and push.yaml is written again
    let resources = workspace().join(
        "tests/fixtures/peer-kit-1image/staged/starmap/CLOUD_IMAGES/rhel-ec2-9.0-10/resources.yaml",
    );
    let push_yaml = stack.scratch().join("push.yaml");
    std::fs::write(&push_yaml, "workflow: community\nstarmap: {mode: online}\n").unwrap();
    let put = |key: &str, file: &Path| {
        stack.aws(&[
            "s3api",
            "put-object",
            "--bucket",
            STAGING_BUCKET,
            "--key",
            key,
            "--body",
            file.to_str().unwrap(),
        ]);
    };
    put(
        "drops/rhel-9.0/starmap/CLOUD_IMAGES/rhel-ec2-9.0-10/resources.yaml",
        &resources,
    );
    put("drops/rhel-9.0/push.yaml", &push_yaml);
    put("drops/rhel-9.0/push.yaml", &push_yaml);
    // ... and the same event is delivered once more by hand, as S3 sends it
    let event = json!({"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3",
        "awsRegion": "us-east-1", "eventTime": "2026-12-01T09:00:00.000Z",
        "eventName": "ObjectCreated:Put", "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": "1", "x-amz-id-2": "2"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "drops",
               "bucket": {"name": STAGING_BUCKET, "arn": format!("arn:aws:s3:::{STAGING_BUCKET}")},
               "object": {"key": "drops/rhel-9.0/push.yaml", "size": 10}}}]});
    let aws_url = stack.var("AWS_ENDPOINT_URL").to_string();
    let (error, manual) = stack.invoke("vmpush-start-push", &event);
    assert_eq!(error, None, "{manual}");

    // THEN after all three events were handled, exactly one execution runs the push
    eventually(120, async || {
        let invocations = stack
            .get_json(&format!("{aws_url}/_local/invocations"))
            .await;
        let handled = invocations
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["function"] == "vmpush-start-push" && i["payload"]["Records"].is_array())
            .count();
        (handled >= 3).then_some(())
    })
    .await;
    let runs = executions(&stack, &machine);
    assert_eq!(runs.len(), 1, "{runs:?}");
    let name = runs[0]["name"].as_str().unwrap();
    assert!(
        name.starts_with("rhel-9.0-") && name.len() == "rhel-9.0-".len() + 8,
        "{name}"
    );
    assert_eq!(manual["pushes"][0]["execution_name"], name);
    let execution = stack.aws(&[
        "stepfunctions",
        "describe-execution",
        "--execution-arn",
        runs[0]["executionArn"].as_str().unwrap(),
    ]);
    let input: Value = serde_json::from_str(execution["input"].as_str().unwrap()).unwrap();
    assert_eq!(input["push_id"], "rhel-9.0");
    assert_eq!(
        input["sources"],
        json!([{"bucket": STAGING_BUCKET, "prefix": "drops/rhel-9.0"}])
    );
    assert_eq!(input["request"]["workflow"], "community");

    // AND an API request starts once; its repeat attaches to it
    let request = json!({"push_id": "api-1", "sources": ["staged:drops/rhel-9.0"], "workflow": "marketplace", "pre_push": true});
    let (error, first) = stack.invoke("vmpush-start-push", &request);
    assert_eq!(error, None, "{first}");
    let (_, again) = stack.invoke("vmpush-start-push", &request);
    assert_eq!(
        (first["status"].as_u64(), first["started"].as_bool()),
        (Some(202), Some(true))
    );
    assert_eq!(
        (again["status"].as_u64(), again["started"].as_bool()),
        (Some(200), Some(false))
    );
    assert_eq!(first["execution_arn"], again["execution_arn"]);
    assert_eq!(executions(&stack, &machine).len(), 2);

    // AND an invalid request is a typed error with a plain message naming the field, and
    // starts nothing
    let (error, body) = stack.invoke(
        "vmpush-start-push",
        &json!({"sources": ["staged:drops/x"], "workflow": "every"}),
    );
    assert!(
        error.is_some(),
        "a function error (moto labels it Handled, AWS Unhandled)"
    );
    assert_eq!(body["errorType"], "InvalidInput");
    assert_eq!(
        body["errorMessage"],
        "start-push input: push request: workflow: unknown variant `every`, expected one of `community`, `marketplace`, `all`"
    );
    assert_eq!(executions(&stack, &machine).len(), 2);
}
