use super::*;
use crate::payloads::*;

fn destination(region: &str, billing: &str) -> Value {
    let name = format!(
        "RHEL-9.0.0_HVM_GA-20250101-x86_64-10-{}2-GP3",
        if billing == "hourly" {
            "Hourly"
        } else {
            "Access"
        }
    );
    json!({
        "account": "aws-us-storage", "provider": "AWS", "destination": format!("{region}-{billing}"),
        "region": region, "partition": "aws", "billing_type": billing, "ami_name": name,
        "image_name": name, "public": billing == "hourly",
        "billing_codes": if billing == "hourly" { json!({"name": "Hourly2", "codes": ["bp-6fa54006"]}) }
                         else { json!({"name": "Access2", "codes": ["bp-63a5400a"]}) },
        "rhsm_product": if billing == "hourly" { "RHEL_HOURLY" } else { "RHEL" },
        "rhsm_provider": "AWS", "architecture": "x86_64", "boot_mode": "uefi-preferred", "volume": "gp3",
        "bucket": "redhat-cloudimg-us-east-1", "sharing_accounts": [], "snapshot_accounts": [],
        "groups": [], "tags": {}, "description": "Provided by Red Hat, Inc.", "virtualization": "hvm",
        "root_device": "/dev/sda1", "ena_support": true, "sriov_net_support": "simple",
        "release": {"product": "RHEL", "date": "20250101", "arch": "x86_64", "respin": 10,
                    "version": "9.0", "base_product": null, "base_version": null,
                    "variant": null, "type": "ga"},
        "marketplace": null})
}

const SOURCE: &str = "starmap/CLOUD_IMAGES/rhel-ec2-9.0-10/rhel-ec2-9.0-10.x86_64.raw.xz";

fn work() -> WorkList {
    let dest = |id: &str, region: &str, billing: &str| json!({"id": id, "source": SOURCE, "destination": destination(region, billing)});
    serde_json::from_value(json!({
        "push_id": "p1",
        "uploads": [{"id": "up-1", "account": "aws-us-storage", "region": "us-east-1", "bucket": "redhat-cloudimg-us-east-1",
                     "source_bucket": "vmpush-staging", "source_key": format!("drops/p1/{SOURCE}"),
                     "size": null, "sha256": "ab".repeat(32), "format": "raw", "tags": [],
                     "build": {"name": "rhel-ec2", "version": "9.0", "release": "10"},
                     "imports": [
                        {"id": "im-h", "billing_codes": ["bp-6fa54006"], "copies": [
                            {"id": "cp-he", "region": "us-east-1", "destinations": [dest("ds-he", "us-east-1", "hourly")]},
                            {"id": "cp-hw", "region": "eu-west-1", "destinations": [dest("ds-hw", "eu-west-1", "hourly")]}]},
                        {"id": "im-a", "billing_codes": ["bp-63a5400a"], "copies": [
                            {"id": "cp-a", "region": "us-east-1", "destinations": [dest("ds-a", "us-east-1", "access")]}]}]}],
        "skipped": [{"source": "sap.raw.xz", "destination": "us-east-1-access",
                     "reason": "pushed only to hourly destinations"}]
    }))
    .unwrap()
}

fn pushed(id: &str, ami: &str, public: bool) -> Value {
    json!({"id": id, "ami": ami, "snapshot": ami.replace("ami", "snap"), "public": public})
}

/// The state machine's results for the tree of [`work`]: hourly (us-east-1, eu-west-1), access
/// (us-east-1).
fn results(hourly_east: Value, hourly_west: Value, access: Value) -> Value {
    json!([[[[hourly_east], [hourly_west]], [[access]]]])
}

fn input(outcomes: Value) -> SummaryInput {
    SummaryInput {
        workflow: "community".into(),
        push_id: None,
        work: Some(work()),
        outcomes: serde_json::from_value(outcomes).unwrap(),
        failure: None,
    }
}

#[test]
fn a_failed_region_is_notpushed_and_the_rest_reported_pushed() {
    // as a Catch records it: the function's errorType and its plain-text message
    let cause = json!({"errorType": "Conflict",
        "errorMessage": "CopySnapshot to eu-west-1: UnauthorizedOperation (HTTP 403)"});
    let failed = json!({"id": "cp-hw", "failed_at": "copy",
        "failure": {"Error": "Conflict", "Cause": cause.to_string()}});
    let input = input(results(
        pushed("ds-he", "ami-1", true),
        failed,
        pushed("ds-a", "ami-2", false),
    ));
    let (result, notice) = summarize(&input).unwrap();
    assert_eq!(result.state, "FAILED");
    let states: Vec<(&str, Option<&str>)> = result
        .destinations
        .iter()
        .map(|d| (d.state.as_str(), d.destination.as_deref()))
        .collect();
    assert_eq!(
        states,
        [
            ("PUSHED", Some("us-east-1-hourly")),
            ("NOTPUSHED", Some("eu-west-1-hourly")),
            ("PUSHED", Some("us-east-1-access")),
            ("SKIPPED", Some("us-east-1-access")),
        ]
    );
    assert_eq!(
        serde_json::to_value(&result.images).unwrap(),
        json!({"RHEL-9.0.0_HVM_GA-20250101-x86_64-10-Access2-GP3": {"us-east-1": "ami-2"},
               "RHEL-9.0.0_HVM_GA-20250101-x86_64-10-Hourly2-GP3": {"us-east-1": "ami-1"}})
    );
    let lines = pushitems_jsonl(&result);
    assert_eq!(
        lines.lines().next().unwrap(),
        format!(
            r#"{{"build":null,"checksums":{{"sha256":"{}"}},"dest":"us-east-1-hourly","filename":"RHEL-9.0.0_HVM_GA-20250101-x86_64-10-Hourly2-GP3","origin":"s3://vmpush-staging/drops/p1/starmap/CLOUD_IMAGES/rhel-ec2-9.0-10","signing_key":null,"src":"s3://vmpush-staging/drops/p1/{SOURCE}","state":"PUSHED"}}"#,
            "ab".repeat(32)
        )
    );
    assert_eq!(lines.lines().count(), 3);

    assert_eq!(notice.state, "FAILED");
    assert_eq!(notice.images.len(), 2);
    let hourly = &notice.images[0];
    assert_eq!(
        serde_json::to_value(&hourly.regions).unwrap(),
        json!({"eu-west-1": {"ami": null, "snapshot": null, "state": "NOTPUSHED", "public": false},
               "us-east-1": {"ami": "ami-1", "snapshot": "snap-1", "state": "PUSHED", "public": true}})
    );
    assert_eq!(hourly.product.as_deref(), Some("RHEL_HOURLY"));
    assert_eq!(
        notice.failures,
        [NoticeFailure {
            name: "RHEL-9.0.0_HVM_GA-20250101-x86_64-10-Hourly2-GP3".into(),
            region: "eu-west-1".into(),
            destination: "eu-west-1-hourly".into(),
            state: "NOTPUSHED".into(),
            reason: "CopySnapshot to eu-west-1: UnauthorizedOperation (HTTP 403)".into(),
        }]
    );
}

#[test]
fn upload_failures_are_uploadfailed_and_all_pushed_is_pushed() {
    // one outcome in place of an import's list stands for both of its destinations
    let failed = json!({"id": "im-h", "failed_at": "import", "error": "import task ended deleted"});
    let mut input = input(json!([[failed, [[pushed("ds-a", "ami-2", false)]]]]));
    let (result, _) = summarize(&input).unwrap();
    let states: Vec<(&str, Option<&str>)> = result
        .destinations
        .iter()
        .map(|d| (d.state.as_str(), d.error.as_deref()))
        .collect();
    assert_eq!(
        states,
        [
            ("UPLOADFAILED", Some("import task ended deleted")),
            ("UPLOADFAILED", Some("import task ended deleted")),
            ("PUSHED", None),
            ("SKIPPED", Some("pushed only to hourly destinations")),
        ]
    );
    // results are matched by id, not by position
    input.outcomes = serde_json::from_value(json!([[
        [[pushed("ds-a", "ami-2", false)]],
        [
            [pushed("ds-hw", "ami-3", true)],
            [pushed("ds-he", "ami-1", true)]
        ]
    ]]))
    .unwrap();
    let (result, notice) = summarize(&input).unwrap();
    assert_eq!(
        (result.state.as_str(), notice.state.as_str()),
        ("PUSHED", "PUSHED")
    );
    assert_eq!(
        result
            .destinations
            .iter()
            .map(|d| d.ami.as_deref())
            .collect::<Vec<_>>(),
        [Some("ami-1"), Some("ami-3"), Some("ami-2"), None]
    );
    input.outcomes = serde_json::from_value(json!([[[
        [pushed("ds-he", "ami-1", true)],
        [pushed("ds-hw", "ami-3", true)]
    ]]]))
    .unwrap();
    assert_eq!(
        summarize(&input).unwrap_err().message,
        "summary: no outcome for us-east-1-access in us-east-1 (ds-a)"
    );
    input.outcomes = serde_json::from_value(json!([[[pushed("ds-zz", "ami-9", true)]]])).unwrap();
    assert_eq!(
        summarize(&input).unwrap_err().message,
        "summary: an outcome names \"ds-zz\", which is no node of the work list"
    );
    let not_an_outcome = json!({"workflow": "community", "work": work(),
        "outcomes": [[[[{"ami": "ami-3"}]]]]});
    assert!(serde_json::from_value::<SummaryInput>(not_an_outcome).is_err());
}

#[test]
fn a_push_failing_before_its_work_list_is_failed_with_the_reason() {
    let cause = json!({"errorType": "InvalidInput",
        "errorMessage": "push.yaml: workflow: unknown variant `all`"});
    let input = SummaryInput {
        workflow: "community".into(),
        push_id: Some("p9".into()),
        work: None,
        outcomes: Vec::new(),
        failure: Some(TaskFailure {
            error: "InvalidInput".into(),
            cause: Some(cause.to_string()),
        }),
    };
    let (result, notice) = summarize(&input).unwrap();
    assert_eq!(
        (
            result.push_id.as_str(),
            result.state.as_str(),
            result.destinations.len()
        ),
        ("p9", "FAILED", 0)
    );
    let reason = "push.yaml: workflow: unknown variant `all`";
    assert_eq!(result.error.as_deref(), Some(reason));
    assert_eq!(
        (notice.state.as_str(), notice.error.as_deref()),
        ("FAILED", Some(reason))
    );
    assert!(
        crate::steps::sns_notify::email(&notice).contains(&format!("Nothing was pushed: {reason}"))
    );
}

#[test]
fn failure_reasons_fall_back_to_the_cause_then_the_name() {
    let failure = |cause: Option<&str>| TaskFailure {
        error: "States.Timeout".into(),
        cause: cause.map(str::to_string),
    };
    assert_eq!(failure(None).reason(), "States.Timeout");
    assert_eq!(
        failure(Some("import of snap-1 still running after 2 h")).reason(),
        "import of snap-1 still running after 2 h"
    );
    assert_eq!(
        failure(Some(r#"{"errorType":"Fatal","errorMessage":"boom"}"#)).reason(),
        "boom"
    );
}

/// A results bucket that records the order of writes.
#[derive(Default)]
struct Bucket {
    objects: crate::ports::memory::MemoryObjects,
    written: std::sync::Mutex<Vec<(String, String)>>,
}

impl ObjectWriter for Bucket {
    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<(), StepError> {
        self.written.lock().unwrap().push((
            format!("{bucket}/{key}"),
            String::from_utf8(body.clone()).unwrap(),
        ));
        self.objects.put(bucket, key, body, content_type).await
    }
}

impl ObjectReader for Bucket {
    async fn read_small(&self, bucket: &str, key: &str, limit: u64) -> Result<Vec<u8>, StepError> {
        self.objects.read_small(bucket, key, limit).await
    }
}

/// The request as the state machine makes it when the upload's execution stored `outcomes`
/// (or, `None`, stored nothing): the work list and the outcomes in `bucket`.
async fn stored_request(bucket: &Bucket, outcomes: Option<Value>) -> SummaryRequest {
    let index = stored::store(&bucket.objects, "vmpush-results", &work(), "p1-0a1b2c3d")
        .await
        .unwrap();
    let upload = &index.uploads[0];
    if let Some(outcomes) = outcomes {
        let body = serde_json::to_vec(&outcomes).unwrap();
        bucket
            .objects
            .put("vmpush-results", &upload.outcomes, body, "application/json")
            .await
            .unwrap();
    }
    let from_execution = json!({"id": upload.id, "stored": upload.outcomes});
    SummaryRequest {
        workflow: "community".into(),
        push_id: Some("p1".into()),
        outcomes: serde_json::from_value(json!([[from_execution]])).unwrap(),
        work: Some(index),
        failure: None,
    }
}

#[tokio::test]
async fn the_result_is_written_under_the_push_id_from_the_stored_work_and_outcomes() {
    let outcomes = results(
        pushed("ds-he", "ami-1", true),
        pushed("ds-hw", "ami-3", true),
        pushed("ds-a", "ami-2", false),
    );
    let bucket = Bucket::default();
    let request = stored_request(&bucket, Some(outcomes.clone())).await;
    bucket.written.lock().unwrap().clear();
    let out = write(&bucket, "vmpush-results", &request).await.unwrap();
    assert_eq!(out.location, "s3://vmpush-results/results/p1/");
    assert_eq!(
        out.verdict,
        Verdict {
            push_id: "p1".into(),
            workflow: "community".into(),
            state: "PUSHED".into(),
            error: None,
            location: out.location.clone(),
        }
    );
    let written = bucket.written.lock().unwrap();
    let keys: Vec<&str> = written.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "vmpush-results/results/p1/result.json",
            "vmpush-results/results/p1/images.json",
            "vmpush-results/results/p1/clouds.json",
            "vmpush-results/results/p1/pushitems.jsonl",
            "vmpush-results/results/p1/notice.json"
        ]
    );
    // the same result as from the outcomes inline
    let result: PushResult = serde_json::from_str(&written[0].1).unwrap();
    let (inline, notice) = summarize(&input(outcomes)).unwrap();
    assert_eq!(
        result,
        PushResult {
            clouds: Vec::new(),
            ..inline
        }
    );
    assert_eq!(out.notice, "results/p1/notice.json");
    let stored: PushNotice = serde_json::from_str(&written[4].1).unwrap();
    assert_eq!(stored, notice);
    // clouds.json: Appendix A.1's element, sorted keys, top-level nulls dropped
    let clouds: Value = serde_json::from_str(&written[2].1).unwrap();
    assert_eq!(clouds.as_array().unwrap().len(), 3);
    assert_eq!(
        clouds[0],
        json!({"billing_codes": {"codes": ["bp-6fa54006"], "name": "Hourly2"}, "boot_mode": null,
               "build_info": {"id": null, "name": "rhel-ec2", "release": "10", "version": "9.0"},
               "cloud_info": {"account": "aws-us-storage", "provider": "aws"},
               "description": "Provided by Red Hat, Inc.", "dest": ["us-east-1-hourly"], "ena_support": true,
               "image_id": "ami-1", "marketplace_entity_type": "AWS",
               "name": "RHEL-9.0.0_HVM_GA-20250101-x86_64-10-Hourly2-GP3",
               "origin": "s3://vmpush-staging/drops/p1/starmap/CLOUD_IMAGES/rhel-ec2-9.0-10", "public_image": true,
               "region": "us-east-1",
               "release": {"arch": "x86_64", "base_product": null, "base_version": null, "date": "20250101",
                           "product": "RHEL", "respin": 10, "type": "ga", "variant": null, "version": "9.0"},
               "root_device": "/dev/sda1", "security_groups": [], "sha256sum": "ab".repeat(32),
               "src": format!("s3://vmpush-staging/drops/p1/{SOURCE}"), "sriov_net_support": "simple",
               "state": "PUSHED", "type": "hourly", "virtualization": "hvm", "volume": "gp3"})
    );
    assert!(written[2].1.starts_with("[\n  {\n    \"billing_codes\""));
    let images: Value = serde_json::from_str(&written[1].1).unwrap();
    assert_eq!(
        images["images"]["RHEL-9.0.0_HVM_GA-20250101-x86_64-10-Hourly2-GP3"],
        json!({"eu-west-1": "ami-3", "us-east-1": "ami-1"})
    );
    assert_eq!(written[3].1.lines().count(), 3);
}

#[tokio::test]
async fn an_upload_whose_execution_stored_no_outcomes_is_uploadfailed_with_the_key_named() {
    let bucket = Bucket::default();
    let request = stored_request(&bucket, None).await;
    let out = write(&bucket, "vmpush-results", &request).await.unwrap();
    assert_eq!(out.verdict.state, "FAILED");
    let written = bucket.written.lock().unwrap();
    assert_eq!(written[0].0, "vmpush-results/results/p1/result.json");
    assert_eq!(written.len(), 5);
    let result: PushResult = serde_json::from_str(&written[0].1).unwrap();
    let states: Vec<(&str, Option<&str>)> = result
        .destinations
        .iter()
        .map(|d| (d.state.as_str(), d.error.as_deref()))
        .collect();
    let missing = "its execution stored no outcomes (s3://vmpush-results/results/p1/runs/p1-0a1b2c3d/outcomes/up-1.json)";
    assert_eq!(
        states,
        [
            ("UPLOADFAILED", Some(missing)),
            ("UPLOADFAILED", Some(missing)),
            ("UPLOADFAILED", Some(missing)),
            ("SKIPPED", Some("pushed only to hourly destinations")),
        ]
    );
}

const PRODUCT: &str = "d87bcebf-9cf4-47f5-9b5b-5470d4490f3d";
const MKT_NAME: &str = "Red Hat Enterprise Linux-9.0_HVM_GA-20250101-x86_64-10";

/// The StArMap answer of the peer kit's marketplace entity, as the plan echoes it.
fn marketplace_query() -> Value {
    let meta = json!({"marketplace_entity_type": "AmiProduct", "user_name": "ec2-user",
        "release_notes": "https://example.com/{major_version}/{major_minor}",
        "usage_instructions": "Access your instance via ssh (RHEL {major_minor}).", "scanning_port": 22});
    json!({"billing_code_config": {}, "cloud": "aws", "meta": meta, "name": "rhel-ec2", "workflow": "stratosphere",
        "mappings": {"aws-na": {"meta": meta, "provider": null, "destinations": [
            {"ami_version_template": null, "architecture": "x86_64", "destination": PRODUCT, "id": null,
             "meta": meta, "overwrite": false, "provider": null, "restrict_major": null, "restrict_minor": null,
             "restrict_version": false, "tags": null, "vhd_check_base_sas_only": null}]}}})
}

/// [`work`] with a marketplace upload first (`workflow: all`).
fn combined_work() -> WorkList {
    let mut planned = destination("us-east-1", "hourly");
    let fields = planned.as_object_mut().unwrap();
    for (k, v) in [
        ("account", json!("aws-na")),
        ("destination", json!(PRODUCT)),
        ("billing_type", Value::Null),
        ("ami_name", json!(MKT_NAME)),
        ("image_name", json!(MKT_NAME)),
        ("public", json!(false)),
        ("billing_codes", Value::Null),
        ("rhsm_product", Value::Null),
        ("rhsm_provider", Value::Null),
        ("bucket", json!("pubupload")),
        ("volume", json!("gp2")),
        (
            "marketplace",
            json!({"entity_type": "AmiProduct", "overwrite": false, "restrict_version": false,
                "restrict_major": null, "restrict_minor": null, "starmap_query": "rhel-ec2/stratosphere/aws",
                "version": {"title": "9.0 20250101-10", "release_notes": "https://example.com/9/9.0",
                    "usage_instructions": "Access your instance via ssh (RHEL 9.0).", "recommended_instance_type": "m5.large",
                    "user_name": "ec2-user", "os_name": "RHEL", "os_version": "9.0", "scanning_port": 22,
                    "security_groups": [{"from_port": 22, "ip_protocol": "tcp", "ip_ranges": ["0.0.0.0/0"], "to_port": 22}],
                    "access_endpoint_url": null}}),
        ),
    ] {
        fields.insert(k.into(), v);
    }
    let mut work = serde_json::to_value(work()).unwrap();
    let upload = json!({"id": "up-m", "account": "aws-na", "region": "us-east-1", "bucket": "pubupload",
        "source_bucket": "vmpush-staging", "source_key": format!("drops/p1/{SOURCE}"),
        "size": null, "sha256": "ab".repeat(32), "format": "raw", "tags": [],
        "build": {"name": "rhel-ec2", "version": "9.0", "release": "10"},
        "imports": [{"id": "im-m", "billing_codes": [], "copies": [{"id": "cp-m", "region": "us-east-1",
            "destinations": [{"id": "ds-m", "source": SOURCE, "destination": planned}]}]}]});
    work["uploads"].as_array_mut().unwrap().insert(0, upload);
    work["starmap"] = json!({"rhel-ec2/stratosphere/aws": marketplace_query()});
    serde_json::from_value(work).unwrap()
}

fn combined(outcomes: Value) -> SummaryInput {
    SummaryInput {
        workflow: "all".into(),
        work: Some(combined_work()),
        ..input(outcomes)
    }
}

#[test]
fn a_combined_push_reports_both_kinds_and_marketplace_items_carry_their_starmap_query() {
    let marketplace = json!([[[pushed("ds-m", "ami-m", false)]]]);
    let community = results(
        pushed("ds-he", "ami-1", true),
        pushed("ds-hw", "ami-2", true),
        pushed("ds-a", "ami-3", false),
    );
    let outcomes = json!([marketplace[0], community[0]]);
    let (result, notice) = summarize(&combined(outcomes)).unwrap();
    assert_eq!(
        (result.state.as_str(), result.error.as_deref()),
        ("PUSHED", None)
    );
    assert_eq!(
        (notice.workflow.as_str(), notice.state.as_str()),
        ("all", "PUSHED")
    );
    let states: Vec<(&str, &str)> = result
        .destinations
        .iter()
        .map(|d| (d.destination.as_deref().unwrap(), d.state.as_str()))
        .collect();
    assert_eq!(
        states,
        [
            (PRODUCT, "PUSHED"),
            ("us-east-1-hourly", "PUSHED"),
            ("eu-west-1-hourly", "PUSHED"),
            ("us-east-1-access", "PUSHED"),
            ("us-east-1-access", "SKIPPED")
        ]
    );
    // the marketplace element: the reference's fields (Appendix A.2), templates unformatted
    let origin = "s3://vmpush-staging/drops/p1/starmap/CLOUD_IMAGES/rhel-ec2-9.0-10";
    assert_eq!(
        result.clouds[0],
        json!({
            "boot_mode": null,
            "build_info": {"id": null, "name": "rhel-ec2", "release": "10", "version": "9.0"},
            "cloud_info": {"account": "aws-na", "provider": "aws"},
            "description": "Provided by Red Hat, Inc.",
            "dest": [PRODUCT],
            "ena_support": true,
            "image_id": "ami-m",
            "marketplace_entity_type": "AmiProduct",
            "name": MKT_NAME,
            "origin": origin,
            "recommended_instance_type": "m5.large",
            "region": "us-east-1",
            "release": {"product": "RHEL", "date": "20250101", "arch": "x86_64", "respin": 10,
                        "version": "9.0", "base_product": null, "base_version": null,
                        "variant": null, "type": "ga"},
            "release_notes": "https://example.com/{major_version}/{major_minor}",
            "root_device": "/dev/sda1",
            "scanning_port": 22,
            "security_groups": [{"from_port": 22, "ip_protocol": "tcp", "ip_ranges": ["0.0.0.0/0"], "to_port": 22}],
            "sha256sum": "ab".repeat(32),
            "src": format!("{origin}/rhel-ec2-9.0-10.x86_64.raw.xz"),
            "sriov_net_support": "simple",
            "starmap_query": marketplace_query(),
            "state": "PUSHED",
            "type": "AMI",
            "usage_instructions": "Access your instance via ssh (RHEL {major_minor}).",
            "user_name": "ec2-user",
            "virtualization": "hvm",
            "volume": "gp2",
        })
    );
    // community elements stay as they were: no starmap_query
    assert!(result.clouds[1].get("starmap_query").is_none());
    assert_eq!(result.clouds[1]["billing_codes"]["name"], "Hourly2");
}

#[test]
fn combined_and_single_pushes_fail_as_a_whole_by_the_reference_rules() {
    // a failed destination of either workflow: the combined push failed
    let failed = json!({"id": "ds-m", "failed_at": "marketplace",
        "failure": {"Error": "Fatal", "Cause": "Changeset x failed with code FAILED"}});
    let community = results(
        pushed("ds-he", "ami-1", true),
        pushed("ds-hw", "ami-2", true),
        pushed("ds-a", "ami-3", false),
    );
    let (result, _) = summarize(&combined(json!([[[[failed]]], community[0]]))).unwrap();
    assert_eq!(
        (result.state.as_str(), result.error.as_deref()),
        (
            "FAILED",
            Some("Combined VM push failed: at least one workflow failed.")
        )
    );
    assert_eq!(result.destinations[0].state, "NOTPUSHED");
    // nothing to push: both workflows were empty (combined), no push item (single)
    let mut empty = combined(json!([]));
    empty.work.as_mut().unwrap().uploads.clear();
    let (result, notice) = summarize(&empty).unwrap();
    assert_eq!(
        (result.state.as_str(), result.error.as_deref()),
        (
            "FAILED",
            Some("Combined VM push failed: both workflows were empty.")
        )
    );
    assert_eq!(notice.error, result.error);
    assert_eq!(result.destinations.len(), 1, "the skip is still reported");
    empty.workflow = "community".into();
    let (result, _) = summarize(&empty).unwrap();
    assert_eq!(
        (result.state.as_str(), result.error.as_deref()),
        ("FAILED", Some("No push item was processed."))
    );
}

fn azure_destination(plan: &str) -> Value {
    let mut d = destination("us-east-1", "access");
    d["account"] = json!("azure-na");
    d["provider"] = json!("Azure");
    d["destination"] = json!(format!("rhel-offer/{plan}"));
    d["region"] = json!(null);
    d["bucket"] = json!("pubupload");
    d["azure"] = json!({"offer": "rhel-offer", "plan": plan, "disk_version": "9.0.2025010112",
        "generation": "V2", "sku_id": null, "support_legacy": false, "legacy_sku_id": null,
        "architecture": "x64", "overwrite": false, "check_base_sas_only": false, "modular_push": false});
    d
}

const VHD: &str = "drops/p1/rhel-azure-9.0-10.x86_64.vhd.xz";

fn azure_work() -> WorkList {
    let dest = |id: &str, plan: &str| {
        json!({"id": id, "upload": "au-1", "blob": "rhel-azure-9.0-10.x86_64.vhd",
        "source": "rhel-azure-9.0-10.x86_64.vhd.xz", "destination": azure_destination(plan)})
    };
    serde_json::from_value(json!({
        "push_id": "p1", "uploads": [], "skipped": [],
        "azure_uploads": [{"id": "au-1", "account": "azure-na", "container": "pubupload",
            "blob": "rhel-azure-9.0-10.x86_64.vhd", "source_bucket": "vmpush-staging", "source_key": VHD,
            "size": null, "sha256": null, "tags": [], "build": {"name": "rhel-azure", "version": "9.0", "release": "10"}}],
        "azure_offers": [{"id": "ao-1", "account": "azure-na", "offer": "rhel-offer",
            "destinations": [dest("ad-1", "rhel-9"), dest("ad-2", "rhel-9-gen1")]}],
    }))
    .unwrap()
}

fn azure_input(outcomes: Value) -> SummaryInput {
    SummaryInput {
        workflow: "marketplace".into(),
        push_id: None,
        work: Some(azure_work()),
        outcomes: serde_json::from_value(outcomes).unwrap(),
        failure: None,
    }
}

#[test]
fn azure_destinations_report_their_disk_versions_and_an_upload_failure_stands_for_them() {
    let url = "https://acct.blob.core.windows.net/pubupload/rhel-azure-9.0-10.x86_64.vhd";
    let published = json!({"id": "ad-1", "azure": {"id": "ad-1", "status": "done", "phase": "tag",
        "offer": "rhel-offer", "plan": "rhel-9", "disk_version": "9.0.2025010112", "blob_url": url,
        "configured": true, "submitted": ["preview", "live"]}});
    let refused = json!({"id": "ad-2", "failed_at": "azure",
        "failure": {"Error": "Conflict", "Cause": json!({"errorType": "Conflict",
            "errorMessage": "Can't update the offer rhel-offer as it's already being changed: listing/x"}).to_string()}});
    // as the state machine returns them: [AWS outcomes, [Azure uploads, Azure offers]]
    let outcomes =
        json!([[], [[{"id": "au-1", "sha256": "cd".repeat(32)}], [[published, refused]]]]);
    let (result, notice) = summarize(&azure_input(outcomes)).unwrap();
    assert_eq!(result.state, "FAILED");
    let first = &result.destinations[0];
    assert_eq!(
        (
            first.state.as_str(),
            first.name.as_deref(),
            first.destination.as_deref()
        ),
        (
            "PUSHED",
            Some("rhel-azure-9.0-10.x86_64.vhd.xz"),
            Some("rhel-offer/rhel-9")
        )
    );
    let azure = first.azure.as_ref().unwrap();
    assert_eq!(
        (azure.disk_version.as_str(), azure.blob_url.as_str()),
        ("9.0.2025010112", url)
    );
    assert_eq!(azure.submitted, ["preview", "live"]);
    assert_eq!(result.destinations[1].state, "NOTPUSHED");
    assert_eq!(
        result.destinations[1].error.as_deref(),
        Some("Can't update the offer rhel-offer as it's already being changed: listing/x")
    );
    assert!(result.images.is_empty());
    assert_eq!(
        result.pushitems[0]["filename"],
        "rhel-azure-9.0-10.x86_64.vhd.xz"
    );
    assert_eq!(result.pushitems[0]["checksums"]["sha256"], "cd".repeat(32));
    assert_eq!(
        result.clouds[0]["cloud_info"],
        json!({"account": "azure-na", "provider": "azure"})
    );
    assert_eq!(result.clouds[0]["disk_version"], "9.0.2025010112");
    assert_eq!(
        (
            notice.disks.len(),
            notice.disks[0].state.as_str(),
            notice.disks[1].state.as_str()
        ),
        (2, "PUSHED", "NOTPUSHED")
    );
    assert_eq!(notice.failures[0].destination, "rhel-offer/rhel-9-gen1");

    // a failed upload is UPLOADFAILED for both, with its reason, whatever publish said
    let upload_failed =
        json!({"id": "au-1", "failed_at": "upload", "error": "VHD footer: not a fixed disk"});
    let missing =
        json!({"id": "ad-1", "failed_at": "upload", "error": "the upload's blob is not complete"});
    let outcomes = json!([[], [[upload_failed], [[missing]]]]);
    let (result, _) = summarize(&azure_input(outcomes)).unwrap();
    let states: Vec<(&str, Option<&str>)> = result
        .destinations
        .iter()
        .map(|d| (d.state.as_str(), d.error.as_deref()))
        .collect();
    assert_eq!(
        states,
        [("UPLOADFAILED", Some("VHD footer: not a fixed disk")); 2]
    );

    // a pre-push uploads only: its uploaded destinations are PUSHED
    let (result, _) = summarize(&azure_input(
        json!([[], [{"id": "au-1", "sha256": "cd".repeat(32)}]]),
    ))
    .unwrap();
    assert_eq!(result.state, "PUSHED");
    assert!(result.destinations.iter().all(|d| d.state == "PUSHED"));
}
