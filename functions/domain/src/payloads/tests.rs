//! Every payload travels as JSON and reads back the same: what the state machine passes
//! between steps is exactly what the types say.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::*;

/// `document` read as `T` and written back is `document` again.
fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(document: Value) -> T {
    let typed: T =
        serde_json::from_value(document.clone()).unwrap_or_else(|e| panic!("{document}: {e}"));
    assert_eq!(serde_json::to_value(&typed).unwrap(), document);
    let again: T = serde_json::from_value(serde_json::to_value(&typed).unwrap()).unwrap();
    assert_eq!(again, typed);
    typed
}

fn destination() -> Value {
    let name = "RHEL-9.0.0_HVM_GA-20250101-x86_64-10-Hourly2-GP3";
    json!({
        "account": "aws-us-storage", "provider": "AWS", "destination": "us-east-1-hourly",
        "region": "us-east-1", "partition": "aws", "billing_type": "hourly", "ami_name": name,
        "image_name": name, "billing_codes": {"name": "Hourly2", "codes": ["bp-6fa54006"]},
        "public": true, "rhsm_product": "RHEL_HOURLY", "rhsm_provider": "AWS",
        "architecture": "x86_64", "boot_mode": "uefi-preferred", "volume": "gp3",
        "bucket": "redhat-cloudimg-us-east-1", "sharing_accounts": ["111122223333"],
        "snapshot_accounts": [], "groups": [], "tags": {"nvra": "rhel-ec2-9.0-10.x86_64"},
        "description": "Provided by Red Hat, Inc.", "virtualization": "hvm",
        "root_device": "/dev/sda1", "ena_support": true, "sriov_net_support": "simple",
        "release": {"product": "RHEL", "date": "20250101", "arch": "x86_64", "respin": 10,
                    "version": "9.0", "base_product": null, "base_version": null,
                    "variant": null, "type": "ga"},
        "marketplace": null})
}

fn upload_work() -> Value {
    json!({"id": "up-0a1b2c3d4e5f", "account": "aws-us-storage", "region": "us-east-1",
           "bucket": "redhat-cloudimg-us-east-1", "source_bucket": "vmpush-staging",
           "source_key": "drops/p1/x.raw.xz", "size": 16, "sha256": "ab".repeat(32),
           "format": "raw", "tags": [["awspub:source:filename", "x.raw.xz"]],
           "build": {"name": "rhel-ec2", "version": "9.0", "release": "10"},
           "imports": [{"id": "im-0a1b2c3d4e5f", "billing_codes": ["bp-6fa54006"],
                        "surveyed": "snap-1", "absent": false, "copies": [
               {"id": "cp-0a1b2c3d4e5f", "region": "us-east-1", "surveyed": "snap-1", "absent": false,
                "snapshot_tags": [], "destinations": [
                   {"id": "ds-0a1b2c3d4e5f", "source": "x.raw.xz", "destination": destination(),
                    "surveyed": {"image": {"id": "ami-1", "state": "available",
                                           "snapshot_id": "snap-1", "public": false},
                                 "sharing_blocked": false, "launch_users": ["111122223333"],
                                 "volume_users": []}}]}]}]})
}

#[test]
fn the_work_list_and_the_upload() {
    let work: WorkList = round_trip(json!({"push_id": "p1", "uploads": [upload_work()],
        "skipped": [{"source": "sap.raw.xz", "destination": "us-east-1-access",
                     "reason": "pushed only to hourly destinations"}],
        "credentials_version": "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"}));
    assert_eq!(
        work.credentials_version.as_deref(),
        Some("a1b2c3d4-5678-90ab-cdef-EXAMPLE11111")
    );
    let leaf = work.leaves().next().unwrap();
    assert_eq!(
        leaf.lineage(),
        [
            "ds-0a1b2c3d4e5f",
            "cp-0a1b2c3d4e5f",
            "im-0a1b2c3d4e5f",
            "up-0a1b2c3d4e5f"
        ]
    );
    let mut input = upload_work();
    input["continuation"] =
        json!({"sha256": "cd".repeat(32), "upload_id": "u1", "parts_stored": 3});
    input["max_parts"] = json!(2);
    let input: UploadInput = round_trip(input);
    assert_eq!(input.work.id, "up-0a1b2c3d4e5f");
    round_trip::<UploadOutput>(json!({"id": "up-0a1b2c3d4e5f", "status": "continue",
        "account": "aws-us-storage", "region": "us-east-1", "bucket": "b", "key": "k",
        "sha256": "k", "format": "vmdk", "skipped": false, "size": null,
        "parts": {"uploaded": 2, "copied": 0, "reused": 1},
        "continuation": {"sha256": "k", "upload_id": "u1", "parts_stored": 3},
        "tags": [["awspub:source:sha256", "k"]]}));
}

#[test]
fn import_copy_publish_and_rhsm() {
    round_trip::<ImportInput>(
        json!({"id": "im-1", "action": "check", "account": "aws-us-gov-storage", "region": "us-gov-west-1",
        "bucket": "b", "key": "k", "sha256": "k", "format": "raw", "billing_codes": ["bp-1"],
        "tags": [["nvra", "x"]], "task_id": "import-snap-1",
        "pacing": {"poll_seconds": 30, "progress": "45", "waited": 30}}),
    );
    let start: ImportInput = round_trip(
        json!({"id": "im-1", "action": "start", "account": "aws-us-storage", "region": "us-east-1",
        "bucket": "b", "key": "k", "sha256": "k", "format": "raw", "billing_codes": [],
        "tags": [], "task_id": null, "surveyed": "snap-1",
        "pacing": {"poll_seconds": 30, "progress": null, "waited": null}}),
    );
    assert_eq!(start.surveyed.as_deref(), Some("snap-1"));
    round_trip::<ImportOutput>(
        json!({"id": "im-1", "status": "active", "snapshot_name": "s",
        "task_id": "import-snap-1", "snapshot_id": null, "progress": "45",
        "message": "converting", "started": true, "wait_seconds": 60}),
    );
    round_trip::<CopyInput>(
        json!({"id": "cp-1", "action": "check", "account": "aws-us-storage", "source_region": "us-east-1",
        "snapshot_id": "snap-1", "snapshot_name": "s", "region": "eu-west-1",
        "tags": [["nvra", "x"]], "copy_snapshot_id": "snap-2", "started": true,
        "pacing": {"poll_seconds": 30, "progress": null, "waited": null}}),
    );
    round_trip::<CopyOutput>(
        json!({"id": "cp-1", "status": "completed", "snapshot_name": "s",
        "region": "eu-west-1", "snapshot_id": "snap-2", "progress": null, "started": true}),
    );
    for action in ["share", "release"] {
        round_trip::<PublishInput>(json!({"id": "ds-1", "action": action,
            "destination": destination(), "snapshot_id": "snap-2", "pre_push": false,
            "public_snapshot": false, "tags": [["nvra", "x"]]}));
    }
    let handed = round_trip::<PublishInput>(json!({"id": "ds-1", "action": "release",
        "destination": destination(), "snapshot_id": "snap-2", "pre_push": false,
        "public_snapshot": false, "tags": [], "ami": "ami-1", "public": true}));
    assert_eq!(
        (handed.ami.as_deref(), handed.public),
        (Some("ami-1"), true)
    );
    let mut featured = destination();
    featured["features"] = json!({"tpm_support": "v2.0", "imds_support": "v2.0",
        "uefi_data": "QU1aTlVFRkk=", "root_device_volume_size": 20});
    let typed = round_trip::<PublishInput>(json!({"id": "ds-1", "action": "share",
        "destination": featured, "snapshot_id": "snap-2", "pre_push": false,
        "public_snapshot": false, "tags": []}));
    assert_eq!(typed.destination.features.root_device_volume_size, Some(20));
    round_trip::<PublishOutput>(json!({"id": "ds-1", "ami": "ami-1", "name": "n",
        "region": "us-east-1", "snapshot": "snap-2", "created": true, "public": false,
        "release": true, "version": false, "shared_with": ["111122223333"], "snapshot_shared_with": []}));
    round_trip::<RhsmInput>(
        json!({"id": "ds-1", "destination": destination(), "ami": "ami-1",
        "pre_push": false}),
    );
    round_trip::<RhsmOutput>(json!({"id": "ds-1", "action": "created", "ami": "ami-1",
        "product": "RHEL_HOURLY"}));
}

#[test]
fn summarize_and_notify() {
    let notice = json!({"event": "push-finished", "push_id": "p1", "workflow": "community",
        "state": "FAILED",
        "images": [{"name": "n", "source": "s3://s/x.raw.xz", "sha256": "k", "product": "RHEL_HOURLY",
                    "billing_type": "hourly",
                    "regions": {"us-east-1": {"ami": "ami-1", "snapshot": "snap-1", "state": "PUSHED", "public": true}}}],
        "failures": [{"name": "n", "region": "eu-west-1", "destination": "eu-west-1-hourly",
                      "state": "NOTPUSHED", "reason": "denied"}]});
    let stored = "results/p1/runs/p1-0a1b2c3d/outcomes/up-0a1b2c3d4e5f.json";
    let index = json!({"push_id": "p1", "stored": "results/p1/runs/p1-0a1b2c3d/work.json",
        "uploads": [{"id": "up-0a1b2c3d4e5f",
                     "work": "results/p1/runs/p1-0a1b2c3d/uploads/up-0a1b2c3d4e5f.json",
                     "execution": "up-0a1b2c3d4e5f-0123456789abcdef", "outcomes": stored}],
        "azure_uploads": [], "azure_offers": [], "credentials_version": null});
    let request: SummaryRequest = round_trip(json!({"workflow": "community", "push_id": "p1",
        "work": index,
        "outcomes": [[{"id": "up-0a1b2c3d4e5f", "ami": null, "snapshot": null, "sha256": null,
                       "public": false, "failed_at": null, "error": null, "failure": null,
                       "stored": stored}],
                     {"id": "up-1a1b2c3d4e5f", "ami": null, "snapshot": null, "sha256": null,
                      "public": false, "failed_at": "upload", "error": null,
                      "failure": {"Error": "States.Timeout", "Cause": "timed out"}}],
        "failure": null}));
    let ids: Vec<(&str, Option<&str>)> = request
        .outcomes
        .iter()
        .flat_map(Outcomes::flatten)
        .map(|o| (o.id.as_str(), o.stored.as_deref()))
        .collect();
    assert_eq!(
        ids,
        [("up-0a1b2c3d4e5f", Some(stored)), ("up-1a1b2c3d4e5f", None)]
    );
    let input: SummaryInput = round_trip(json!({"workflow": "community", "push_id": "p1",
        "work": {"push_id": "p1", "uploads": [upload_work()], "skipped": [],
                 "credentials_version": null},
        "outcomes": [[[[{"id": "ds-0a1b2c3d4e5f", "ami": "ami-1", "snapshot": "snap-1",
                         "sha256": "k", "public": true, "failed_at": null, "error": null,
                         "failure": null}]]]],
        "failure": null}));
    assert_eq!(input.outcomes[0].flatten()[0].id, "ds-0a1b2c3d4e5f");
    round_trip::<SummaryOutput>(json!({"location": "s3://r/results/p1/",
        "verdict": {"push_id": "p1", "workflow": "community", "state": "FAILED", "error": null,
                    "location": "s3://r/results/p1/"},
        "notice": "results/p1/notice.json"}));
    round_trip::<NotifyInput>(json!({"notice": notice, "per_failure": true}));
    round_trip::<NotifyRequest>(json!({"notice": "results/p1/notice.json", "per_failure": true}));
    round_trip::<NotifyOutput>(json!({"delivered": true, "message_ids": ["m-1"], "error": null}));
}

#[test]
fn start_push() {
    round_trip::<StartedPushes>(json!({"pushes": [
        {"status": 202, "push_id": "p1", "execution_name": "p1-0a1b2c3d",
         "execution_arn": "arn:aws:states:us-east-1:1:execution:m:p1-0a1b2c3d", "started": true},
        {"status": 400, "push_id": "p2", "execution_name": "p2-0a1b2c3d",
         "execution_arn": "arn:aws:states:us-east-1:1:execution:m:p2-0a1b2c3d", "started": false,
         "error": "push.yaml: workflow: unknown variant `all`"}]}));
}

#[test]
fn a_status_travels_as_json_and_reads_back_the_same() {
    let steps = [
        Step::Waiting,
        Step::Uploading,
        Step::Importing(None),
        Step::Importing(Some("40".into())),
        Step::Copying,
        Step::Publishing,
        Step::Rhsm,
        Step::Done("ami-0123".into()),
        Step::Failed("vmpush.Denied: UnauthorizedOperation".into()),
    ];
    let status = PushStatus {
        push_id: "p1".into(),
        execution_arn: "arn:aws:states:us-east-1:1:execution:m:p1-0a1b2c3d".into(),
        status: "RUNNING".into(),
        error: None,
        cause: None,
        progress: steps
            .iter()
            .map(|step| Progress {
                name: "rhel-9".into(),
                region: "us-east-1".into(),
                destination: "access".into(),
                step: step.clone(),
            })
            .collect(),
        result: None,
    };
    let json = serde_json::to_value(&status).unwrap();
    assert_eq!(json["progress"][3]["step"], "importing 40%");
    assert_eq!(json["progress"][7]["step"], "done ami-0123");
    assert_eq!(
        json["progress"][8]["step"],
        "failed: vmpush.Denied: UnauthorizedOperation"
    );
    let back: PushStatus = serde_json::from_value(json).unwrap();
    assert_eq!(back, status);
    assert!(back.running());
    let ended: PushStatus = serde_json::from_value(json!({"push_id": "p1",
        "execution_arn": "a", "status": "SUCCEEDED", "result": {"state": "PUSHED"}}))
    .unwrap();
    assert!(!ended.running() && ended.progress.is_empty());
}
