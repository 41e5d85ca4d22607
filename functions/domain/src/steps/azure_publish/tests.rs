use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::*;
use crate::plan::PlannedDestination;
use crate::ports::PageBlob;

const SAS: &str = "https://acct.blob.core.windows.net/pubupload/rhel-9.4.vhd?sp=r&sr=b&sig=abc";

/// Partner Center in memory: one offer with one plan; a configure applies at once and its
/// job completes at the first status call (or fails with `failures`' next errors).
#[derive(Default)]
struct Center {
    trees: Mutex<BTreeMap<String, Value>>,
    submissions: Mutex<Vec<Value>>,
    running_for: Mutex<u32>,
    failures: Mutex<Vec<Vec<Value>>>,
    jobs: Mutex<BTreeMap<String, JobStatus>>,
    sent: Mutex<Vec<Value>>,
    tags: Mutex<Vec<(String, String)>>,
    complete: Mutex<bool>,
}

fn submission(target: &str, n: u32) -> Value {
    json!({"$schema": "https://schema.mp.microsoft.com/schema/submission/2022-07-01",
           "id": format!("submission/p-1/{n}"), "product": "product/p-1",
           "target": {"targetType": target}, "status": "completed", "result": "succeeded"})
}

fn tree(listing: &str, disks: &[&str]) -> Value {
    let versions: Vec<Value> = disks
        .iter()
        .enumerate()
        .map(|(i, uri)| json!({"versionNumber": format!("9.{i}.1"), "lifecycleState": "generallyAvailable",
            "vmImages": [{"imageType": "x64Gen2", "source": {"sourceType": "sasUri", "osDisk": {"uri": uri}, "dataDisks": []}}]}))
        .collect();
    json!({"root": "product/p-1", "resources": [
        {"$schema": "https://schema.mp.microsoft.com/schema/product/2022-07-01", "id": "product/p-1",
         "identity": {"externalId": "rhel-offer"}, "type": "azureVirtualMachine"},
        {"$schema": "https://schema.mp.microsoft.com/schema/listing/2022-07-01", "id": "listing/p-1/l-1", "title": listing},
        {"$schema": "https://schema.mp.microsoft.com/schema/plan/2022-07-01", "id": "plan/p-1/pl-1",
         "identity": {"externalId": "rhel-9"}, "product": "product/p-1"},
        {"$schema": "https://schema.mp.microsoft.com/schema/virtual-machine-plan-technical-configuration/2022-07-01",
         "product": "product/p-1", "plan": "plan/p-1/pl-1",
         "skus": [{"imageType": "x64Gen2", "skuId": "rhel-9"}], "vmImageVersions": versions},
    ]})
}

impl Center {
    /// A live offer whose draft equals it; the blob is uploaded.
    fn published(disks: &[&str]) -> Self {
        let center = Center::default();
        for target in ["draft", "preview", "live"] {
            center
                .trees
                .lock()
                .unwrap()
                .insert(target.into(), tree("RHEL", disks));
        }
        *center.submissions.lock().unwrap() = vec![
            submission("draft", 3),
            submission("preview", 2),
            submission("live", 2),
        ];
        *center.complete.lock().unwrap() = true;
        center
    }

    fn sent(&self) -> Vec<Value> {
        self.sent.lock().unwrap().clone()
    }

    fn apply(&self, body: &Value) {
        let mut trees = self.trees.lock().unwrap();
        for resource in body["resources"].as_array().unwrap() {
            match resources::kind(resource) {
                resources::TECH_CONFIG => {
                    let draft = trees.get_mut("draft").unwrap();
                    let list = draft["resources"].as_array_mut().unwrap();
                    let at = list
                        .iter()
                        .position(|r| resources::kind(r) == resources::TECH_CONFIG);
                    list[at.unwrap()] = resource.clone();
                }
                "submission" => {
                    let to = resource["target"]["targetType"]
                        .as_str()
                        .unwrap()
                        .to_string();
                    let from = if to == "preview" { "draft" } else { "preview" };
                    let copy = trees[from].clone();
                    trees.insert(to.clone(), copy);
                    let mut subs = self.submissions.lock().unwrap();
                    subs.retain(|s| s["target"]["targetType"] != to.as_str());
                    subs.push(submission(&to, 9));
                }
                _ => {}
            }
        }
    }
}

impl ProductIngestion for Center {
    async fn products(&self) -> Result<Vec<Value>, StepError> {
        Ok(vec![
            json!({"id": "product/p-0", "identity": {"externalId": "other"}}),
            json!({"id": "product/p-1", "identity": {"externalId": "rhel-offer"}}),
        ])
    }

    async fn resource_tree(&self, product: &str, target: &str) -> Result<Option<Value>, StepError> {
        assert_eq!(product, "p-1");
        Ok(self.trees.lock().unwrap().get(target).cloned())
    }

    async fn submissions(&self, _product: &str) -> Result<Vec<Value>, StepError> {
        let mut subs = self.submissions.lock().unwrap().clone();
        let mut running = self.running_for.lock().unwrap();
        if *running > 0 {
            *running -= 1;
            subs.push(json!({"target": {"targetType": "preview"}, "status": "running"}));
        }
        Ok(subs)
    }

    async fn configure(&self, body: &Value) -> Result<JobStatus, StepError> {
        self.sent.lock().unwrap().push(body.clone());
        let id = format!("job-{}", self.sent.lock().unwrap().len());
        let failure = self.failures.lock().unwrap().pop();
        let status = match failure {
            Some(errors) => JobStatus {
                job_id: id.clone(),
                status: "completed".into(),
                result: "failed".into(),
                errors,
            },
            None => {
                self.apply(body);
                JobStatus {
                    job_id: id.clone(),
                    status: "completed".into(),
                    result: "succeeded".into(),
                    errors: vec![],
                }
            }
        };
        self.jobs.lock().unwrap().insert(id.clone(), status);
        Ok(JobStatus {
            job_id: id,
            status: "notStarted".into(),
            result: "pending".into(),
            errors: vec![],
        })
    }

    async fn job_status(&self, job: &str) -> Result<JobStatus, StepError> {
        Ok(self.jobs.lock().unwrap()[job].clone())
    }
}

impl PageBlobs for Center {
    async fn ensure_container(&self, _: &str) -> Result<(), StepError> {
        unreachable!("publishing creates no container")
    }
    async fn blob(&self, container: &str, name: &str) -> Result<Option<PageBlob>, StepError> {
        assert_eq!((container, name), ("pubupload", "rhel-9.4.vhd"));
        let mut tags = self.tags.lock().unwrap().clone();
        if *self.complete.lock().unwrap() {
            tags.insert(0, ("sha256".into(), "ab".repeat(32)));
        }
        Ok(Some(PageBlob {
            size: 1 << 20,
            tags,
            metadata: vec![],
        }))
    }
    async fn create(
        &self,
        _: &str,
        _: &str,
        _: u64,
        _: &[(String, String)],
    ) -> Result<(), StepError> {
        unreachable!()
    }
    async fn written_ranges(&self, _: &str, _: &str) -> Result<Vec<(u64, u64)>, StepError> {
        unreachable!()
    }
    async fn write_pages(&self, _: &str, _: &str, _: u64, _: Vec<u8>) -> Result<(), StepError> {
        unreachable!("publishing writes no page")
    }
    async fn set_tags(&self, _: &str, _: &str, tags: &[(String, String)]) -> Result<(), StepError> {
        *self.tags.lock().unwrap() = tags
            .iter()
            .filter(|(k, _)| k != "sha256")
            .cloned()
            .collect();
        Ok(())
    }
    async fn delete(&self, _: &str, _: &str) -> Result<(), StepError> {
        unreachable!()
    }
    fn blob_url(&self, container: &str, name: &str) -> String {
        format!("https://acct.blob.core.windows.net/{container}/{name}")
    }
    fn read_url(&self, _: &str, _: &str) -> Result<String, StepError> {
        Ok(SAS.into())
    }
}

fn destination(overwrite: bool, modular: bool) -> PlannedDestination {
    serde_json::from_value(json!({
        "account": "azure-na", "provider": "Azure", "destination": "rhel-offer/rhel-9",
        "region": null, "partition": null, "billing_type": null, "ami_name": null,
        "image_name": "rhel-9.4_V2-20240501-x86_64-1", "billing_codes": null, "public": false,
        "rhsm_product": null, "rhsm_provider": null, "architecture": "x86_64", "boot_mode": null,
        "volume": null, "bucket": "pubupload", "sharing_accounts": [], "snapshot_accounts": [],
        "groups": [], "tags": {}, "description": null, "virtualization": null,
        "root_device": null, "ena_support": null, "sriov_net_support": null,
        "release": {"product": "RHEL", "date": "20240501", "arch": "x86_64", "respin": 1,
                    "version": "9.4", "base_product": null, "base_version": null, "variant": null, "type": "ga"},
        "azure": {"offer": "rhel-offer", "plan": "rhel-9", "disk_version": "9.4.2024050112",
                  "generation": "V2", "sku_id": null, "support_legacy": false, "legacy_sku_id": null,
                  "architecture": "x64", "overwrite": overwrite, "check_base_sas_only": false,
                  "modular_push": modular},
    }))
    .expect("a planned destination")
}

fn input(progress: Option<AzurePublishOutput>) -> AzurePublishInput {
    AzurePublishInput {
        id: "ad-0123456789ab".into(),
        destination: destination(false, false),
        blob: "rhel-9.4.vhd".into(),
        request: Default::default(),
        progress,
    }
}

const NOW: u64 = 1_714_567_890; // 2024-05-01T12:51:30Z

/// Calls the step as the state machine does, until it stops waiting (at most 20 calls).
async fn drive(
    center: &Center,
    mut input: AzurePublishInput,
) -> Result<(AzurePublishOutput, u32), StepError> {
    let cx = Context {
        ingestion: center,
        blobs: center,
        now: SystemTime::UNIX_EPOCH + Duration::from_secs(NOW),
    };
    for calls in 1..=20 {
        let out = run(&cx, &input).await?;
        if out.status != AzurePublishStatus::Wait {
            return Ok((out, calls));
        }
        assert!(out.waiting_for.is_some(), "a wait says what for: {out:?}");
        input.progress = Some(out);
    }
    panic!("still waiting after 20 calls");
}

fn targets(sent: &[Value]) -> Vec<String> {
    sent.iter()
        .map(|body| {
            assert_eq!(body["$schema"], resources::CONFIGURE_SCHEMA);
            let kinds: Vec<String> = body["resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| match resources::kind(r) {
                    "submission" => {
                        format!("submission:{}", r["target"]["targetType"].as_str().unwrap())
                    }
                    kind => kind.to_string(),
                })
                .collect();
            kinds.join("+")
        })
        .collect()
}

#[tokio::test]
async fn a_new_disk_is_configured_then_submitted_to_preview_and_live_then_the_blob_is_tagged() {
    let center = Center::published(&["https://old"]);
    let (out, _) = drive(&center, input(None)).await.unwrap();
    assert_eq!(out.status, AzurePublishStatus::Done);
    assert_eq!(out.phase, AzurePhase::Tag);
    assert!(out.configured && !out.existing);
    assert_eq!(out.submitted, ["preview", "live"]);
    assert_eq!(
        out.blob_url,
        "https://acct.blob.core.windows.net/pubupload/rhel-9.4.vhd"
    );
    let sent = center.sent();
    assert_eq!(
        targets(&sent),
        [
            resources::TECH_CONFIG,
            "submission:preview",
            "submission:live"
        ]
    );
    let config = &sent[0]["resources"][0];
    assert_eq!(config["plan"], "plan/p-1/pl-1");
    assert_eq!(
        config["vmImageVersions"][1]["versionNumber"],
        "9.4.2024050112"
    );
    assert_eq!(
        config["vmImageVersions"][1]["vmImages"][0]["source"]["osDisk"]["uri"],
        SAS
    );
    // The reference sends the previous target's submission with the new target.
    assert_eq!(sent[1]["resources"][0]["id"], "submission/p-1/3");
    assert_eq!(sent[2]["resources"][0]["id"], "submission/p-1/9");
    assert_eq!(
        *center.tags.lock().unwrap(),
        [("release_date".to_string(), "2024050112::51::30".to_string())]
    );
    assert!(!serde_json::to_string(&out).unwrap().contains("sig="));
}

#[tokio::test]
async fn a_disk_already_live_configures_and_submits_nothing() {
    let center = Center::published(&["https://old", SAS]);
    let (out, calls) = drive(&center, input(None)).await.unwrap();
    assert_eq!((out.status, calls), (AzurePublishStatus::Done, 1));
    assert!(out.existing && !out.configured);
    assert!(center.sent().is_empty());
    // The same disk signed again (another sig, se, sv) is the same disk.
    let center = Center::published(&[&SAS.replace("sig=abc", "sig=xyz&sv=2021-08-06")]);
    let (out, _) = drive(&center, input(None)).await.unwrap();
    assert!(out.existing);
    assert!(center.sent().is_empty());
}

#[tokio::test]
async fn a_call_repeated_after_a_lost_answer_configures_nothing_twice() {
    let center = Center::published(&["https://old"]);
    let cx = Context {
        ingestion: &center,
        blobs: &center,
        now: SystemTime::UNIX_EPOCH,
    };
    let first = run(&cx, &input(None)).await.unwrap();
    assert_eq!(first.phase, AzurePhase::Configure);
    // The answer is lost: the state machine calls again without it.
    let (out, _) = drive(&center, input(None)).await.unwrap();
    assert_eq!(out.status, AzurePublishStatus::Done);
    assert_eq!(
        targets(&center.sent()),
        [
            resources::TECH_CONFIG,
            "submission:preview",
            "submission:live"
        ]
    );
    // Lost after the preview submission: only live is sent.
    let center = Center::published(&["https://old"]);
    center.apply(&json!({"resources": [resources::with_disk(
        &resources::tech_config(&center.trees.lock().unwrap()["draft"], "plan/p-1/pl-1").unwrap().clone(),
        destination(false, false).azure.as_ref().unwrap(), SAS)]}));
    center.apply(&json!({"resources": [submission("preview", 3)]}));
    let (out, _) = drive(&center, input(None)).await.unwrap();
    assert_eq!(out.status, AzurePublishStatus::Done);
    assert_eq!(targets(&center.sent()), ["submission:live"]);
}

#[tokio::test]
async fn a_running_submission_is_waited_for() {
    let center = Center::published(&["https://old"]);
    *center.running_for.lock().unwrap() = 3;
    let cx = Context {
        ingestion: &center,
        blobs: &center,
        now: SystemTime::UNIX_EPOCH,
    };
    let mut progress = None;
    for _ in 0..3 {
        let out = run(&cx, &input(progress)).await.unwrap();
        assert_eq!(
            (out.status, out.phase),
            (AzurePublishStatus::Wait, AzurePhase::Resolve)
        );
        assert_eq!(
            out.waiting_for.as_deref(),
            Some("a submission of offer rhel-offer to preview is in progress")
        );
        progress = Some(out);
    }
    assert!(center.sent().is_empty());
    let (out, _) = drive(&center, input(progress)).await.unwrap();
    assert_eq!(out.status, AzurePublishStatus::Done);
}

#[tokio::test]
async fn an_offer_changed_by_someone_else_is_refused_unless_drafts_may_be_pushed() {
    let center = Center::published(&["https://old"]);
    center
        .trees
        .lock()
        .unwrap()
        .insert("draft".into(), tree("RHEL 10 beta", &["https://old"]));
    let err = drive(&center, input(None)).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict);
    assert_eq!(
        err.message,
        "Can't update the offer rhel-offer as it's already being changed: listing/p-1/l-1 (--azure-allow-draft-push publishes anyway)"
    );
    assert!(center.sent().is_empty());
    let mut allowed = input(None);
    allowed.request.azure_allow_draft_push = true;
    let (out, _) = drive(&center, allowed).await.unwrap();
    assert_eq!(out.status, AzurePublishStatus::Done);
}

/// The first call (the technical configuration's), before faults are set.
async fn configured(center: &Center) -> AzurePublishInput {
    let cx = Context {
        ingestion: center,
        blobs: center,
        now: SystemTime::UNIX_EPOCH,
    };
    let mut next = input(None);
    next.progress = Some(run(&cx, &next).await.unwrap());
    next
}

#[tokio::test]
async fn failed_submissions_are_tried_three_times_but_a_certification_failure_once() {
    let busy = vec![json!({"code": "internalError", "message": "try later"})];
    let center = Center::published(&["https://old"]);
    let next = configured(&center).await;
    *center.failures.lock().unwrap() = vec![busy.clone()];
    let (out, _) = drive(&center, next).await.unwrap();
    assert_eq!(out.status, AzurePublishStatus::Done);
    assert_eq!(
        targets(&center.sent()),
        [
            resources::TECH_CONFIG,
            "submission:preview",
            "submission:preview",
            "submission:live"
        ]
    );

    let center = Center::published(&["https://old"]);
    let next = configured(&center).await;
    *center.failures.lock().unwrap() = vec![busy.clone(), busy.clone(), busy];
    let err = drive(&center, next).await.unwrap_err();
    assert_eq!(
        err.message,
        "azure-na rhel-offer/rhel-9: Failed to submit the product p-1 to preview. Status: failed Errors: internalError: try later"
    );
    assert_eq!(targets(&center.sent()).len(), 4);

    let center = Center::published(&["https://old"]);
    let next = configured(&center).await;
    *center.failures.lock().unwrap() = vec![vec![
        json!({"code": "certificationFailed", "message": "the image failed certification"}),
    ]];
    let err = drive(&center, next).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Fatal);
    assert!(
        err.message
            .ends_with("certificationFailed: the image failed certification")
    );
    assert_eq!(
        targets(&center.sent()),
        [resources::TECH_CONFIG, "submission:preview"]
    );
}

#[tokio::test]
async fn modular_push_sends_the_plans_resources_with_the_submission() {
    let center = Center::published(&["https://old"]);
    let mut modular = input(None);
    modular.destination = destination(false, true);
    drive(&center, modular).await.unwrap();
    assert_eq!(
        targets(&center.sent())[1],
        format!("plan+{}+submission:preview", resources::TECH_CONFIG)
    );
}

#[tokio::test]
async fn an_unfinished_upload_publishes_nothing_and_an_unknown_offer_is_named() {
    let center = Center::published(&["https://old"]);
    *center.complete.lock().unwrap() = false;
    let (out, _) = drive(&center, input(None)).await.unwrap();
    assert_eq!(out.status, AzurePublishStatus::UploadMissing);
    assert!(center.sent().is_empty());

    let center = Center::published(&["https://old"]);
    let mut unknown = input(None);
    unknown.destination.destination = "nope/rhel-9".into();
    unknown.destination.azure.as_mut().unwrap().offer = "nope".into();
    let err = drive(&center, unknown).await.unwrap_err();
    assert_eq!(
        err.message,
        "azure-na nope/rhel-9: no offer named \"nope\" in Partner Center"
    );
}
