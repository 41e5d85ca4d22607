use std::sync::Mutex;

use serde_json::Value;

use super::*;
use crate::payloads::*;
use crate::ports::memory::MemoryObjects;
use crate::steps::ErrorKind;

fn ledger(objects: &MemoryObjects) -> Ledger<'_, MemoryObjects> {
    Ledger {
        objects,
        bucket: "results",
    }
}

#[derive(Default)]
struct Sns {
    published: Mutex<Vec<Message>>,
    fail: Option<ErrorKind>,
    /// Throttles once the publish of the message at this index.
    throttle_once_at: Mutex<Option<usize>>,
}

impl Topic for Sns {
    async fn publish(&self, message: &Message) -> Result<String, StepError> {
        if let Some(kind) = self.fail {
            return Err(StepError::new(
                kind,
                "Publish arn:aws:sns:us-east-1:1:t: NotFound (HTTP 404): Topic does not exist",
            ));
        }
        let mut published = self.published.lock().unwrap();
        if *self.throttle_once_at.lock().unwrap() == Some(published.len()) {
            *self.throttle_once_at.lock().unwrap() = None;
            return Err(StepError::new(ErrorKind::Throttled, "Publish: Throttling"));
        }
        published.push(message.clone());
        Ok(format!("m-{}", published.len()))
    }
}

fn region(ami: Option<&str>, state: &str, public: bool) -> NoticeRegion {
    NoticeRegion {
        ami: ami.map(Into::into),
        snapshot: ami.map(|a| a.replace("ami", "snap")),
        state: state.into(),
        public,
    }
}

fn notice() -> PushNotice {
    PushNotice {
        disks: Vec::new(),
        event: "push-finished".into(),
        push_id: "p1".into(),
        workflow: "community".into(),
        state: "FAILED".into(),
        images: vec![NoticeImage {
            name: "RHEL-9.4_HVM_GA-20240501-x86_64-1-Hourly2-GP3".into(),
            source: "drops/p1/rhel.raw.xz".into(),
            sha256: Some("ab".repeat(32)),
            product: Some("RHEL_HOURLY".into()),
            billing_type: Some("hourly".into()),
            regions: [
                (
                    "us-east-1".to_string(),
                    region(Some("ami-1"), "PUSHED", true),
                ),
                ("eu-west-1".to_string(), region(None, "NOTPUSHED", false)),
            ]
            .into(),
        }],
        failures: vec![NoticeFailure {
            name: "RHEL-9.4_HVM_GA-20240501-x86_64-1-Hourly2-GP3".into(),
            region: "eu-west-1".into(),
            destination: "eu-west-1-hourly".into(),
            state: "NOTPUSHED".into(),
            reason: "CopySnapshot: UnauthorizedOperation".into(),
        }],
        error: None,
    }
}

#[tokio::test]
async fn one_structured_message_per_push_and_one_per_failure_when_asked() {
    let sns = Sns::default();
    let out = run(
        &sns,
        &ledger(&MemoryObjects::default()),
        &NotifyInput {
            notice: notice(),
            per_failure: true,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        out,
        NotifyOutput {
            delivered: true,
            message_ids: vec!["m-1".into(), "m-2".into()],
            error: None
        }
    );
    let published = sns.published.lock().unwrap();
    let first = &published[0];
    assert_eq!(first.subject, "vmpush: push p1 FAILED");
    let body: Value = serde_json::from_str(&first.body).unwrap();
    let document: Value = serde_json::from_str(body["default"].as_str().unwrap()).unwrap();
    assert_eq!(
        document["images"][0]["regions"]["us-east-1"],
        json!({"ami": "ami-1", "snapshot": "snap-1", "state": "PUSHED", "public": true})
    );
    assert_eq!(document, serde_json::to_value(notice()).unwrap());
    let email = body["email"].as_str().unwrap();
    assert!(
        email.starts_with("Push p1 (community): FAILED\n"),
        "{email}"
    );
    assert!(
        email.contains("  us-east-1        ami-1                  PUSHED, public\n"),
        "{email}"
    );
    assert!(email.contains("Not pushed:\n  RHEL-9.4_HVM_GA-20240501-x86_64-1-Hourly2-GP3 in eu-west-1: CopySnapshot: UnauthorizedOperation\n"), "{email}");
    assert_eq!(
        first.attributes,
        [
            ("event".to_string(), Attribute::Text("push-finished".into())),
            ("state".into(), Attribute::Text("FAILED".into())),
            ("workflow".into(), Attribute::Text("community".into())),
            (
                "product".into(),
                Attribute::List(vec!["RHEL_HOURLY".into()])
            ),
        ]
    );
    assert_eq!(
        published[1].subject,
        "vmpush: RHEL-9.4_HVM_GA-20240501-x86_64-1-Hourly2-GP3 NOTPUSHED in eu-west-1"
    );
    assert_eq!(
        published[1].attributes[0],
        (
            "event".to_string(),
            Attribute::Text("destination-failed".into())
        )
    );
}

#[tokio::test]
async fn a_failing_topic_is_reported_not_raised_unless_retryable() {
    let input = NotifyInput {
        notice: notice(),
        per_failure: false,
    };
    let broken = Sns {
        fail: Some(ErrorKind::NotFound),
        ..Sns::default()
    };
    let objects = MemoryObjects::default();
    let out = run(&broken, &ledger(&objects), &input).await.unwrap();
    assert!(!out.delivered);
    assert!(out.error.unwrap().contains("Topic does not exist"));
    let throttled = Sns {
        fail: Some(ErrorKind::Throttled),
        ..Sns::default()
    };
    assert_eq!(
        run(&throttled, &ledger(&objects), &input)
            .await
            .unwrap_err()
            .kind,
        ErrorKind::Throttled
    );
}

/// A retry after the second message was throttled sends the second only; a re-run of the push
/// with the same outcome sends nothing; another outcome is a new message.
#[tokio::test]
async fn a_retried_or_repeated_notice_sends_each_message_once() {
    let sns = Sns {
        throttle_once_at: Mutex::new(Some(1)),
        ..Sns::default()
    };
    let objects = MemoryObjects::default();
    let input = NotifyInput {
        notice: notice(),
        per_failure: true,
    };
    let err = run(&sns, &ledger(&objects), &input).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Throttled);
    assert_eq!(sns.published.lock().unwrap().len(), 1);
    let out = run(&sns, &ledger(&objects), &input).await.unwrap();
    assert_eq!(out.message_ids, ["m-1", "m-2"]);
    assert_eq!(
        sns.published.lock().unwrap().len(),
        2,
        "the first is not sent again"
    );
    let keys = objects.keys("results");
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(
        keys.iter()
            .all(|k| k.starts_with("results/p1/notified/") && k.ends_with(".json"))
    );

    let again = run(&sns, &ledger(&objects), &input).await.unwrap();
    assert_eq!(again.message_ids, ["m-1", "m-2"]);
    assert_eq!(sns.published.lock().unwrap().len(), 2);

    let mut pushed = input.clone();
    pushed.notice.state = "SUCCEEDED".into();
    pushed.per_failure = false;
    let out = run(&sns, &ledger(&objects), &pushed).await.unwrap();
    assert_eq!(out.message_ids, ["m-3"]);
}

#[tokio::test]
async fn the_stored_notice_is_read_from_the_results_bucket_and_notified() {
    let body = serde_json::to_vec(&notice()).unwrap();
    let objects = MemoryObjects::with("results", "results/p1/notice.json", &body);
    let sns = Sns::default();
    let request = NotifyRequest {
        notice: "results/p1/notice.json".into(),
        per_failure: false,
    };
    let out = notify(&sns, &ledger(&objects), &request).await.unwrap();
    assert!(out.delivered);
    let published = sns.published.lock().unwrap().clone();
    assert_eq!(published.len(), 1);
    let direct = messages(&NotifyInput {
        notice: notice(),
        per_failure: false,
    });
    assert_eq!(published[0], direct[0]);
    // a key holding no notice is an error naming it
    let request = NotifyRequest {
        notice: "results/p1/notified/x.json".into(),
        per_failure: false,
    };
    objects
        .put(
            "results",
            &request.notice,
            b"{}".to_vec(),
            "application/json",
        )
        .await
        .unwrap();
    let err = notify(&sns, &ledger(&objects), &request).await.unwrap_err();
    assert!(
        err.message
            .starts_with("s3://results/results/p1/notified/x.json: not a push notice"),
        "{err}"
    );
}
