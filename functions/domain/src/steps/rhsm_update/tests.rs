use std::sync::Mutex;
use std::time::{Duration, UNIX_EPOCH};

use super::*;
use crate::payloads::*;
use crate::ports::*;

/// RHSM in memory: known AMIs, and every call with its body.
#[derive(Default)]
struct Fake {
    known: Mutex<Vec<String>>,
    calls: Mutex<Vec<(&'static str, Value)>>,
    region_fails: bool,
}

impl RhsmWrites for Fake {
    async fn create_region(&self, body: &Value) -> Result<Reply, StepError> {
        self.calls
            .lock()
            .unwrap()
            .push(("POST regions", body.clone()));
        Ok(if self.region_fails {
            Reply {
                status: 400,
                body: "bad provider".into(),
            }
        } else {
            Reply {
                status: 200,
                body: String::new(),
            }
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
            status: if known { 200 } else { 404 },
            body: String::new(),
        })
    }
    async fn create_ami(&self, body: &Value) -> Result<Reply, StepError> {
        self.calls.lock().unwrap().push(("POST amis", body.clone()));
        self.known
            .lock()
            .unwrap()
            .push(body["amiID"].as_str().unwrap().to_string());
        Ok(Reply {
            status: 200,
            body: String::new(),
        })
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
        region_fails: true,
        ..Fake::default()
    };
    let err = run(&rhsm, &input(false, Some("RHEL_HOURLY")), UNIX_EPOCH + AT)
        .await
        .unwrap_err();
    assert_eq!(
        err.message,
        "Failed creating region us-east-1 for image ami-1: HTTP 400 bad provider"
    );
}
