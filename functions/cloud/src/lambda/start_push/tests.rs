use serde_json::json;
use vmpush_domain::ports::memory::{MemoryExecutions, MemoryObjects};
use vmpush_domain::steps::ErrorKind;

use super::*;

fn event(value: Value) -> StartEvent {
    crate::lambda::decode("start-push", value).unwrap()
}

/// An S3 notification as S3 sends it (and the local stack's launcher, which completes moto's).
fn s3_event(keys: &[&str]) -> Value {
    let records: Vec<Value> = keys
        .iter()
        .map(|key| {
            json!({"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
            "eventTime": "2026-11-21T09:00:00.000Z", "eventName": "ObjectCreated:Put",
            "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
            "requestParameters": {"sourceIPAddress": "127.0.0.1"},
            "responseElements": {"x-amz-request-id": "1", "x-amz-id-2": "2"},
            "s3": {"s3SchemaVersion": "1.0", "configurationId": "drops",
                   "bucket": {"name": "staging", "arn": "arn:aws:s3:::staging",
                              "ownerIdentity": {"principalId": "A1"}},
                   "object": {"key": key, "size": 10, "eTag": "e"}}})
        })
        .collect();
    json!({"Records": records})
}

fn post(body: &str) -> Value {
    json!({"resource": "/pushes", "path": "/pushes", "httpMethod": "POST", "headers": null,
           "multiValueHeaders": null, "queryStringParameters": null,
           "multiValueQueryStringParameters": null, "pathParameters": null, "stageVariables": null,
           "requestContext": {"accountId": "123456789012", "apiId": "vmpushapi", "stage": "v1",
                              "httpMethod": "POST", "resourcePath": "/pushes",
                              "requestId": "r-1", "requestTimeEpoch": 1,
                              "identity": {"sourceIp": "127.0.0.1"}},
           "body": body, "isBase64Encoded": false})
}

#[tokio::test]
async fn a_drop_notification_starts_its_push_with_the_key_decoded() {
    let objects = MemoryObjects::with(
        "staging",
        "drops/rhel-9/push.yaml",
        b"workflow: community\nstarmap: {mode: online}\n",
    );
    let machine = MemoryExecutions::default();
    let reply = event(s3_event(&[
        "drops/rhel-9/push.yaml",
        "drops/rhel-9/x%2By/resources.yaml",
    ]))
    .handle(&objects, &machine, at(None))
    .await
    .unwrap();
    let StartReply::Pushes(pushes) = reply else {
        panic!("an S3 event gets the pushes: {reply:?}")
    };
    let pushed: Vec<(&str, u16)> = pushes
        .pushes
        .iter()
        .map(|p| (p.push_id.as_str(), p.status))
        .collect();
    assert_eq!(pushed, [("rhel-9", 202)]);
    // keys are decoded before they are read
    let err = event(s3_event(&["drops/rhel+9/push.yaml"]))
        .handle(&objects, &machine, at(None))
        .await
        .unwrap_err();
    assert!(
        err.message
            .starts_with("drops/rhel 9/push.yaml: 'rhel 9' is not a valid push id"),
        "{}",
        err.message
    );
    assert_eq!(decode_key("drops/a+b%2Fc"), "drops/a b/c");
}

#[tokio::test]
async fn the_api_answers_with_http_responses() {
    let machine = MemoryExecutions::default();
    let objects = MemoryObjects::default();
    let request =
        r#"{"push_id": "api-1", "sources": ["staged:s3://b/p"], "starmap": {"mode": "online"}}"#;
    let answer = |reply: StartReply| serde_json::to_value(reply).unwrap();
    let out = answer(
        event(post(request))
            .handle(&objects, &machine, at(None))
            .await
            .unwrap(),
    );
    assert_eq!(out["statusCode"], 202);
    let body: Value = serde_json::from_str(out["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        (body["push_id"].as_str(), body["started"].as_bool()),
        (Some("api-1"), Some(true))
    );
    let again = answer(
        event(post(request))
            .handle(&objects, &machine, at(None))
            .await
            .unwrap(),
    );
    assert_eq!(again["statusCode"], 200);
    let bad = answer(
        event(post(r#"{"workflow": "every"}"#))
            .handle(&objects, &machine, at(None))
            .await
            .unwrap(),
    );
    assert_eq!(bad["statusCode"], 400);
    let body: Value = serde_json::from_str(bad["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        body,
        json!({"status": 400, "error": "InvalidInput",
               "message": "request body: workflow: unknown variant `every`, expected one of `community`, `marketplace`, `all` at line 1 column 20"})
    );
    assert_eq!(machine.started().len(), 1);
}

#[tokio::test]
async fn a_direct_request_starts_once_and_a_bad_one_names_its_field() {
    let machine = MemoryExecutions::default();
    let request =
        json!({"push_id": "p1", "sources": ["staged:drops/p1"], "workflow": "marketplace"});
    let reply = event(request.clone())
        .handle(&MemoryObjects::default(), &machine, at(Some("staging")))
        .await
        .unwrap();
    let StartReply::Started(started) = reply else {
        panic!("a request gets its push: {reply:?}")
    };
    assert_eq!((started.status, started.started), (202, true));
    let bad = crate::lambda::decode::<StartEvent>(
        "start-push",
        json!({"sources": ["staged:s3://b/p"], "workflow": "every"}),
    )
    .unwrap_err();
    assert_eq!(
        (bad.kind, bad.message.as_str()),
        (
            ErrorKind::InvalidInput,
            "start-push input: push request: workflow: unknown variant `every`, expected one of `community`, `marketplace`, `all`"
        )
    );
    let broken =
        crate::lambda::decode::<StartEvent>("start-push", json!({"Records": [{"s3": {}}]}))
            .unwrap_err();
    assert!(
        broken
            .message
            .starts_with("start-push input: S3 event: Records[0]"),
        "{}",
        broken.message
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 10_000,
        failure_persistence: None,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x5eed_0002),
        ..proptest::prelude::ProptestConfig::default()
    })]

    /// Whatever an API body holds, the API answers a response (an error is a 4xx with one
    /// line), starting nothing it should not; whatever a notification's keys are, the event
    /// is handled without a panic.
    #[test]
    fn api_bodies_and_s3_keys_never_panic(
        body in "[-:{}\\[\\],\"' a-z0-9_./\n]{0,120}",
        key in "[-a-z0-9%+/._]{0,60}",
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            let machine = MemoryExecutions::default();
            let objects = MemoryObjects::default();
            let reply = event(post(&body)).handle(&objects, &machine, at(Some("staging"))).await;
            let Ok(StartReply::Api(response)) = reply else {
                panic!("the API always answers: {reply:?}");
            };
            if response.status_code >= 400 {
                assert!(response.status_code < 500, "{response:?}");
            }
            let _ = event(s3_event(&[&key])).handle(&objects, &machine, at(None)).await;
        });
    }
}

/// The deployment of the tests: staging bucket `staging` (or none), one StArMap server listed
/// besides the default.
fn at(
    staging_bucket: Option<&'static str>,
) -> vmpush_domain::steps::start_push::Deployment<'static> {
    static SERVERS: std::sync::LazyLock<vmpush_domain::inputs::push::StarmapServers> =
        std::sync::LazyLock::new(|| {
            vmpush_domain::inputs::push::StarmapServers::new(
                None,
                Some("https://starmap.example.com"),
            )
        });
    vmpush_domain::steps::start_push::Deployment {
        staging_bucket,
        starmap: &SERVERS,
    }
}
