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
    let dest = |id: &str, r: &str, b: &str| json!({"id": id, "source": "x.raw.xz", "destination": destination(r, b)});
    serde_json::from_value(json!({
        "push_id": "p1", "skipped": [],
        "uploads": [{"id": "up-1", "account": "a", "region": "us-east-1", "bucket": "b", "source_bucket": "s",
                     "source_key": "drops/p1/x.raw.xz", "size": null, "sha256": null, "format": "raw",
                     "imports": [
                        {"id": "im-h", "billing_codes": ["bp-h"], "copies": [
                            {"id": "cp-he", "region": "us-east-1", "destinations": [dest("ds-he", "us-east-1", "Hourly")]},
                            {"id": "cp-hw", "region": "eu-west-1", "destinations": [dest("ds-hw", "eu-west-1", "Hourly")]}]},
                        {"id": "im-a", "billing_codes": ["bp-a"], "copies": [
                            {"id": "cp-a", "region": "us-east-1", "destinations": [dest("ds-a", "us-east-1", "Access")]}]}]}]}))
    .unwrap()
}

fn call(state: &str, id: &str, end: Option<CallEnd>) -> Call {
    Call {
        state: state.into(),
        id: Some(id.into()),
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
    let mut calls = vec![
        call("Upload", "up-1", ok(json!({"status": "continue"}))),
        call("Upload", "up-1", None),
        // another push's calls, or a node of no destination here, change nothing
        call("Upload", "up-9", ok(json!({"status": "done"}))),
    ];
    assert_eq!(steps(&calls)[0], "us-east-1-Hourly uploading");
    calls[1].end = ok(json!({"status": "done", "bucket": "b", "key": "k"}));
    calls.push(call(
        "ImportSnapshot",
        "im-h",
        ok(json!({"status": "active", "progress": "45", "snapshot_name": "sh"})),
    ));
    calls.push(call(
        "ImportSnapshot",
        "im-a",
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
        "ImportSnapshotCheck",
        "im-h",
        ok(json!({"status": "completed", "snapshot_name": "sh"})),
    ));
    calls.push(call(
        "CopyRegions",
        "cp-he",
        ok(json!({"status": "completed"})),
    ));
    calls.push(call(
        "CopyRegions",
        "cp-hw",
        ok(json!({"status": "active"})),
    ));
    calls.push(call("Publish", "ds-he", ok(json!({"ami": "ami-1"}))));
    calls.push(call("RhsmUpdate", "ds-he", None));
    assert_eq!(
        steps(&calls)[..2],
        ["us-east-1-Hourly RHSM", "eu-west-1-Hourly copying"]
    );
    calls.last_mut().unwrap().end = ok(json!({"ami": "ami-1", "action": "created"}));
    calls.push(call(
        "CopyRegionsCheck",
        "cp-hw",
        ok(json!({"status": "completed"})),
    ));
    calls.push(call(
        "Publish",
        "ds-hw",
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
    calls.push(call("Publish", "ds-hw", None));
    assert_eq!(steps(&calls)[1], "eu-west-1-Hourly publishing");
}

/// The history of one destination up to RHSM: its upload, import and copy completed, then
/// publish (answering `published`) and RHSM.
fn told_rhsm(import: &str, copy: &str, destination: &str, published: Value) -> Vec<Call> {
    let ami = published["ami"].clone();
    vec![
        call(
            "Upload",
            "up-1",
            ok(json!({"status": "done", "bucket": "b", "key": "k"})),
        ),
        call(
            "ImportSnapshot",
            import,
            ok(json!({"status": "completed", "snapshot_name": "s"})),
        ),
        call("CopyRegions", copy, ok(json!({"status": "completed"}))),
        call("Publish", destination, ok(published)),
        call("RhsmUpdate", destination, ok(json!({"ami": ami}))),
    ]
}

#[test]
fn a_public_destination_is_done_once_released_after_rhsm() {
    let mut calls = told_rhsm(
        "im-h",
        "cp-he",
        "ds-he",
        json!({"ami": "ami-1", "release": true}),
    );
    assert_eq!(steps(&calls)[0], "us-east-1-Hourly publishing");
    calls.push(call(
        "PublishRelease",
        "ds-he",
        Some(CallEnd::Failed(
            "Conflict: image block public access is on".into(),
        )),
    ));
    assert_eq!(
        steps(&calls)[0],
        "us-east-1-Hourly failed: Conflict: image block public access is on"
    );
    calls.push(call(
        "PublishRelease",
        "ds-he",
        ok(json!({"ami": "ami-1", "public": true})),
    ));
    assert_eq!(steps(&calls)[0], "us-east-1-Hourly done ami-1");
}

#[test]
fn a_marketplace_destination_is_done_once_its_version_is() {
    let mut calls = told_rhsm(
        "im-a",
        "cp-a",
        "ds-a",
        json!({"ami": "ami-3", "release": false, "version": true}),
    );
    // between RHSM and the first Marketplace call it is still publishing, not done
    assert_eq!(steps(&calls)[2], "us-east-1-Access publishing");
    calls.push(call(
        "MarketplaceVersion",
        "ds-a",
        ok(json!({"id": "ds-a", "done": false, "phase": "version", "status": "locked"})),
    ));
    assert_eq!(steps(&calls)[2], "us-east-1-Access publishing");
    calls.push(call(
        "MarketplaceVersionCheck",
        "ds-a",
        ok(json!({"id": "ds-a", "done": true, "status": "done", "entity": "e-1"})),
    ));
    assert_eq!(steps(&calls)[2], "us-east-1-Access done ami-3");
    // a pre-push (no version due) is done once RHSM is told
    calls[3] = call(
        "Publish",
        "ds-a",
        ok(json!({"ami": "ami-3", "release": false, "version": false})),
    );
    calls.truncate(5);
    assert_eq!(steps(&calls)[2], "us-east-1-Access done ami-3");
}

fn resolved(index: &WorkIndex) -> Call {
    Call {
        state: "ResolveMapping".into(),
        id: None,
        end: ok(serde_json::to_value(index).unwrap()),
    }
}

#[test]
fn the_work_index_is_the_latest_resolve_mapping_output() {
    let index = WorkIndex::of(&work(), "p1-0a1b2c3d");
    assert_eq!(work_index(&[]), None);
    let failed = Call {
        state: "ResolveMapping".into(),
        id: None,
        end: Some(CallEnd::Failed("Transient: StArMap 503".into())),
    };
    let calls = [failed, resolved(&index)];
    assert_eq!(work_index(&calls), Some(index.clone()));
    // an output of another state is no work index
    let upload = Call {
        state: "Upload".into(),
        ..resolved(&index)
    };
    assert_eq!(work_index(&[upload]), None);
}

/// Executions by ARN: status and calls; the upload flows' are `flow:<name>`.
struct Histories(std::collections::HashMap<String, (String, Vec<Call>)>);

impl ExecutionHistory for Histories {
    async fn find(&self, _: &str) -> Result<Option<String>, StepError> {
        Ok(Some("push".into()))
    }
    async fn state(&self, arn: &str) -> Result<crate::ports::ExecutionState, StepError> {
        Ok(crate::ports::ExecutionState {
            status: self.0[arn].0.clone(),
            output: Some(json!({"state": "PUSHED"})),
            error: None,
            cause: None,
        })
    }
    async fn calls(&self, arn: &str) -> Result<Vec<Call>, StepError> {
        self.0
            .get(arn)
            .map(|(_, calls)| calls.clone())
            .ok_or_else(|| StepError::new(ErrorKind::NotFound, format!("{arn}: no such execution")))
    }
    fn flow_arn(&self, name: &str) -> String {
        format!("flow:{name}")
    }
}

#[tokio::test]
async fn progress_follows_each_upload_into_its_own_execution_and_the_result_is_the_stored_one() {
    use crate::ports::ObjectWriter;
    let objects = crate::ports::memory::MemoryObjects::default();
    let index = stored::store(&objects, "results", &work(), "p1-0a1b2c3d")
        .await
        .unwrap();
    let flow = format!("flow:{}", index.uploads[0].execution);
    let mut executions = std::collections::HashMap::new();
    executions.insert(
        "push".to_string(),
        ("RUNNING".to_string(), vec![resolved(&index)]),
    );
    let history = Histories(executions);
    // the upload's execution has not started: every destination waits
    let status = run(&history, &objects, "results", "p1").await.unwrap();
    let lines: Vec<String> = status.progress.iter().map(|p| p.step.to_string()).collect();
    assert_eq!(lines, ["waiting", "waiting", "waiting"]);
    assert_eq!(status.result, None);
    // its calls are in its own history
    let mut history = history;
    history.0.insert(
        flow.clone(),
        (
            "RUNNING".into(),
            vec![call("Upload", "up-1", ok(json!({"status": "continue"})))],
        ),
    );
    let status = run(&history, &objects, "results", "p1").await.unwrap();
    assert_eq!(status.progress[0].step.to_string(), "uploading");
    // once ended, the result is the document in the results bucket, not the output (a verdict)
    history.0.get_mut("push").unwrap().0 = "SUCCEEDED".into();
    let document = json!({"push_id": "p1", "state": "PUSHED", "destinations": []});
    objects
        .put(
            "results",
            "results/p1/result.json",
            document.to_string().into_bytes(),
            "application/json",
        )
        .await
        .unwrap();
    let status = run(&history, &objects, "results", "p1").await.unwrap();
    assert_eq!(status.result, Some(document));
}

#[test]
fn azure_destinations_show_their_upload_then_their_offer() {
    let mut d = destination("us-east-1", "Access");
    d["account"] = json!("azure-na");
    d["destination"] = json!("rhel-offer/rhel-9");
    let work: WorkList = serde_json::from_value(json!({
        "push_id": "p1", "skipped": [], "uploads": [],
        "azure_uploads": [{"id": "au-1", "account": "azure-na", "container": "pubupload", "blob": "x.vhd",
            "source_bucket": "s", "source_key": "drops/p1/x.vhd.xz", "size": null, "sha256": null}],
        "azure_offers": [{"id": "ao-1", "account": "azure-na", "offer": "rhel-offer",
            "destinations": [{"id": "ad-1", "upload": "au-1", "blob": "x.vhd", "source": "x.vhd.xz", "destination": d}]}]}))
    .unwrap();
    let line = |calls: &[Call]| {
        let p = &progress(&work, calls)[0];
        format!("{} {} {} {}", p.name, p.region, p.destination, p.step)
    };
    assert_eq!(line(&[]), "x.vhd azure-na rhel-offer/rhel-9 waiting");
    let mut calls = vec![call(
        states::AZURE_UPLOAD,
        "au-1",
        ok(json!({"status": "continue"})),
    )];
    assert_eq!(line(&calls), "x.vhd azure-na rhel-offer/rhel-9 uploading");
    calls.push(call(
        states::AZURE_UPLOAD,
        "au-1",
        ok(json!({"status": "done"})),
    ));
    calls.push(call(
        states::AZURE_PUBLISH,
        "ad-1",
        ok(json!({"status": "wait"})),
    ));
    assert_eq!(line(&calls), "x.vhd azure-na rhel-offer/rhel-9 publishing");
    calls.push(call(
        states::AZURE_PUBLISH_CHECK,
        "ad-1",
        ok(json!({"status": "done", "disk_version": "9.0.2025010112"})),
    ));
    assert_eq!(
        line(&calls),
        "x.vhd azure-na rhel-offer/rhel-9 done 9.0.2025010112"
    );
    calls.push(call(
        states::AZURE_PUBLISH_CHECK,
        "ad-1",
        Some(CallEnd::Failed("certification failed".into())),
    ));
    assert_eq!(
        line(&calls),
        "x.vhd azure-na rhel-offer/rhel-9 failed: certification failed"
    );
}
