use super::*;
use crate::inputs::push::parse_request;
use crate::inputs::starmap::NoServer;
use crate::inputs::tree::MemoryTree;
use crate::plan::worklist::Surveyed;
use crate::ports::{Image, RegionSurvey, SnapshotState};
use crate::steps::ErrorKind;
use serde_json::json;
use std::collections::BTreeMap;

const RESOURCES: &str = include_str!(
    "../../../../../tests/fixtures/peer-kit-1image/staged/starmap/CLOUD_IMAGES/rhel-ec2-9.0-10/resources.yaml"
);
const MAPPING: &str = include_str!("../../../../../tests/fixtures/peer-kit-1image/mapping.yaml");

struct Trees;

impl StagedTrees for Trees {
    async fn staged_tree(&self, bucket: &str, prefix: &str) -> Result<MemoryTree, StepError> {
        let dir = "starmap/CLOUD_IMAGES/rhel-ec2-9.0-10";
        Ok(MemoryTree::from_contents(
            format!("s3://{bucket}/{prefix}"),
            [
                (
                    format!("{dir}/resources.yaml").as_str(),
                    RESOURCES.as_bytes(),
                ),
                (
                    format!("{dir}/rhel-ec2-9.0-10.x86_64.raw.xz").as_str(),
                    b"xz".as_slice(),
                ),
            ],
        )?)
    }
}

struct Groups(Vec<(&'static str, &'static str)>);

impl Rhsm for Groups {
    async fn image_groups(&self) -> Result<Vec<(String, String)>, StepError> {
        Ok(self
            .0
            .iter()
            .map(|(n, p)| (n.to_string(), p.to_string()))
            .collect())
    }
}

fn push(product: Option<&str>) -> Push {
    let mut repo: serde_json::Value = serde_yaml_ng::from_str(MAPPING).unwrap();
    if let Some(p) = product {
        repo[0]["mappings"]["aws-us-storage"]["meta"]["release"]["product"] = json!(p);
    }
    let request = json!({"push_id": "p1", "sources": ["staged:s3://staging/drops/p1"], "starmap": {"mode": "offline", "repo": repo}});
    parse_request("push.json", request.to_string().as_bytes())
        .unwrap()
        .validate(None)
        .unwrap()
}

/// EC2 of every region in memory: the AMIs by (account, region), the explicit launch and
/// create-volume permissions (AMI or snapshot id, account), the regions that block public
/// sharing, the regions whose calls fail, and every call made.
#[derive(Default)]
struct Ec2 {
    images: Vec<(&'static str, &'static str, String, Image)>,
    snapshots: Vec<(&'static str, &'static str, String, SnapshotState)>,
    grants: Vec<(&'static str, &'static str)>,
    blocking: Vec<&'static str>,
    failing: Vec<&'static str>,
    calls: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

struct Ec2Region {
    region: String,
    images: Vec<(String, Image)>,
    snapshots: Vec<(String, SnapshotState)>,
    grants: Vec<(&'static str, &'static str)>,
    blocked: bool,
    fails: bool,
    calls: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Ec2Region {
    /// Of `ids`, those granted to `user`, the call recorded as `call`.
    fn granted(&self, call: String, ids: &[String], user: &str) -> Vec<String> {
        self.calls.lock().unwrap().push(call);
        ids.iter()
            .filter(|id| self.grants.contains(&(id.as_str(), user)))
            .cloned()
            .collect()
    }
}

impl Surveys for Ec2 {
    type Region = Ec2Region;
    async fn region(&self, account: &str, region: &str) -> Result<Ec2Region, StepError> {
        Ok(Ec2Region {
            region: region.into(),
            images: self
                .images
                .iter()
                .filter(|(a, r, _, _)| *a == account && *r == region)
                .map(|(_, _, n, i)| (n.clone(), i.clone()))
                .collect(),
            snapshots: self
                .snapshots
                .iter()
                .filter(|(a, r, _, _)| *a == account && *r == region)
                .map(|(_, _, n, s)| (n.clone(), s.clone()))
                .collect(),
            grants: self.grants.clone(),
            blocked: self.blocking.contains(&region),
            fails: self.failing.contains(&region),
            calls: self.calls.clone(),
        })
    }
}

impl RegionSurvey for Ec2Region {
    async fn images_named(&self, names: &[String]) -> Result<Vec<(String, Image)>, StepError> {
        self.calls.lock().unwrap().push(format!(
            "DescribeImages {} ({} names)",
            self.region,
            names.len()
        ));
        if self.fails {
            return Err(StepError::new(ErrorKind::Fatal, "UnauthorizedOperation"));
        }
        Ok(self
            .images
            .iter()
            .filter(|(n, _)| names.contains(n))
            .cloned()
            .collect())
    }
    async fn sharing_blocked(&self) -> Result<bool, StepError> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("GetImageBlockPublicAccessState {}", self.region));
        Ok(self.blocked)
    }
    async fn snapshots_named(
        &self,
        names: &[String],
    ) -> Result<Vec<(String, SnapshotState)>, StepError> {
        self.calls.lock().unwrap().push(format!(
            "DescribeSnapshots {} ({} names)",
            self.region,
            names.len()
        ));
        Ok(self
            .snapshots
            .iter()
            .filter(|(n, _)| names.contains(n))
            .cloned()
            .collect())
    }
    async fn launchable_by(&self, ids: &[String], user: &str) -> Result<Vec<String>, StepError> {
        let call = format!(
            "DescribeImages {} ExecutableUsers={user} ({} ids)",
            self.region,
            ids.len()
        );
        Ok(self.granted(call, ids, user))
    }
    async fn restorable_by(&self, ids: &[String], user: &str) -> Result<Vec<String>, StepError> {
        let call = format!(
            "DescribeSnapshots {} RestorableByUserIds={user} ({} ids)",
            self.region,
            ids.len()
        );
        Ok(self.granted(call, ids, user))
    }
}

fn context<'a>(groups: Option<&'a Groups>) -> Context<'a, Trees, Groups, NoServer, Ec2> {
    Context {
        trees: &Trees,
        rhsm: groups,
        starmap: None,
        credentials: None,
        require_billing_codes: true,
        surveys: None,
    }
}

#[tokio::test]
async fn peer_kit_push_becomes_one_upload_two_imports_eight_destinations() {
    let groups = Groups(vec![("RHEL", "AWS"), ("RHEL_HOURLY", "AWS")]);
    let list = run(&push(None), context(Some(&groups))).await.unwrap();
    assert_eq!(list.uploads.len(), 1);
    let u = &list.uploads[0];
    assert_eq!(
        (u.account.as_str(), u.region.as_str(), u.bucket.as_str()),
        ("aws-us-storage", "us-east-1", "redhat-cloudimg-us-east-1")
    );
    assert_eq!(
        u.source_key,
        "drops/p1/starmap/CLOUD_IMAGES/rhel-ec2-9.0-10/rhel-ec2-9.0-10.x86_64.raw.xz"
    );
    // import (billing codes) / copy region / destination billing types
    let tree: Vec<String> = u
        .imports
        .iter()
        .flat_map(|i| {
            i.copies.iter().map(|c| {
                let types: Vec<&str> = c
                    .destinations
                    .iter()
                    .map(|d| d.destination.billing_type.as_deref().unwrap_or(""))
                    .collect();
                format!(
                    "{}/{}/{}",
                    i.billing_codes.join(","),
                    c.region,
                    types.join(",")
                )
            })
        })
        .collect();
    assert_eq!(
        tree,
        [
            "bp-6fa54006/us-east-1/hourly",
            "bp-6fa54006/us-east-2/hourly",
            "bp-6fa54006/us-west-1/hourly",
            "bp-6fa54006/us-west-2/hourly",
            "bp-63a5400a/us-east-1/access",
            "bp-63a5400a/us-east-2/access",
            "bp-63a5400a/us-west-1/access",
            "bp-63a5400a/us-west-2/access",
        ]
    );
    assert_eq!(list.leaves().count(), 8);
}

#[tokio::test]
async fn a_product_missing_in_rhsm_fails_before_anything() {
    let groups = Groups(vec![("RHEL", "AWS"), ("RHEL_HOURLY", "AWS")]);
    let err = run(&push(Some("FEDORA")), context(Some(&groups)))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(err.message.starts_with("Pre-push verification of push items in metadata service failed: Product not in RHSM: FEDORA_HOURLY (provider AWS) for starmap/CLOUD_IMAGES/rhel-ec2-9.0-10/rhel-ec2-9.0-10.x86_64.raw.xz at us-east-1-hourly"), "{}", err.message);
    let err = run(&push(None), context(None)).await.unwrap_err();
    assert_eq!(
        err.message,
        "RHSM URL not provided for the RHSM client (VMPUSH_RHSM_URL)"
    );
}

/// A staged VHD, for the Azure guard.
struct VhdTrees;

impl StagedTrees for VhdTrees {
    async fn staged_tree(&self, bucket: &str, prefix: &str) -> Result<MemoryTree, StepError> {
        let dir = "starmap/CLOUD_IMAGES/rhel-azure-9.4-1";
        let resources = "api: v1\nresource: CloudImage\ndescription: RHEL for Azure\ntype: VHD\n\
                         build: {name: rhel-azure, version: \"9.4\", respin: \"1\"}\nrelease: {date: \"20240501\"}\n\
                         images:\n  - {path: rhel-azure-9.4-1.x86_64.vhd.xz, architecture: x86_64}\n";
        Ok(MemoryTree::from_contents(
            format!("s3://{bucket}/{prefix}"),
            [
                (
                    format!("{dir}/resources.yaml").as_str(),
                    resources.as_bytes(),
                ),
                (
                    format!("{dir}/rhel-azure-9.4-1.x86_64.vhd.xz").as_str(),
                    b"xz".as_slice(),
                ),
            ],
        )?)
    }
}

#[tokio::test]
async fn azure_destinations_become_an_upload_and_an_offer_queue() {
    let repo = json!([{"name": "rhel-azure", "cloud": "azure", "workflow": "stratosphere",
        "mappings": {"azure-na": {"destinations": [
            {"architecture": "x86_64", "destination": "rhel-offer/rhel-9", "overwrite": false,
             "restrict_version": false}]}}}]);
    let request = json!({"push_id": "p1", "sources": ["staged:s3://staging/drops/p1"],
        "workflow": "marketplace", "starmap": {"mode": "offline", "repo": repo}});
    let push = parse_request("push.json", request.to_string().as_bytes())
        .unwrap()
        .validate(None)
        .unwrap();
    let context = Context {
        trees: &VhdTrees,
        rhsm: None::<&Groups>,
        starmap: None::<NoServer>,
        credentials: None,
        require_billing_codes: true,
        surveys: None::<&Ec2>,
    };
    let list = run(&push, context).await.unwrap();
    assert!(list.uploads.is_empty());
    let upload = &list.azure_uploads[0];
    assert_eq!(
        (upload.container.as_str(), upload.blob.as_str()),
        ("pubupload", "rhel-azure-9.4-1.x86_64.vhd")
    );
    let offer = &list.azure_offers[0];
    assert_eq!(
        (offer.account.as_str(), offer.offer.as_str()),
        ("azure-na", "rhel-offer")
    );
    let d = &offer.destinations[0];
    assert_eq!(
        (d.upload.as_str(), d.blob.as_str()),
        (upload.id.as_str(), upload.blob.as_str())
    );
    assert_eq!(d.destination.azure.as_ref().unwrap().plan, "rhel-9");
}

#[tokio::test]
async fn the_survey_looks_each_region_up_once_and_each_destination_carries_its_findings() {
    let groups = Groups(vec![("RHEL", "AWS"), ("RHEL_HOURLY", "AWS")]);
    let plain = run(&push(None), context(Some(&groups))).await.unwrap();
    assert!(plain.leaves().all(|l| l.work.surveyed.is_none()));
    let name_of = |region: &str, billing: &str| {
        plain
            .leaves()
            .find(|l| {
                l.copy.region == region
                    && l.work.destination.billing_type.as_deref() == Some(billing)
            })
            .and_then(|l| l.work.destination.ami_name.clone())
            .unwrap()
    };
    // the snapshot names of the hourly and the access imports
    let snap_of = |billing: &str| {
        let leaf = plain
            .leaves()
            .find(|l| l.work.destination.billing_type.as_deref() == Some(billing))
            .unwrap();
        crate::steps::import_snapshot::snapshot_name(
            leaf.upload.sha256.as_deref().unwrap(),
            &leaf.import.billing_codes,
        )
    };
    let snapshot = |id: &str, state: &str| SnapshotState {
        id: id.into(),
        state: state.into(),
        progress: None,
        message: None,
        description: None,
    };
    let image = |id: &str, public: bool| Image {
        id: format!("ami-{id}"),
        state: "available".into(),
        snapshot_id: Some(format!("snap-ami-{id}")),
        public,
    };
    let ec2 = Ec2 {
        images: vec![
            // pushed before, public: nothing to check
            (
                "aws-us-storage",
                "us-east-1",
                name_of("us-east-1", "hourly"),
                image("a1", true),
            ),
            (
                "aws-us-storage",
                "us-east-1",
                name_of("us-east-1", "access"),
                image("a2", false),
            ),
            // shared, not yet public
            (
                "aws-us-storage",
                "us-east-2",
                name_of("us-east-2", "hourly"),
                image("b1", false),
            ),
            // two of a name: left for publish to report
            (
                "aws-us-storage",
                "us-west-1",
                name_of("us-west-1", "access"),
                image("c1", false),
            ),
            (
                "aws-us-storage",
                "us-west-1",
                name_of("us-west-1", "access"),
                image("c2", false),
            ),
            // another account's AMI of the name is not this push's
            (
                "aws-us-other",
                "us-east-2",
                name_of("us-east-2", "access"),
                image("x", false),
            ),
        ],
        snapshots: vec![
            (
                "aws-us-storage",
                "us-east-1",
                snap_of("hourly"),
                snapshot("snap-h1", "completed"),
            ),
            // still being made: its import follows it
            (
                "aws-us-storage",
                "us-east-1",
                snap_of("access"),
                snapshot("snap-a1", "pending"),
            ),
            (
                "aws-us-storage",
                "us-east-2",
                snap_of("hourly"),
                snapshot("snap-h2", "completed"),
            ),
            // two of the name: left for the copy to sort out
            (
                "aws-us-storage",
                "us-west-1",
                snap_of("hourly"),
                snapshot("snap-h3", "completed"),
            ),
            (
                "aws-us-storage",
                "us-west-1",
                snap_of("hourly"),
                snapshot("snap-h4", "completed"),
            ),
            // another account's
            (
                "aws-us-other",
                "us-east-2",
                snap_of("access"),
                snapshot("snap-x", "completed"),
            ),
        ],
        grants: vec![
            ("ami-a1", "111122223333"),
            ("ami-a1", "444455556666"),
            ("snap-ami-a1", "777788889999"),
            ("ami-a2", "111122223333"),
            // another account's AMI
            ("ami-x", "111122223333"),
        ],
        blocking: vec!["us-east-2"],
        failing: vec!["us-west-2"],
        ..Ec2::default()
    };
    let mut with_survey = context(Some(&groups));
    with_survey.surveys = Some(&ec2);
    let list = run(&push(None), with_survey).await.unwrap();
    let mut calls = ec2.calls.lock().unwrap().clone();
    calls.sort();
    assert_eq!(
        calls,
        [
            "DescribeImages us-east-1 (2 names)",
            "DescribeImages us-east-1 ExecutableUsers=111122223333 (2 ids)",
            "DescribeImages us-east-1 ExecutableUsers=444455556666 (2 ids)",
            "DescribeImages us-east-2 (2 names)",
            "DescribeImages us-east-2 ExecutableUsers=111122223333 (1 ids)",
            "DescribeImages us-east-2 ExecutableUsers=444455556666 (1 ids)",
            "DescribeImages us-west-1 (2 names)",
            "DescribeImages us-west-1 ExecutableUsers=111122223333 (2 ids)",
            "DescribeImages us-west-1 ExecutableUsers=444455556666 (2 ids)",
            "DescribeImages us-west-2 (2 names)",
            "DescribeSnapshots us-east-1 (2 names)",
            "DescribeSnapshots us-east-1 RestorableByUserIds=777788889999 (2 ids)",
            "DescribeSnapshots us-east-2 (2 names)",
            "DescribeSnapshots us-east-2 RestorableByUserIds=777788889999 (1 ids)",
            "DescribeSnapshots us-west-1 (2 names)",
            "DescribeSnapshots us-west-1 RestorableByUserIds=777788889999 (2 ids)",
            "GetImageBlockPublicAccessState us-east-2",
            "GetImageBlockPublicAccessState us-west-1",
        ],
        "one look-up per region for all its AMI names and one for all its snapshot names; the \
         block state only where an image is still to become public; where AMIs were found, one permission look-up per sharing account \
         and per snapshot account"
    );
    let strings = |users: &[&str]| Some(users.iter().map(|u| u.to_string()).collect());
    let found = |region: &str, billing: &str| {
        list.leaves()
            .find(|l| {
                l.copy.region == region
                    && l.work.destination.billing_type.as_deref() == Some(billing)
            })
            .unwrap()
            .work
            .surveyed
            .clone()
    };
    assert_eq!(
        found("us-east-1", "hourly"),
        Some(Surveyed {
            image: Some(image("a1", true)),
            sharing_blocked: None,
            launch_users: strings(&["111122223333", "444455556666"]),
            volume_users: strings(&["777788889999"]),
        })
    );
    assert_eq!(
        found("us-east-1", "access"),
        Some(Surveyed {
            image: Some(image("a2", false)),
            sharing_blocked: None,
            launch_users: strings(&["111122223333"]),
            volume_users: strings(&[]),
        }),
        "access images never become public: no block state"
    );
    assert_eq!(
        found("us-east-2", "hourly"),
        Some(Surveyed {
            image: Some(image("b1", false)),
            sharing_blocked: Some(true),
            launch_users: strings(&[]),
            volume_users: strings(&[]),
        })
    );
    assert_eq!(
        found("us-east-2", "access"),
        Some(Surveyed {
            image: None,
            sharing_blocked: Some(true),
            ..Surveyed::default()
        }),
        "none of this account's of the name"
    );
    assert_eq!(found("us-west-1", "access"), None, "two of the name");
    assert_eq!(
        found("us-west-1", "hourly"),
        Some(Surveyed {
            image: None,
            sharing_blocked: Some(false),
            ..Surveyed::default()
        })
    );
    assert_eq!(
        found("us-west-2", "hourly"),
        None,
        "a failed region is not surveyed"
    );
    assert_eq!(found("us-west-2", "access"), None);

    // the imports and copies: a snapshot is taken only when it is the one of its name in the
    // region, and completed
    let import_of = |billing: &str| {
        let leaf = list
            .leaves()
            .find(|l| l.work.destination.billing_type.as_deref() == Some(billing))
            .unwrap();
        assert_eq!(leaf.upload.region, "us-east-1", "the home region");
        let copies: BTreeMap<String, Option<String>> = leaf
            .import
            .copies
            .iter()
            .map(|c| (c.region.clone(), c.surveyed.clone()))
            .collect();
        (leaf.import.surveyed.clone(), copies)
    };
    let regions = |found: [Option<&str>; 4]| -> BTreeMap<String, Option<String>> {
        ["us-east-1", "us-east-2", "us-west-1", "us-west-2"]
            .into_iter()
            .zip(found)
            .map(|(r, s)| (r.to_string(), s.map(str::to_string)))
            .collect()
    };
    assert_eq!(
        import_of("hourly"),
        (
            Some("snap-h1".to_string()),
            regions([Some("snap-h1"), Some("snap-h2"), None, None])
        )
    );
    assert_eq!(
        import_of("access"),
        (None, regions([None; 4])),
        "pending, or another account's"
    );
    // a snapshot found (completed or pending) is never taken as absent
    let hourly = list
        .leaves()
        .find(|l| l.work.destination.billing_type.as_deref() == Some("hourly"))
        .unwrap();
    assert!(!hourly.import.absent);
    assert_eq!(
        hourly
            .import
            .copies
            .iter()
            .filter(|c| c.surveyed.is_some())
            .map(|c| c.absent)
            .collect::<Vec<_>>(),
        [false, false]
    );

    // a pre-push makes nothing public: no block state anywhere
    let ec2 = Ec2::default();
    let mut pre = push(None);
    pre.request.pre_push = true;
    let mut with_survey = context(Some(&groups));
    with_survey.surveys = Some(&ec2);
    let list = run(&pre, with_survey).await.unwrap();
    assert_eq!(
        ec2.calls.lock().unwrap().len(),
        8,
        "per region the AMI names and the snapshot names; none found (a first push): no \
         permission is looked up"
    );
    // nothing found anywhere: every import and copy starts without a look-up of its own
    assert!(list.uploads.iter().all(|u| {
        u.imports.iter().all(|i| {
            i.surveyed.is_none()
                && i.absent
                && i.copies.iter().all(|c| c.surveyed.is_none() && c.absent)
        })
    }));
    assert!(list.leaves().all(|l| l.work.surveyed
        == Some(Surveyed {
            image: None,
            ..Surveyed::default()
        })));
}
