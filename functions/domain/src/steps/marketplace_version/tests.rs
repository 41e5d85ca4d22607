use std::sync::Mutex;
use std::time::{Duration, UNIX_EPOCH};

use serde_json::{Value, json};

use super::*;
use crate::payloads::VersionInput;
use crate::plan::PlannedDestination;
use crate::ports::{
    ChangeSetState, ChangeSetSummary, DeliveryOption, OwnedImage, Product, ProductVersion,
};

const ENTITY: &str = "d87bcebf-9cf4-47f5-9b5b-5470d4490f3d";
const AMI: &str = "ami-0123456789abcdef0";

/// A catalog whose change sets run for `polls` describes, then succeed (or fail).
#[derive(Default)]
struct FakeCatalog {
    versions: Mutex<Vec<ProductVersion>>,
    started: Mutex<Vec<ChangeRequest>>,
    open: Mutex<Vec<ChangeSetSummary>>,
    polls: Mutex<u32>,
    fail_with: Option<Vec<String>>,
    lock_start: Mutex<u32>,
}

impl Catalog for FakeCatalog {
    async fn product(&self, _: &str) -> Result<Product, StepError> {
        Ok(Product {
            entity_type: "AmiProduct@1.0".into(),
            versions: self.versions.lock().unwrap().clone(),
        })
    }
    async fn open_change_sets(&self, _: &str) -> Result<Vec<ChangeSetSummary>, StepError> {
        Ok(self.open.lock().unwrap().clone())
    }
    async fn start(&self, request: &ChangeRequest) -> Result<Started, StepError> {
        let mut lock = self.lock_start.lock().unwrap();
        if *lock > 0 {
            *lock -= 1;
            return Ok(Started::Locked(
                "Requested change set has entities locked".into(),
            ));
        }
        let mut started = self.started.lock().unwrap();
        if let Some(i) = started.iter().position(|r| r.token == request.token) {
            return Ok(Started::ChangeSet(format!("cs-{i}")));
        }
        started.push(request.clone());
        let id = format!("cs-{}", started.len() - 1);
        self.open.lock().unwrap().push(ChangeSetSummary {
            id: id.clone(),
            name: Some(request.name.clone()),
            status: "PREPARING".into(),
        });
        Ok(Started::ChangeSet(id))
    }
    async fn change_set(&self, id: &str) -> Result<ChangeSetState, StepError> {
        let mut polls = self.polls.lock().unwrap();
        if *polls > 0 {
            *polls -= 1;
            return Ok(ChangeSetState {
                status: "APPLYING".into(),
                failure_code: None,
                failure_description: None,
                errors: vec![],
            });
        }
        self.open.lock().unwrap().retain(|c| c.id != id);
        if let Some(errors) = &self.fail_with {
            return Ok(ChangeSetState {
                status: "FAILED".into(),
                failure_code: Some("CLIENT_ERROR".into()),
                failure_description: None,
                errors: errors.clone(),
            });
        }
        let index: usize = id.trim_start_matches("cs-").parse().unwrap();
        let request = self.started.lock().unwrap()[index].clone();
        let mut versions = self.versions.lock().unwrap();
        match request.change_type.as_str() {
            "AddDeliveryOptions" => {
                let n = versions.len() + 100;
                versions.push(ProductVersion {
                    id: format!("version-{n}"),
                    title: request.details["Version"]["VersionTitle"]
                        .as_str()
                        .unwrap()
                        .into(),
                    created: Some("2099-01-01T00:00:00Z".into()),
                    delivery_options: vec![DeliveryOption {
                        id: format!("do-{n}"),
                        visibility: "Public".into(),
                    }],
                    amis: vec![
                        request.details["DeliveryOptions"][0]["Details"]["AmiDeliveryOptionDetails"]
                            ["AmiSource"]["AmiId"]
                            .as_str()
                            .unwrap()
                            .into(),
                    ],
                });
            }
            "RestrictDeliveryOptions" => {
                for id in request.details["DeliveryOptionIds"].as_array().unwrap() {
                    for v in versions.iter_mut() {
                        for o in v.delivery_options.iter_mut() {
                            if o.id == id.as_str().unwrap() {
                                o.visibility = "Restricted".into();
                            }
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(ChangeSetState {
            status: "SUCCEEDED".into(),
            failure_code: None,
            failure_description: None,
            errors: vec![],
        })
    }
}

/// AMIs by id with their snapshots and tags; records deletions.
#[derive(Default)]
struct FakeImages {
    images: Mutex<Vec<OwnedImage>>,
    deleted_snapshots: Mutex<Vec<String>>,
}

impl FakeImages {
    fn with(ids: &[&str]) -> Self {
        let images = ids
            .iter()
            .map(|id| OwnedImage {
                id: id.to_string(),
                snapshots: vec![format!("snap-{}", &id[4..])],
                tags: vec![],
            })
            .collect();
        FakeImages {
            images: Mutex::new(images),
            ..FakeImages::default()
        }
    }
    fn tags(&self, id: &str) -> Vec<(String, String)> {
        let images = self.images.lock().unwrap();
        images.iter().find(|i| i.id == id).unwrap().tags.clone()
    }
    fn ids(&self) -> Vec<String> {
        self.images
            .lock()
            .unwrap()
            .iter()
            .map(|i| i.id.clone())
            .collect()
    }
}

impl ProductImages for FakeImages {
    async fn image(&self, id: &str) -> Result<Option<OwnedImage>, StepError> {
        Ok(self
            .images
            .lock()
            .unwrap()
            .iter()
            .find(|i| i.id == id)
            .cloned())
    }
    async fn tag_image(&self, id: &str, tags: &[(String, String)]) -> Result<(), StepError> {
        let mut images = self.images.lock().unwrap();
        let image = images.iter_mut().find(|i| i.id == id).unwrap();
        image.tags.extend(tags.iter().cloned());
        Ok(())
    }
    async fn deregister(&self, id: &str) -> Result<(), StepError> {
        self.images.lock().unwrap().retain(|i| i.id != id);
        Ok(())
    }
    async fn delete_snapshot(&self, id: &str) -> Result<(), StepError> {
        self.deleted_snapshots.lock().unwrap().push(id.into());
        Ok(())
    }
}

fn destination(overwrite: bool, restrict: Option<(i64, i64)>) -> PlannedDestination {
    let d = json!({
        "account": "aws-na", "provider": "AWS", "destination": ENTITY, "region": "us-east-1",
        "partition": "aws", "billing_type": null,
        "ami_name": "Red Hat Enterprise Linux-9.4_HVM_GA-20240501-x86_64-1",
        "image_name": "Red Hat Enterprise Linux-9.4_HVM_GA-20240501-x86_64-1",
        "billing_codes": null, "public": false, "rhsm_product": null, "rhsm_provider": null,
        "architecture": "x86_64", "boot_mode": "uefi-preferred", "volume": "gp3", "bucket": "my-bucket",
        "sharing_accounts": ["679593333241"], "snapshot_accounts": [], "groups": [], "tags": {},
        "description": null, "virtualization": "hvm", "root_device": "/dev/sda1", "ena_support": true,
        "sriov_net_support": "simple",
        "release": {"product": "Red Hat Enterprise Linux", "date": "20240501", "arch": "x86_64", "respin": 1,
                    "version": "9.4", "base_product": null, "base_version": null, "variant": null, "type": "ga"},
    });
    let version = json!({
        "title": "9.4 20240501-1",
        "release_notes": "https://access.redhat.com/documentation/en-us/red_hat_enterprise_linux/9/html/9.4_release_notes/index",
        "usage_instructions": "Access your instance via ssh as ec2-user (RHEL 9.4).",
        "recommended_instance_type": "m5.large", "user_name": "ec2-user",
        "os_name": "RHEL", "os_version": "9.4", "scanning_port": 22,
        "security_groups": [{"from_port": 22, "ip_protocol": "tcp", "ip_ranges": ["0.0.0.0/0"], "to_port": 22}],
        "access_endpoint_url": null
    });
    let mut d = d;
    d["marketplace"] = json!({
        "entity_type": "AmiProduct", "overwrite": overwrite,
        "restrict_version": restrict.is_some(),
        "restrict_major": restrict.map(|r| r.0), "restrict_minor": restrict.map(|r| r.1),
        "version": version,
    });
    serde_json::from_value(d).expect("a planned destination")
}

fn input(d: PlannedDestination, progress: Option<VersionOutput>) -> VersionInput {
    VersionInput {
        id: "ds-0123456789ab".into(),
        push_id: "push-1".into(),
        destination: d,
        ami: AMI.into(),
        progress,
    }
}

fn cx<'a>(
    catalog: &'a FakeCatalog,
    images: &'a FakeImages,
) -> Context<'a, FakeCatalog, FakeImages> {
    Context {
        catalog,
        images,
        access_role_arn: "arn:aws:iam::000000000000:role/mkt",
        now: UNIX_EPOCH + Duration::from_secs(1_795_247_116), // 2026-11-21T07:45:16Z
    }
}

/// Calls the step until it is done, as the state machine does; returns every answer.
async fn drive(
    catalog: &FakeCatalog,
    images: &FakeImages,
    d: PlannedDestination,
) -> Result<Vec<VersionOutput>, StepError> {
    let mut answers: Vec<VersionOutput> = Vec::new();
    for _ in 0..20 {
        let out = run(
            &cx(catalog, images),
            &input(d.clone(), answers.last().cloned()),
        )
        .await?;
        let done = out.done;
        answers.push(out);
        if done {
            return Ok(answers);
        }
    }
    panic!("not done after 20 calls: {answers:?}");
}

fn version(title: &str, created: &str, n: usize) -> ProductVersion {
    ProductVersion {
        id: format!("version-{n}"),
        title: title.into(),
        created: Some(created.into()),
        delivery_options: vec![DeliveryOption {
            id: format!("do-{n}"),
            visibility: "Public".into(),
        }],
        amis: vec![format!("ami-{n:017}")],
    }
}

#[test]
fn the_release_date_tag_has_the_reference_format() {
    assert_eq!(
        release_date(UNIX_EPOCH + Duration::from_secs(1_795_247_116)),
        "2026112107::45::16"
    );
}

#[tokio::test]
async fn a_new_version_is_added_with_the_reference_body_and_waited_for() {
    let catalog = FakeCatalog {
        polls: Mutex::new(2),
        ..FakeCatalog::default()
    };
    let images = FakeImages::with(&[AMI]);
    let answers = drive(&catalog, &images, destination(false, None))
        .await
        .unwrap();
    let statuses: Vec<_> = answers.iter().map(|a| (a.phase, a.status)).collect();
    assert_eq!(
        statuses,
        [
            (VersionPhase::Version, VersionStatus::Applying),
            (VersionPhase::Version, VersionStatus::Applying),
            (VersionPhase::Version, VersionStatus::Applying),
            (VersionPhase::Done, VersionStatus::Done),
        ]
    );
    let started = catalog.started.lock().unwrap().clone();
    assert_eq!(started.len(), 1);
    let r = &started[0];
    assert_eq!(
        (
            r.change_type.as_str(),
            r.entity_type.as_str(),
            r.entity_id.as_str(),
            r.intent.as_str()
        ),
        ("AddDeliveryOptions", "AmiProduct@1.0", ENTITY, "APPLY")
    );
    assert!(!r.details_as_string);
    assert_eq!(r.name, "vmpush-ds-0123456789ab-version");
    assert_eq!(r.token.len(), 32);
    let want: Value = json!({"Version": {"VersionTitle": "9.4 20240501-1",
      "ReleaseNotes": "https://access.redhat.com/documentation/en-us/red_hat_enterprise_linux/9/html/9.4_release_notes/index"},
      "DeliveryOptions": [{"Details": {"AmiDeliveryOptionDetails": {
        "AmiSource": {"AmiId": AMI, "AccessRoleArn": "arn:aws:iam::000000000000:role/mkt", "UserName": "ec2-user",
                      "OperatingSystemName": "RHEL", "OperatingSystemVersion": "9.4", "ScanningPort": 22},
        "UsageInstructions": "Access your instance via ssh as ec2-user (RHEL 9.4).", "RecommendedInstanceType": "m5.large",
        "SecurityGroups": [{"FromPort": 22, "IpProtocol": "tcp", "IpRanges": ["0.0.0.0/0"], "ToPort": 22}]}}}]});
    assert_eq!(r.details, want);
    let last = answers.last().unwrap();
    assert_eq!(last.change_set.as_deref(), Some("cs-0"));
    assert_eq!(last.change_type.as_deref(), Some("AddDeliveryOptions"));
    assert!(!last.existing);
    assert_eq!(
        images.tags(AMI),
        [("release_date".to_string(), "2026112107::45::16".to_string())]
    );
}

#[tokio::test]
async fn a_title_already_there_starts_nothing() {
    let catalog = FakeCatalog::default();
    catalog.versions.lock().unwrap().push(version(
        "9.4 20240501-1 (hotfix)",
        "2024-05-02T00:00:00Z",
        1,
    ));
    let images = FakeImages::with(&[AMI]);
    let answers = drive(&catalog, &images, destination(false, None))
        .await
        .unwrap();
    assert_eq!(answers.len(), 1);
    assert!(answers[0].existing && answers[0].done);
    assert_eq!(answers[0].change_set, None);
    assert!(catalog.started.lock().unwrap().is_empty());
    assert_eq!(images.tags(AMI).len(), 1);
}

#[tokio::test]
async fn overwrite_updates_the_version_of_that_exact_title() {
    let catalog = FakeCatalog::default();
    catalog
        .versions
        .lock()
        .unwrap()
        .extend([version("9.4 20240501-1", "2024-05-02T00:00:00Z", 7)]);
    let images = FakeImages::with(&[AMI]);
    drive(&catalog, &images, destination(true, None))
        .await
        .unwrap();
    let started = catalog.started.lock().unwrap().clone();
    assert_eq!(started.len(), 1);
    assert_eq!(started[0].change_type, "UpdateDeliveryOptions");
    assert_eq!(started[0].details["DeliveryOptions"][0]["Id"], "do-7");
    // the version now carrying this AMI, a second run updates nothing
    catalog.versions.lock().unwrap()[0].amis = vec![AMI.into()];
    let again = drive(&catalog, &images, destination(true, None))
        .await
        .unwrap();
    assert!(again[0].existing);
    assert_eq!(catalog.started.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_locked_entity_is_waited_for_and_an_own_change_set_adopted() {
    let catalog = FakeCatalog::default();
    catalog.open.lock().unwrap().push(ChangeSetSummary {
        id: "cs-other".into(),
        name: Some("someone else".into()),
        status: "APPLYING".into(),
    });
    let images = FakeImages::with(&[AMI]);
    let d = destination(false, None);
    let first = run(&cx(&catalog, &images), &input(d.clone(), None))
        .await
        .unwrap();
    assert_eq!((first.status, first.done), (VersionStatus::Locked, false));
    assert!(first.waiting_for.unwrap().contains("cs-other"));
    assert!(catalog.started.lock().unwrap().is_empty());
    // the lock goes; StartChangeSet still answers ResourceInUseException once
    catalog.open.lock().unwrap().clear();
    *catalog.lock_start.lock().unwrap() = 1;
    let second = run(&cx(&catalog, &images), &input(d.clone(), None))
        .await
        .unwrap();
    assert_eq!(second.status, VersionStatus::Locked);
    // started; the answer is lost: the next first call adopts the open change set by name
    let third = run(&cx(&catalog, &images), &input(d.clone(), None))
        .await
        .unwrap();
    assert_eq!(third.status, VersionStatus::Applying);
    let retried = run(&cx(&catalog, &images), &input(d, None)).await.unwrap();
    assert_eq!(retried.change_set, third.change_set);
    assert_eq!(catalog.started.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn tokens_follow_the_push_destination_and_change() {
    let catalog = FakeCatalog::default();
    let images = FakeImages::with(&[AMI]);
    let d = destination(false, None);
    run(&cx(&catalog, &images), &input(d.clone(), None))
        .await
        .unwrap();
    catalog.open.lock().unwrap().clear();
    let mut other = input(d, None);
    other.push_id = "push-2".into();
    run(&cx(&catalog, &images), &other).await.unwrap();
    let started = catalog.started.lock().unwrap();
    assert_eq!(started.len(), 2);
    assert_ne!(started[0].token, started[1].token);
}

#[tokio::test]
async fn a_failed_change_set_fails_the_destination_with_its_details() {
    let catalog = FakeCatalog {
        fail_with: Some(vec![
            "INVALID_AMI_ID: AmiId 'x' is not a valid AMI id".into(),
        ]),
        ..FakeCatalog::default()
    };
    let images = FakeImages::with(&[AMI]);
    let err = drive(&catalog, &images, destination(false, None))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Fatal);
    assert_eq!(
        err.message,
        format!(
            "aws-na {ENTITY}: Changeset cs-0 failed with code CLIENT_ERROR: INVALID_AMI_ID: AmiId 'x' is not a valid AMI id"
        )
    );
    assert!(images.tags(AMI).is_empty(), "nothing tagged");
}

#[tokio::test]
async fn restriction_restricts_the_reference_versions_and_deletes_their_amis() {
    let catalog = FakeCatalog::default();
    catalog.versions.lock().unwrap().extend([
        version("7.9 20200101-1", "2020-01-01T00:00:00Z", 1),
        version("8.10 20240101-1", "2024-01-01T00:00:00Z", 2),
        version("9.2 20230601-1", "2023-06-01T00:00:00Z", 3),
        version("9.4 20240401-1", "2024-04-01T00:00:00Z", 4),
    ]);
    let images = FakeImages::with(&[
        AMI,
        "ami-00000000000000001",
        "ami-00000000000000003",
        "ami-00000000000000004",
    ]);
    let answers = drive(&catalog, &images, destination(false, Some((2, 1))))
        .await
        .unwrap();
    let last = answers.last().unwrap();
    assert!(last.done);
    let started = catalog.started.lock().unwrap().clone();
    let kinds: Vec<_> = started.iter().map(|r| r.change_type.as_str()).collect();
    assert_eq!(kinds, ["AddDeliveryOptions", "RestrictDeliveryOptions"]);
    assert!(started[1].details_as_string);
    // majors 9 and 8 kept (7 goes); one minor per major (9.2 goes); 9.4: only the newest
    // (the one just added) stays
    assert_eq!(
        started[1].details,
        json!({"DeliveryOptionIds": ["do-1", "do-3", "do-4"]})
    );
    assert_eq!(last.restricted, ["do-1", "do-3", "do-4"]);
    // the restricted versions' AMIs deleted, the one just published and 8.10's kept
    assert_eq!(
        last.deleted_amis,
        [
            "ami-00000000000000001",
            "ami-00000000000000003",
            "ami-00000000000000004"
        ]
    );
    assert_eq!(last.deleted_snapshots.len(), 3);
    assert_eq!(images.ids(), [AMI]);
    // found in one call, deleted in the next
    let retiring = &answers[answers.len() - 2];
    assert_eq!(
        (retiring.phase, retiring.done),
        (VersionPhase::Retire, false)
    );
    assert_eq!(retiring.retiring.len(), 3);
}

#[tokio::test]
async fn a_retire_killed_after_deregistering_still_deletes_the_snapshot() {
    let catalog = FakeCatalog::default();
    let images = FakeImages::with(&[AMI, "ami-00000000000000001"]);
    // GIVEN the call before found the restricted AMI and its snapshot
    let progress = VersionOutput {
        id: "ds-1".into(),
        phase: VersionPhase::Retire,
        status: VersionStatus::Applying,
        entity: ENTITY.into(),
        retiring: vec![RetiringImage {
            ami: "ami-00000000000000001".into(),
            snapshots: vec!["snap-00000000000000001".into()],
        }],
        ..VersionOutput::default()
    };
    // AND a call that deregistered the AMI was killed before deleting the snapshot
    images.deregister("ami-00000000000000001").await.unwrap();
    // WHEN the call is retried
    let out = run(
        &cx(&catalog, &images),
        &input(destination(false, Some((2, 1))), Some(progress)),
    )
    .await
    .unwrap();
    // THEN the snapshot is deleted and both are reported gone
    assert!(out.done);
    assert_eq!(out.deleted_amis, ["ami-00000000000000001"]);
    assert_eq!(out.deleted_snapshots, ["snap-00000000000000001"]);
    assert_eq!(
        *images.deleted_snapshots.lock().unwrap(),
        ["snap-00000000000000001"]
    );
    assert!(catalog.started.lock().unwrap().is_empty());
}
