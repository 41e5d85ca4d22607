use std::sync::Mutex;

use serde_json::json;

use super::*;
use crate::payloads::*;
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
        Ok(self
            .images
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, n)| n == name)
            .map(|(i, _)| i.clone())
            .collect())
    }
    async fn register(&self, request: &RegisterRequest) -> Result<Registered, StepError> {
        self.log("RegisterImage");
        let image = |id: &str| Image {
            id: id.into(),
            state: "available".into(),
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
        let mut launch = self.launch.lock().unwrap();
        launch.users.extend_from_slice(&add.users);
        launch.groups.extend_from_slice(&add.groups);
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
        destination: serde_json::from_value(destination).unwrap(),
        snapshot_id: "snap-1".into(),
        pre_push: false,
        public_snapshot: false,
        tags: vec![("vmpush:push-id".into(), "p1".into())],
    }
}

#[tokio::test]
async fn a_new_public_ami_is_registered_shared_and_published_once() {
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
            public: true,
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
    assert_eq!(region.launch.lock().unwrap().groups, ["all"]);
    assert_eq!(
        *region.volume.lock().unwrap(),
        ["777788889999"],
        "the snapshot of a public image stays private"
    );

    // again: nothing registered, nothing modified
    let again = run(&region, &input(true)).await.unwrap();
    assert_eq!(
        (
            again.ami.as_str(),
            again.created,
            again.public,
            again.shared_with.len()
        ),
        ("ami-new", false, true, 0)
    );
    assert_eq!(region.count("RegisterImage"), 1);
    assert_eq!(region.count("DescribeImageAttribute"), 1);
    assert_eq!(region.count("ModifyImageAttribute"), 1);
    assert_eq!(region.count("ModifySnapshotAttribute"), 1);
}

#[tokio::test]
async fn pre_push_and_access_images_stay_private() {
    for (public, pre_push) in [(true, true), (false, false)] {
        let region = Region::default();
        let mut i = input(public);
        i.pre_push = pre_push;
        let out = run(&region, &i).await.unwrap();
        assert!(!out.public);
        assert!(region.launch.lock().unwrap().groups.is_empty());
        assert_eq!(region.count("GetImageBlockPublicAccessState"), 0);
        assert_eq!(out.shared_with, ["111122223333", "555566667777"]);
    }
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

#[test]
fn accounts_are_filtered_to_the_partition() {
    let entries = ["1", "aws-us-gov:2", "aws:3", "1"].map(String::from);
    assert_eq!(accounts_in(&entries, "aws"), ["1", "3"]);
    assert_eq!(accounts_in(&entries, "aws-us-gov"), ["1", "2"]);
}
