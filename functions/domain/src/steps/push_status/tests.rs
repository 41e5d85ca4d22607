use serde_json::json;

use super::*;

fn destination(region: &str, billing: &str) -> Value {
    let name = format!("RHEL-9.0.0_HVM_GA-20250101-x86_64-10-{billing}2-GP3");
    json!({
        "account": "aws-us-storage", "provider": "AWS", "destination": format!("{region}-{billing}"),
        "region": region, "partition": "aws", "billing_type": billing, "ami_name": name,
        "image_name": name, "billing_codes": null, "public": false, "rhsm_product": null,
        "rhsm_provider": null, "architecture": "x86_64", "boot_mode": null, "volume": "gp3",
        "bucket": "b", "sharing_accounts": [], "snapshot_accounts": [], "groups": [], "tags": {},
        "description": null, "virtualization": null, "root_device": null, "ena_support": null,
        "sriov_net_support": null,
        "release": {"product": "RHEL", "date": "20250101", "arch": "x86_64", "respin": 10,
                    "version": "9.0", "base_product": null, "base_version": null,
                    "variant": null, "type": "ga"},
        "marketplace": null})
}

/// One upload, imported for Hourly (us-east-1, eu-west-1) and Access (us-east-1).
fn work() -> WorkList {
    let dest = |r: &str, b: &str| json!({"source": "x.raw.xz", "destination": destination(r, b)});
    serde_json::from_value(json!({
        "push_id": "p1", "skipped": [],
        "uploads": [{"account": "a", "region": "us-east-1", "bucket": "b", "source_bucket": "s",
                     "source_key": "drops/p1/x.raw.xz", "size": null, "sha256": null, "format": "raw",
                     "imports": [
                        {"billing_codes": ["bp-h"], "copies": [
                            {"region": "us-east-1", "destinations": [dest("us-east-1", "Hourly")]},
                            {"region": "eu-west-1", "destinations": [dest("eu-west-1", "Hourly")]}]},
                        {"billing_codes": ["bp-a"], "copies": [
                            {"region": "us-east-1", "destinations": [dest("us-east-1", "Access")]}]}]}]}))
    .unwrap()
}

fn call(function: &str, input: Value, end: Option<CallEnd>) -> Call {
    Call {
        function: function.into(),
        input,
        end,
    }
}

fn ok(output: Value) -> Option<CallEnd> {
    Some(CallEnd::Succeeded(output))
}

fn steps(calls: &[Call]) -> Vec<String> {
    progress(&work(), calls)
        .iter()
        .map(|p| format!("{} {}", p.destination, p.step))
        .collect()
}

fn publish(region: &str, billing: &str) -> Value {
    json!({"destination": destination(region, billing)})
}

#[test]
fn each_destination_shows_the_step_it_is_at() {
    assert_eq!(
        steps(&[]),
        [
            "us-east-1-Hourly waiting",
            "eu-west-1-Hourly waiting",
            "us-east-1-Access waiting"
        ]
    );
    let upload = json!({"source_key": "drops/p1/x.raw.xz", "bucket": "b"});
    let mut calls = vec![
        call(
            "vmpush-upload",
            upload.clone(),
            ok(json!({"status": "continue"})),
        ),
        call("vmpush-upload", upload, None),
    ];
    assert_eq!(steps(&calls)[0], "us-east-1-Hourly uploading");
    calls[1].end = ok(json!({"status": "done", "bucket": "b", "key": "k"}));
    let import = |codes: &str| json!({"bucket": "b", "key": "k", "billing_codes": [codes]});
    calls.push(call(
        "vmpush-import-snapshot",
        import("bp-h"),
        ok(json!({"status": "active", "progress": "45", "snapshot_name": "sh"})),
    ));
    calls.push(call(
        "vmpush-import-snapshot",
        import("bp-a"),
        ok(json!({"status": "failed", "message": "ClientError: bad disk", "snapshot_name": "sa"})),
    ));
    assert_eq!(
        steps(&calls),
        [
            "us-east-1-Hourly importing 45%",
            "eu-west-1-Hourly importing 45%",
            "us-east-1-Access failed: ClientError: bad disk"
        ]
    );
    calls.push(call(
        "vmpush-import-snapshot",
        import("bp-h"),
        ok(json!({"status": "completed", "snapshot_name": "sh"})),
    ));
    let copy = |region: &str| json!({"snapshot_name": "sh", "regions": [region]});
    calls.push(call(
        "vmpush-copy-regions",
        copy("us-east-1"),
        ok(json!({"status": "completed"})),
    ));
    calls.push(call(
        "vmpush-copy-regions",
        copy("eu-west-1"),
        ok(json!({"status": "active"})),
    ));
    calls.push(call(
        "vmpush-publish",
        publish("us-east-1", "Hourly"),
        ok(json!({"ami": "ami-1"})),
    ));
    calls.push(call(
        "vmpush-rhsm-update",
        publish("us-east-1", "Hourly"),
        None,
    ));
    assert_eq!(
        steps(&calls)[..2],
        ["us-east-1-Hourly RHSM", "eu-west-1-Hourly copying"]
    );
    calls.last_mut().unwrap().end = ok(json!({"ami": "ami-1", "action": "created"}));
    calls.push(call(
        "vmpush-copy-regions",
        copy("eu-west-1"),
        ok(json!({"status": "completed"})),
    ));
    calls.push(call(
        "vmpush-publish",
        publish("eu-west-1", "Hourly"),
        Some(CallEnd::Failed(
            "Conflict: image block public access is on".into(),
        )),
    ));
    assert_eq!(
        steps(&calls)[..2],
        [
            "us-east-1-Hourly done ami-1",
            "eu-west-1-Hourly failed: Conflict: image block public access is on"
        ]
    );
    // a retry after the failure shows the step running again
    calls.push(call("vmpush-publish", publish("eu-west-1", "Hourly"), None));
    assert_eq!(steps(&calls)[1], "eu-west-1-Hourly publishing");
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
