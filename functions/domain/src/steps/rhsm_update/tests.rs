use std::sync::Mutex;
use std::time::{Duration, UNIX_EPOCH};

use super::*;
use crate::payloads::*;
use crate::ports::*;
use crate::steps::ErrorKind;

/// RHSM in memory: known AMIs, and every call with its body.
#[derive(Default)]
struct Fake {
    known: Mutex<Vec<String>>,
    calls: Mutex<Vec<(&'static str, Value)>>,
    /// The status of the region's POST (default 200).
    region_status: Option<u16>,
    /// The status of every PUT, when it is not RHSM's own (200 known, 404 unknown).
    update_status: Option<u16>,
    /// The AMI's POST: whether RHSM applies it, and the answer the step gets (default: applied,
    /// 200).
    create: Option<(bool, Result<Reply, StepError>)>,
}

impl RhsmWrites for Fake {
    async fn create_region(&self, body: &Value) -> Result<Reply, StepError> {
        self.calls
            .lock()
            .unwrap()
            .push(("POST regions", body.clone()));
        let status = self.region_status.unwrap_or(200);
        Ok(Reply {
            status,
            body: if status == 200 { "" } else { "bad provider" }.into(),
        })
    }
    async fn update_ami(&self, body: &Value) -> Result<Reply, StepError> {
        self.calls.lock().unwrap().push(("PUT amis", body.clone()));
        let known = self
            .known
            .lock()
            .unwrap()
            .contains(&body["amiID"].as_str().unwrap().to_string());
        Ok(Reply {
            status: self.update_status.unwrap_or(if known { 200 } else { 404 }),
            body: String::new(),
        })
    }
    async fn create_ami(&self, body: &Value) -> Result<Reply, StepError> {
        self.calls.lock().unwrap().push(("POST amis", body.clone()));
        let (applied, answer) = self.create.clone().unwrap_or((
            true,
            Ok(Reply {
                status: 200,
                body: String::new(),
            }),
        ));
        if applied {
            self.known
                .lock()
                .unwrap()
                .push(body["amiID"].as_str().unwrap().to_string());
        }
        answer
    }
}

fn input(pre_push: bool, product: Option<&str>) -> RhsmInput {
    let destination = json!({
        "account": "aws-us-storage", "provider": "AWS", "destination": "us-east-1-hourly",
        "region": "us-east-1", "partition": "aws", "billing_type": "hourly",
        "ami_name": "RHEL-9.4_HVM_GA-20240501-x86_64-1-Hourly2-GP3",
        "image_name": "RHEL-9.4_HVM_GA-20240501-x86_64-1-Hourly2-GP3", "billing_codes": null,
        "public": true, "rhsm_product": product, "rhsm_provider": "AWS",
        "architecture": "x86_64", "boot_mode": null, "volume": null, "bucket": "b",
        "sharing_accounts": [], "snapshot_accounts": [], "groups": [], "tags": {},
        "description": null, "virtualization": null, "root_device": null, "ena_support": null,
        "sriov_net_support": null,
        "release": {"product": "RHEL", "date": "20240501", "arch": "x86_64", "respin": 1,
                    "version": "9.4", "base_product": null, "base_version": null,
                    "variant": null, "type": "ga"},
        "marketplace": null});
    RhsmInput {
        id: "ds-0123456789ab".into(),
        destination: serde_json::from_value(destination).unwrap(),
        ami: "ami-1".into(),
        pre_push,
    }
}

const AT: Duration = Duration::from_secs(1_795_247_097);

#[tokio::test]
async fn a_new_ami_gets_its_region_and_the_exact_bodies_then_updates_only() {
    let rhsm = Fake::default();
    let out = run(&rhsm, &input(false, Some("RHEL_HOURLY")), UNIX_EPOCH + AT)
        .await
        .unwrap();
    assert_eq!(out.action, RhsmAction::Created);
    let body = json!({"amiID": "ami-1", "arch": "x86_64", "product": "RHEL_HOURLY", "version": "9.4",
        "variant": "none", "description": "Released RHEL-9.4_HVM_GA-20240501-x86_64-1-Hourly2-GP3 on 2026-11-21T07:44:57+00:00",
        "status": "VISIBLE"});
    let mut create = body.clone();
    create["region"] = json!("us-east-1");
    assert_eq!(
        *rhsm.calls.lock().unwrap(),
        [
            ("PUT amis", body.clone()),
            (
                "POST regions",
                json!({"regionID": "us-east-1", "providerShortname": "AWS"})
            ),
            ("POST amis", create),
        ]
    );
    rhsm.calls.lock().unwrap().clear();
    let again = run(&rhsm, &input(false, Some("RHEL_HOURLY")), UNIX_EPOCH + AT)
        .await
        .unwrap();
    assert_eq!(again.action, RhsmAction::Updated);
    assert_eq!(*rhsm.calls.lock().unwrap(), [("PUT amis", body)]);
}

#[tokio::test]
async fn pre_push_and_products_without_rhsm_write_nothing() {
    let rhsm = Fake::default();
    for i in [input(true, Some("RHEL_HOURLY")), input(false, None)] {
        assert_eq!(
            run(&rhsm, &i, UNIX_EPOCH + AT).await.unwrap().action,
            RhsmAction::Skipped
        );
    }
    assert!(rhsm.calls.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_refused_region_fails_with_rhsm_s_answer() {
    let rhsm = Fake {
        region_status: Some(400),
        ..Fake::default()
    };
    let err = run(&rhsm, &input(false, Some("RHEL_HOURLY")), UNIX_EPOCH + AT)
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind, err.message.as_str()),
        (
            ErrorKind::Fatal,
            "Failed creating region us-east-1 for image ami-1: HTTP 400 bad provider"
        )
    );
    // a 5xx is RHSM's trouble: retried, from the PUT
    let rhsm = Fake {
        region_status: Some(503),
        ..Fake::default()
    };
    let err = run(&rhsm, &input(false, Some("RHEL_HOURLY")), UNIX_EPOCH + AT)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transient, "{err:?}");
    // a 429 is throttling: retried too
    let rhsm = Fake {
        region_status: Some(429),
        ..Fake::default()
    };
    let err = run(&rhsm, &input(false, Some("RHEL_HOURLY")), UNIX_EPOCH + AT)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Throttled, "{err:?}");
}

/// A throttled or failing PUT says nothing of whether RHSM knows the AMI: the step is retried
/// without creating anything (a known AMI would otherwise get a second create).
#[tokio::test]
async fn a_throttled_or_failing_update_creates_nothing() {
    for (status, kind) in [(429, ErrorKind::Throttled), (503, ErrorKind::Transient)] {
        let rhsm = Fake {
            update_status: Some(status),
            ..Fake::default()
        };
        let err = run(&rhsm, &input(false, Some("RHEL_HOURLY")), UNIX_EPOCH + AT)
            .await
            .unwrap_err();
        assert_eq!(
            (err.kind, err.message.as_str()),
            (
                kind,
                format!("Failed updating image ami-1 in RHSM: HTTP {status}").as_str()
            )
        );
        let calls: Vec<&str> = rhsm.calls.lock().unwrap().iter().map(|(c, _)| *c).collect();
        assert_eq!(calls, ["PUT amis"]);
    }
}

/// The AMI's POST is sent once per run: a lost or conflicting answer is settled by reading the
/// AMI back (PUT), never by posting again.
#[tokio::test]
async fn a_lost_create_answer_is_read_back_never_posted_twice() {
    let timeout = StepError::new(ErrorKind::Transient, "POST amis: operation timed out");
    let conflict = Reply {
        status: 409,
        body: "exists".into(),
    };
    let unavailable = Reply {
        status: 503,
        body: "unavailable".into(),
    };
    for (applied, answer, expected) in [
        (true, Err(timeout.clone()), Ok(RhsmAction::Created)),
        (true, Ok(conflict), Ok(RhsmAction::Created)),
        (true, Ok(unavailable.clone()), Ok(RhsmAction::Created)),
        (
            false,
            Err(timeout),
            Err(
                "Failed creating image ami-1 in RHSM: POST amis: operation timed out; RHSM does not know it",
            ),
        ),
        (
            false,
            Ok(unavailable),
            Err("Failed creating image ami-1 in RHSM: HTTP 503 unavailable; RHSM does not know it"),
        ),
    ] {
        let rhsm = Fake {
            create: Some((applied, answer)),
            ..Fake::default()
        };
        let out = run(&rhsm, &input(false, Some("RHEL_HOURLY")), UNIX_EPOCH + AT).await;
        match expected {
            Ok(action) => assert_eq!(out.unwrap().action, action),
            Err(message) => {
                let err = out.unwrap_err();
                assert_eq!(
                    (err.kind, err.message.as_str()),
                    (ErrorKind::Transient, message)
                );
            }
        }
        let calls: Vec<&str> = rhsm.calls.lock().unwrap().iter().map(|(c, _)| *c).collect();
        assert_eq!(calls, ["PUT amis", "POST regions", "POST amis", "PUT amis"]);
    }
}
