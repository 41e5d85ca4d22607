use std::sync::Mutex;

use serde_json::json;

use super::*;
use crate::payloads::*;
use crate::plan::ImageFeatures;
use crate::ports::*;

/// One region of EC2 in memory.
#[derive(Default)]
struct Region {
    images: Mutex<Vec<(Image, String)>>,
    registered: Mutex<Vec<RegisterRequest>>,
    launch: Mutex<LaunchPermissions>,
    volume: Mutex<Vec<String>>,
    snapshot_tags: Mutex<Vec<(String, String)>>,
    calls: Mutex<Vec<String>>,
    blocked: bool,
    /// RegisterImage loses a race: another AMI of the name appears, Duplicate is answered.
    race: bool,
}

impl Region {
    fn log(&self, call: &str) {
        self.calls.lock().unwrap().push(call.into());
    }
    fn count(&self, call: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| *c == call)
            .count()
    }
}

impl Images for Region {
    async fn find(&self, name: &str) -> Result<Vec<Image>, StepError> {
        self.log("DescribeImages");
        let public = self
            .launch
            .lock()
            .unwrap()
            .groups
            .iter()
            .any(|g| g == "all");
        Ok(self
            .images
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, n)| n == name)
            .map(|(i, _)| Image {
                public,
                ..i.clone()
            })
            .collect())
    }
    async fn register(&self, request: &RegisterRequest) -> Result<Registered, StepError> {
        self.log("RegisterImage");
        let image = |id: &str| Image {
            id: id.into(),
            state: "available".into(),
            snapshot_id: Some(request.snapshot_id.clone()),
            public: false,
        };
        if self.race {
            self.images
                .lock()
                .unwrap()
                .push((image("ami-other"), request.name.clone()));
            return Ok(Registered::Duplicate);
        }
        self.registered.lock().unwrap().push(request.clone());
        self.images
            .lock()
            .unwrap()
            .push((image("ami-new"), request.name.clone()));
        Ok(Registered::Created("ami-new".into()))
    }
    async fn tag_snapshot(&self, _: &str, tags: &[(String, String)]) -> Result<(), StepError> {
        self.log("CreateTags");
        self.snapshot_tags.lock().unwrap().extend_from_slice(tags);
        Ok(())
    }
    async fn launch_permissions(&self, _: &str) -> Result<LaunchPermissions, StepError> {
        self.log("DescribeImageAttribute");
        Ok(self.launch.lock().unwrap().clone())
    }
    async fn add_launch_permissions(
        &self,
        _: &str,
        add: &LaunchPermissions,
    ) -> Result<(), StepError> {
        self.log("ModifyImageAttribute");
        if self.blocked && add.groups.iter().any(|g| g == "all") {
            return Err(StepError::new(
                ErrorKind::Fatal,
                "ModifyImageAttribute: OperationNotPermitted: public sharing is blocked",
            ));
        }
        let mut launch = self.launch.lock().unwrap();
        launch.users.extend_from_slice(&add.users);
        launch.groups.extend_from_slice(&add.groups);
        launch.organizations.extend_from_slice(&add.organizations);
        launch
            .organizational_units
            .extend_from_slice(&add.organizational_units);
        Ok(())
    }
    async fn volume_permissions(&self, _: &str) -> Result<Vec<String>, StepError> {
        self.log("DescribeSnapshotAttribute");
        Ok(self.volume.lock().unwrap().clone())
    }
    async fn add_volume_permissions(&self, _: &str, users: &[String]) -> Result<(), StepError> {
        self.log("ModifySnapshotAttribute");
        self.volume.lock().unwrap().extend_from_slice(users);
        Ok(())
    }
    async fn public_sharing_blocked(&self) -> Result<bool, StepError> {
        self.log("GetImageBlockPublicAccessState");
        Ok(self.blocked)
    }
}

const NAME: &str = "RHEL-9.0.0_HVM_GA-20250101-x86_64-10-Hourly2-GP3";

fn input(public: bool) -> PublishInput {
    let destination = json!({
        "account": "aws-us-storage", "provider": "AWS", "destination": "us-east-1-hourly",
        "region": "us-east-1", "partition": "aws", "billing_type": "hourly", "ami_name": NAME,
        "image_name": NAME, "billing_codes": {"name": "Hourly2", "codes": ["bp-6fa54006"]},
        "public": public, "rhsm_product": "RHEL_HOURLY", "rhsm_provider": "AWS",
        "architecture": "x86_64", "boot_mode": "uefi-preferred", "volume": "gp3",
        "bucket": "redhat-cloudimg-us-east-1",
        "sharing_accounts": ["111122223333", "aws-us-gov:444455556666", "aws:555566667777"],
        "snapshot_accounts": ["777788889999"], "groups": [],
        "tags": {"nvra": "rhel-ec2-9.0-10.x86_64", "billing_type": "hourly"},
        "description": "Provided by Red Hat, Inc.", "virtualization": "hvm",
        "root_device": "/dev/sda1", "ena_support": true, "sriov_net_support": "simple",
        "release": {"product": "RHEL", "date": "20250101", "arch": "x86_64", "respin": 10,
                    "version": "9.0", "base_product": null, "base_version": null,
                    "variant": "BaseOS", "type": "ga"},
        "marketplace": null});
    PublishInput {
        id: "ds-0123456789ab".into(),
        action: PublishAction::Share,
        destination: serde_json::from_value(destination).unwrap(),
        snapshot_id: "snap-1".into(),
        pre_push: false,
        public_snapshot: false,
        tags: vec![("vmpush:push-id".into(), "p1".into())],
        ami: None,
        public: false,
        surveyed: None,
        new_snapshot: false,
        copy_tags: Vec::new(),
    }
}

fn release(mut input: PublishInput) -> PublishInput {
    input.action = PublishAction::Release;
    input
}

#[tokio::test]
async fn a_new_public_ami_is_registered_and_shared_then_released_once() {
    let region = Region::default();
    let out = run(&region, &input(true)).await.unwrap();
    assert_eq!(
        out,
        PublishOutput {
            id: "ds-0123456789ab".into(),
            ami: "ami-new".into(),
            name: NAME.into(),
            region: "us-east-1".into(),
            snapshot: "snap-1".into(),
            created: true,
            public: false,
            release: true,
            version: false,
            shared_with: vec!["111122223333".into(), "555566667777".into()],
            snapshot_shared_with: vec!["777788889999".into()],
        }
    );
    let registered = region.registered.lock().unwrap()[0].clone();
    assert_eq!(
        registered,
        RegisterRequest {
            name: NAME.into(),
            description: Some("Provided by Red Hat, Inc.".into()),
            architecture: "x86_64".into(),
            virtualization: "hvm".into(),
            root_device: "/dev/sda1".into(),
            snapshot_id: "snap-1".into(),
            volume_type: Some("gp3".into()),
            ena_support: Some(true),
            sriov_net_support: Some("simple".into()),
            boot_mode: Some("uefi-preferred".into()),
            billing_products: vec!["bp-6fa54006".into()],
            tpm_support: None,
            imds_support: None,
            uefi_data: None,
            root_volume_size: None,
            tags: vec![
                ("nvra".into(), "rhel-ec2-9.0-10.x86_64".into()),
                ("vmpush:push-id".into(), "p1".into()),
                ("billing_type".into(), "hourly".into()),
            ],
        }
    );
    assert_eq!(*region.snapshot_tags.lock().unwrap(), registered.tags);
    assert_eq!(
        region.count("DescribeImageAttribute"),
        0,
        "an image registered just now is shared with no one: nothing to look up"
    );
    assert!(
        region.launch.lock().unwrap().groups.is_empty(),
        "not public before RHSM knows it"
    );
    assert_eq!(region.count("GetImageBlockPublicAccessState"), 1);

    // after RHSM: the release makes it public, the snapshot stays private
    let released = run(&region, &release(input(true))).await.unwrap();
    assert_eq!(
        (
            released.ami.as_str(),
            released.public,
            released.release,
            released.created
        ),
        ("ami-new", true, false, false)
    );
    assert_eq!(region.launch.lock().unwrap().groups, ["all"]);
    assert_eq!(
        *region.volume.lock().unwrap(),
        ["777788889999"],
        "the snapshot of a public image stays private"
    );
    assert_eq!(region.count("ModifyImageAttribute"), 2);

    // again (a re-run): nothing registered, nothing modified
    let again = run(&region, &input(true)).await.unwrap();
    assert_eq!(
        (
            again.ami.as_str(),
            again.created,
            again.public,
            again.release,
            again.shared_with.len()
        ),
        ("ami-new", false, true, true, 0)
    );
    run(&region, &release(input(true))).await.unwrap();
    assert_eq!(region.count("RegisterImage"), 1);
    assert_eq!(region.count("ModifyImageAttribute"), 2);
    assert_eq!(region.count("ModifySnapshotAttribute"), 1);
}

#[tokio::test]
async fn a_public_snapshot_is_released_with_its_image() {
    let region = Region::default();
    let mut i = input(true);
    i.public_snapshot = true;
    run(&region, &i).await.unwrap();
    assert_eq!(*region.volume.lock().unwrap(), ["777788889999"]);
    let out = run(&region, &release(i.clone())).await.unwrap();
    assert_eq!(out.snapshot_shared_with, ["all"]);
    assert_eq!(*region.volume.lock().unwrap(), ["777788889999", "all"]);
    let again = run(&region, &release(i)).await.unwrap();
    assert!(again.snapshot_shared_with.is_empty());
}

#[tokio::test]
async fn pre_push_and_access_images_stay_private() {
    for (public, pre_push) in [(true, true), (false, false)] {
        let region = Region::default();
        let mut i = input(public);
        i.pre_push = pre_push;
        let out = run(&region, &i).await.unwrap();
        assert!(!out.public && !out.release);
        assert!(region.launch.lock().unwrap().groups.is_empty());
        assert_eq!(region.count("GetImageBlockPublicAccessState"), 0);
        assert_eq!(out.shared_with, ["111122223333", "555566667777"]);
        let err = run(&region, &release(i)).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput, "{err}");
        assert!(region.launch.lock().unwrap().groups.is_empty());
    }
}

#[tokio::test]
async fn a_marketplace_version_is_due_unless_pre_pushed() {
    for (pre_push, due) in [(false, true), (true, false)] {
        let region = Region::default();
        let mut i = input(false);
        i.pre_push = pre_push;
        i.destination.marketplace = Some(
            serde_json::from_value(json!({
            "entity_type": "AmiProduct", "overwrite": false, "restrict_version": false,
            "restrict_major": null, "restrict_minor": null,
            "version": {"title": "9.0 20250101-10", "release_notes": "n", "usage_instructions": "u",
                        "os_name": "RHEL", "os_version": "9.0"}}))
            .unwrap(),
        );
        let out = run(&region, &i).await.unwrap();
        assert_eq!(
            (out.version, out.release),
            (due, false),
            "pre_push {pre_push}"
        );
    }
    // a community destination never has one
    let out = run(&Region::default(), &input(true)).await.unwrap();
    assert!(!out.version);
}

#[tokio::test]
async fn a_release_needs_the_registered_image() {
    let err = run(&Region::default(), &release(input(true)))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert_eq!(
        err.message,
        format!("{NAME} in us-east-1: no such AMI to release (the share step registers it)")
    );
}

#[tokio::test]
async fn organizations_ous_and_groups_are_shared_in_the_partition() {
    let org = "arn:aws:organizations::123456789012:organization/o-a1b2c3d4e5";
    let ou = "arn:aws:organizations::123456789012:ou/o-a1b2c3d4e5/ou-ab12-cd34ef56";
    let gov_org = "arn:aws-us-gov:organizations::123456789012:organization/o-gov1234567";
    let region = Region::default();
    let mut i = input(false);
    i.destination.sharing_accounts =
        vec!["111122223333".into(), org.into(), ou.into(), gov_org.into()];
    i.destination.groups = vec!["all".into()];
    let out = run(&region, &i).await.unwrap();
    assert_eq!(out.shared_with, ["111122223333", org, ou]);
    assert!(out.release, "AWS_GROUPS [all] asks for a public image");
    let launch = region.launch.lock().unwrap().clone();
    assert_eq!(
        launch,
        LaunchPermissions {
            users: vec!["111122223333".into()],
            groups: Vec::new(),
            organizations: vec![org.into()],
            organizational_units: vec![ou.into()],
        }
    );

    i.destination.snapshot_accounts = vec![org.into()];
    let err = run(&Region::default(), &i).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert_eq!(
        err.message,
        format!(
            "aws-us-storage us-east-1-hourly: snapshot_accounts: '{org}': EC2 shares snapshots with accounts only, not with organizations or OUs"
        )
    );
}

#[tokio::test]
async fn planned_image_features_reach_register_image() {
    let region = Region::default();
    let mut i = input(false);
    i.destination.features = ImageFeatures {
        tpm_support: Some("v2.0".into()),
        imds_support: Some("v2.0".into()),
        uefi_data: Some("QU1aTlVFRkk=".into()),
        root_device_volume_size: Some(20),
    };
    run(&region, &i).await.unwrap();
    let registered = region.registered.lock().unwrap()[0].clone();
    assert_eq!(
        (
            registered.tpm_support.as_deref(),
            registered.imds_support.as_deref(),
            registered.uefi_data.as_deref(),
            registered.root_volume_size
        ),
        (Some("v2.0"), Some("v2.0"), Some("QU1aTlVFRkk="), Some(20))
    );
}

#[tokio::test]
async fn blocked_public_access_fails_the_destination_before_sharing() {
    let region = Region {
        blocked: true,
        ..Region::default()
    };
    let err = run(&region, &input(true)).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict);
    assert_eq!(
        err.message,
        format!(
            "{NAME} in us-east-1: image block public access is on in this region; nothing was registered or shared"
        )
    );
    assert_eq!(region.count("RegisterImage"), 0);
    assert_eq!(region.count("ModifyImageAttribute"), 0);

    // blocked after the share: the release leaves the image private
    let region = Region::default();
    run(&region, &input(true)).await.unwrap();
    let blocked = Region {
        blocked: true,
        images: Mutex::new(region.images.lock().unwrap().clone()),
        ..Region::default()
    };
    let err = run(&blocked, &release(input(true))).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict);
    assert!(err.message.ends_with("the image stays private"), "{err}");
    // the refused grant, then the block state naming the cause; the image stays private
    assert_eq!(
        (
            blocked.count("ModifyImageAttribute"),
            blocked.count("GetImageBlockPublicAccessState")
        ),
        (1, 1)
    );
    assert!(blocked.launch.lock().unwrap().groups.is_empty());
}

#[tokio::test]
async fn a_lost_registration_race_reuses_the_winner_and_duplicates_conflict() {
    let region = Region {
        race: true,
        ..Region::default()
    };
    let out = run(&region, &input(false)).await.unwrap();
    assert_eq!((out.ami.as_str(), out.created), ("ami-other", false));
    assert_eq!(region.count("CreateTags"), 0);

    let twice = Region::default();
    for id in ["ami-1", "ami-2"] {
        twice.images.lock().unwrap().push((
            Image {
                id: id.into(),
                state: "available".into(),
                snapshot_id: Some("snap-1".into()),
                public: false,
            },
            NAME.into(),
        ));
    }
    let err = run(&twice, &input(false)).await.unwrap_err();
    assert_eq!(
        err.message,
        format!("2 AMIs are named {NAME} in us-east-1: ami-1, ami-2")
    );
}

#[tokio::test]
async fn an_ami_of_the_name_from_another_snapshot_fails_the_destination_untouched() {
    let region = Region::default();
    region.images.lock().unwrap().push((
        Image {
            id: "ami-old".into(),
            state: "available".into(),
            snapshot_id: Some("snap-other".into()),
            public: false,
        },
        NAME.into(),
    ));
    let expected = format!(
        "{NAME} in us-east-1: ami-old of that name was registered from snap-other, not from this image's snap-1; another image holds the name"
    );
    for input in [input(true), release(input(true))] {
        let err = run(&region, &input).await.unwrap_err();
        assert_eq!(
            (err.kind, err.message.as_str()),
            (ErrorKind::Fatal, expected.as_str())
        );
    }
    assert_eq!(region.count("RegisterImage"), 0);
    assert_eq!(region.count("ModifyImageAttribute"), 0);
    assert_eq!(region.count("ModifySnapshotAttribute"), 0);
    assert!(region.launch.lock().unwrap().users.is_empty());
}

#[tokio::test]
async fn a_release_of_the_share_steps_ami_looks_nothing_up_and_a_public_one_calls_nothing() {
    let region = Region::default();
    let shared = run(&region, &input(true)).await.unwrap();
    let calls = |region: &Region| region.calls.lock().unwrap().len();
    let before = calls(&region);
    let mut handed = release(input(true));
    handed.ami = Some(shared.ami.clone());
    handed.public = shared.public;
    let out = run(&region, &handed).await.unwrap();
    assert_eq!((out.ami.as_str(), out.public), ("ami-new", true));
    assert_eq!(
        region.calls.lock().unwrap()[before..],
        ["ModifyImageAttribute"],
        "no lookup by name, no read of the launch permissions, no block state read again"
    );
    assert_eq!(region.launch.lock().unwrap().groups, ["all"]);

    // a re-push: the share finds it public (DescribeImages says so), the release calls nothing
    let mut private = input(true);
    private.destination.sharing_accounts.clear();
    private.destination.snapshot_accounts.clear();
    let before = calls(&region);
    let again = run(&region, &private).await.unwrap();
    assert_eq!(
        (again.public, again.release, again.created),
        (true, true, false)
    );
    assert_eq!(
        region.calls.lock().unwrap()[before..],
        ["DescribeImages"],
        "public already: no block check; shared with no one: no launch permissions read"
    );
    let before = calls(&region);
    let mut handed = release(private);
    handed.ami = Some(again.ami);
    handed.public = again.public;
    run(&region, &handed).await.unwrap();
    assert_eq!(calls(&region), before, "nothing to do, nothing called");
}

#[tokio::test]
async fn a_surveyed_destination_is_not_looked_up_again() {
    use crate::plan::worklist::Surveyed;
    let calls = |region: &Region| region.calls.lock().unwrap().clone();

    // none of the name, sharing not blocked, the copy new: register, share, nothing read
    let region = Region::default();
    let mut i = input(true);
    i.surveyed = Some(Surveyed {
        image: None,
        sharing_blocked: Some(false),
        ..Surveyed::default()
    });
    i.new_snapshot = true;
    let out = run(&region, &i).await.unwrap();
    assert_eq!((out.ami.as_str(), out.created), ("ami-new", true));
    assert_eq!(
        calls(&region),
        [
            "RegisterImage",
            "CreateTags",
            "ModifyImageAttribute",
            "ModifySnapshotAttribute"
        ],
        "only writes"
    );

    // the new copy was created with every tag of the AMI: its snapshot is not tagged again
    let region = Region::default();
    let mut tagged = i.clone();
    tagged.copy_tags = tagged.destination.own_tags();
    run(&region, &tagged).await.unwrap();
    assert_eq!(region.count("CreateTags"), 0);
    // one tag the copy lacks (its destinations disagree on it): tagged as before
    let region = Region::default();
    tagged.copy_tags.retain(|(k, _)| k != "billing_type");
    run(&region, &tagged).await.unwrap();
    assert_eq!(region.count("CreateTags"), 1);
    // a copy found, not made by this push: whatever it was created with, tagged
    let region = Region::default();
    tagged.copy_tags = tagged.destination.own_tags();
    tagged.new_snapshot = false;
    run(&region, &tagged).await.unwrap();
    assert_eq!(region.count("CreateTags"), 1);

    // found by the survey, this image's and public already: shares looked up, nothing else
    let region = Region::default();
    let mut i = input(true);
    i.surveyed = Some(Surveyed {
        image: Some(Image {
            id: "ami-old".into(),
            state: "available".into(),
            snapshot_id: Some("snap-1".into()),
            public: true,
        }),
        ..Surveyed::default()
    });
    region.launch.lock().unwrap().users = vec!["111122223333".into(), "555566667777".into()];
    region.volume.lock().unwrap().push("777788889999".into());
    let out = run(&region, &i).await.unwrap();
    assert_eq!(
        (out.ami.as_str(), out.created, out.public),
        ("ami-old", false, true)
    );
    assert_eq!(
        calls(&region),
        ["DescribeImageAttribute", "DescribeSnapshotAttribute"],
        "a re-push: reads only"
    );

    // the survey read the permissions too: a re-push calls nothing; what it found missing is
    // added, and only that
    let surveyed = |launch: &[&str], volume: &[&str], snapshot: &str| Surveyed {
        image: Some(Image {
            id: "ami-old".into(),
            state: "available".into(),
            snapshot_id: Some(snapshot.into()),
            public: true,
        }),
        sharing_blocked: None,
        launch_users: Some(launch.iter().map(|u| u.to_string()).collect()),
        volume_users: Some(volume.iter().map(|u| u.to_string()).collect()),
    };
    let region = Region::default();
    i.surveyed = Some(surveyed(
        &["111122223333", "555566667777"],
        &["777788889999"],
        "snap-1",
    ));
    let out = run(&region, &i).await.unwrap();
    assert_eq!((out.ami.as_str(), out.public), ("ami-old", true));
    assert!(out.shared_with.is_empty() && out.snapshot_shared_with.is_empty());
    assert!(calls(&region).is_empty(), "{:?}", calls(&region));
    let region = Region::default();
    i.surveyed = Some(surveyed(&["111122223333"], &[], "snap-1"));
    let out = run(&region, &i).await.unwrap();
    assert_eq!(out.shared_with, ["555566667777"]);
    assert_eq!(out.snapshot_shared_with, ["777788889999"]);
    assert_eq!(
        calls(&region),
        ["ModifyImageAttribute", "ModifySnapshotAttribute"],
        "only the missing ones added, nothing read"
    );
    // an organization to share with: the survey cannot tell it, the attribute is read
    let region = Region::default();
    let mut with_org = i.clone();
    with_org
        .destination
        .sharing_accounts
        .push("arn:aws:organizations::123456789012:organization/o-a1b2c3d4e5".into());
    with_org.surveyed = Some(surveyed(
        &["111122223333", "555566667777"],
        &["777788889999"],
        "snap-1",
    ));
    run(&region, &with_org).await.unwrap();
    assert_eq!(
        calls(&region),
        ["DescribeImageAttribute", "ModifyImageAttribute"],
        "the organization read and added; the snapshot's accounts as surveyed"
    );

    // found, but from another snapshot: the destination fails untouched
    let region = Region::default();
    if let Some(image) = i.surveyed.as_mut().and_then(|s| s.image.as_mut()) {
        image.snapshot_id = Some("snap-other".into());
    }
    let err = run(&region, &i).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Fatal, "{err}");
    assert!(calls(&region).is_empty());

    // the survey saw the region block public sharing: refused before anything
    let region = Region::default();
    let mut i = input(true);
    i.surveyed = Some(Surveyed {
        image: None,
        sharing_blocked: Some(true),
        ..Surveyed::default()
    });
    let err = run(&region, &i).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict);
    assert!(
        err.message.ends_with("nothing was registered or shared"),
        "{err}"
    );
    assert!(calls(&region).is_empty());

    // a stale "none": another invocation registered it meanwhile; its AMI is used
    let region = Region {
        race: true,
        ..Region::default()
    };
    let mut i = input(false);
    i.surveyed = Some(Surveyed::default());
    let out = run(&region, &i).await.unwrap();
    assert_eq!((out.ami.as_str(), out.created), ("ami-other", false));
    assert_eq!(region.count("RegisterImage"), 1);
}
