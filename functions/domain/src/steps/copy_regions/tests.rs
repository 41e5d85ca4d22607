use std::sync::Mutex;

use super::*;
use crate::payloads::Pacing;
use crate::payloads::{CopyAction, CopyInput, CopyOutput, CopyStatus};

/// Snapshots of several regions in memory; `fail` makes a region's calls fail.
#[derive(Default)]
struct Ec2 {
    /// (region, snapshot, name)
    snapshots: Mutex<Vec<(String, SnapshotState, String)>>,
    copies: Mutex<Vec<CopyRequest>>,
    deleted: Mutex<Vec<String>>,
    fail: Vec<(&'static str, ErrorKind)>,
    /// Look-ups by name (`DescribeSnapshots` with a `Name` tag filter).
    lookups: Mutex<usize>,
}

impl Ec2 {
    fn failure(&self, region: &str) -> Result<(), StepError> {
        match self.fail.iter().find(|(r, _)| *r == region) {
            Some((_, kind)) => Err(StepError::new(
                *kind,
                format!("CopySnapshot in {region}: UnauthorizedOperation (HTTP 403): not allowed"),
            )),
            None => Ok(()),
        }
    }

    fn add(&self, region: &str, id: &str, state: &str, name: &str) {
        self.snapshots.lock().unwrap().push((
            region.into(),
            SnapshotState {
                id: id.into(),
                state: state.into(),
                progress: (state == "pending").then(|| "40%".into()),
                message: (state == "error").then(|| "KMS key disabled".into()),
                description: Some("vmpush copy of snap-source from us-east-1".into()),
            },
            name.into(),
        ));
    }
}

impl RegionSnapshots for Ec2 {
    async fn find(&self, region: &str, name: &str) -> Result<Vec<SnapshotState>, StepError> {
        self.failure(region)?;
        *self.lookups.lock().unwrap() += 1;
        Ok(self
            .snapshots
            .lock()
            .unwrap()
            .iter()
            .filter(|(r, s, n)| r == region && n == name && s.state != "error")
            .map(|(_, s, _)| s.clone())
            .collect())
    }
    async fn copy(&self, request: &CopyRequest) -> Result<String, StepError> {
        self.failure(&request.region)?;
        self.copies.lock().unwrap().push(request.clone());
        let id = format!("snap-{}", request.region);
        self.add(&request.region, &id, "pending", &request.tags[0].1);
        Ok(id)
    }
    async fn delete(&self, region: &str, snapshot_id: &str) -> Result<(), StepError> {
        self.failure(region)?;
        self.deleted.lock().unwrap().push(snapshot_id.into());
        self.snapshots
            .lock()
            .unwrap()
            .retain(|(r, s, _)| !(r == region && s.id == snapshot_id));
        Ok(())
    }
    async fn describe(&self, region: &str, snapshot_id: &str) -> Result<SnapshotState, StepError> {
        self.failure(region)?;
        self.snapshots
            .lock()
            .unwrap()
            .iter()
            .find(|(r, s, _)| r == region && s.id == snapshot_id)
            .map(|(_, s, _)| s.clone())
            .ok_or_else(|| StepError::new(ErrorKind::NotFound, snapshot_id))
    }
}

fn input(action: CopyAction, region: &str) -> CopyInput {
    CopyInput {
        account: "aws-us-storage".into(),
        id: format!("cp-{region}"),
        action,
        source_region: "us-east-1".into(),
        snapshot_id: "snap-source".into(),
        snapshot_name: "abc".into(),
        region: region.into(),
        tags: vec![("nvra".into(), "rhel-9.4-1.x86_64".into())],
        copy_snapshot_id: None,
        surveyed: None,
        absent: false,
        attempt: 0,
        snapshot_tags: Vec::new(),
        started: false,
        pacing: Pacing {
            poll_seconds: Some(30),
            ..Pacing::default()
        },
    }
}

#[tokio::test]
async fn a_copy_the_survey_found_is_taken_without_a_look_up() {
    // the region's calls fail: any look-up or copy would fail the region
    let ec2 = Ec2 {
        fail: vec![("eu-west-1", ErrorKind::Fatal)],
        ..Ec2::default()
    };
    let mut i = input(CopyAction::Start, "eu-west-1");
    i.surveyed = Some("snap-eu".into());
    let out = run(&ec2, &i).await.unwrap();
    assert_eq!(
        (out.status, out.snapshot_id.as_str(), out.started),
        (CopyStatus::Completed, "snap-eu", false)
    );
    assert_eq!(out.wait_seconds, None);
    assert!(ec2.copies.lock().unwrap().is_empty());
    // without the finding, the same region fails
    let err = run(&ec2, &input(CopyAction::Start, "eu-west-1"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Fatal);
}

#[tokio::test]
async fn a_copy_the_survey_found_absent_starts_without_a_look_up_on_its_first_attempt_only() {
    let ec2 = Ec2::default();
    let mut i = input(CopyAction::Start, "eu-west-1");
    i.absent = true;
    let first = run(&ec2, &i).await.unwrap();
    assert_eq!(
        (first.status, first.snapshot_id.as_str(), first.started),
        (CopyStatus::Active, "snap-eu-west-1", true)
    );
    assert_eq!(
        (
            *ec2.lookups.lock().unwrap(),
            ec2.copies.lock().unwrap().len()
        ),
        (0, 1)
    );
    // the retried attempt (the first's answer lost) finds the copy the first started
    i.attempt = 1;
    let again = run(&ec2, &i).await.unwrap();
    assert_eq!(
        (again.snapshot_id.as_str(), again.started),
        ("snap-eu-west-1", false)
    );
    assert_eq!(
        (
            *ec2.lookups.lock().unwrap(),
            ec2.copies.lock().unwrap().len()
        ),
        (1, 1),
        "no second copy"
    );
}

#[tokio::test]
async fn a_copy_is_created_with_the_tags_its_destinations_share_and_provenance_wins() {
    let ec2 = Ec2::default();
    let mut i = input(CopyAction::Start, "eu-west-1");
    i.snapshot_tags = vec![
        ("Name".into(), "not-the-name".into()),
        ("billing_type".into(), "hourly".into()),
        ("nvra".into(), "from-the-mapping".into()),
    ];
    run(&ec2, &i).await.unwrap();
    assert_eq!(
        ec2.copies.lock().unwrap()[0].tags,
        [
            ("Name".to_string(), "abc".to_string()),
            ("billing_type".into(), "hourly".into()),
            ("nvra".into(), "rhel-9.4-1.x86_64".into())
        ]
    );
}

/// The `check` after a `start` that returned `out`.
fn check_after(out: &CopyOutput) -> CopyInput {
    CopyInput {
        copy_snapshot_id: Some(out.snapshot_id.clone()),
        started: out.started,
        pacing: Pacing {
            poll_seconds: Some(30),
            progress: out.progress.clone(),
            waited: out.wait_seconds,
        },
        ..input(CopyAction::Check, &out.region)
    }
}

#[tokio::test]
async fn a_copy_starts_once_tagged_and_is_followed() {
    let ec2 = Ec2::default();
    let out = run(&ec2, &input(CopyAction::Start, "us-west-2"))
        .await
        .unwrap();
    assert_eq!(
        out,
        CopyOutput {
            id: "cp-us-west-2".into(),
            status: CopyStatus::Active,
            snapshot_name: "abc".into(),
            region: "us-west-2".into(),
            snapshot_id: "snap-us-west-2".into(),
            progress: None,
            started: true,
            wait_seconds: Some(30),
        }
    );
    let copies = ec2.copies.lock().unwrap().clone();
    assert_eq!(copies.len(), 1);
    assert_eq!(
        copies[0].tags,
        [
            ("Name".to_string(), "abc".to_string()),
            ("nvra".into(), "rhel-9.4-1.x86_64".into())
        ]
    );
    assert_eq!(
        (
            copies[0].region.as_str(),
            copies[0].source_region.as_str(),
            copies[0].source_snapshot_id.as_str()
        ),
        ("us-west-2", "us-east-1", "snap-source")
    );

    // a retried start finds the copy by name
    let again = run(&ec2, &input(CopyAction::Start, "us-west-2"))
        .await
        .unwrap();
    assert_eq!(
        (again.status, again.snapshot_id.as_str(), again.started),
        (CopyStatus::Active, "snap-us-west-2", false)
    );
    assert_eq!(ec2.copies.lock().unwrap().len(), 1);

    // check follows it to completion, keeping who started it
    let pending = run(&ec2, &check_after(&out)).await.unwrap();
    assert_eq!(
        (pending.status, pending.progress.as_deref()),
        (CopyStatus::Active, Some("40%"))
    );
    for (_, s, _) in ec2.snapshots.lock().unwrap().iter_mut() {
        s.state = "completed".into();
    }
    let done = run(&ec2, &check_after(&out)).await.unwrap();
    assert_eq!(
        (done.status, done.progress, done.started),
        (CopyStatus::Completed, None, true)
    );
}

#[tokio::test]
async fn the_source_region_is_the_snapshot_itself() {
    let ec2 = Ec2::default();
    for action in [CopyAction::Start, CopyAction::Check] {
        let out = run(&ec2, &input(action, "us-east-1")).await.unwrap();
        assert_eq!(
            (out.status, out.snapshot_id.as_str(), out.started),
            (CopyStatus::Completed, "snap-source", false)
        );
    }
    assert!(ec2.copies.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_denied_region_fails_with_its_reason() {
    let ec2 = Ec2 {
        fail: vec![("eu-west-1", ErrorKind::Fatal)],
        ..Ec2::default()
    };
    let err = run(&ec2, &input(CopyAction::Start, "eu-west-1"))
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind, err.message.as_str()),
        (
            ErrorKind::Fatal,
            "CopySnapshot in eu-west-1: UnauthorizedOperation (HTTP 403): not allowed"
        )
    );
    // another region is not concerned
    let ok = run(&ec2, &input(CopyAction::Start, "us-west-2"))
        .await
        .unwrap();
    assert_eq!(ok.status, CopyStatus::Active);
}

#[tokio::test]
async fn throttling_fails_the_step_to_be_retried() {
    let ec2 = Ec2 {
        fail: vec![("us-west-2", ErrorKind::Throttled)],
        ..Ec2::default()
    };
    let err = run(&ec2, &input(CopyAction::Start, "us-west-2"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Throttled);
}

#[tokio::test]
async fn duplicates_and_failed_copies_fail_their_region() {
    let ec2 = Ec2::default();
    ec2.add("us-west-2", "snap-1", "completed", "abc");
    ec2.add("us-west-2", "snap-2", "completed", "abc");
    ec2.add("eu-west-1", "snap-3", "pending", "abc");
    ec2.snapshots.lock().unwrap()[1].1.description = None;
    let err = run(&ec2, &input(CopyAction::Start, "us-west-2"))
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind, err.message.as_str()),
        (
            ErrorKind::Conflict,
            "2 snapshots are tagged Name=abc in us-west-2: snap-1, snap-2"
        )
    );
    let out = run(&ec2, &input(CopyAction::Start, "eu-west-1"))
        .await
        .unwrap();
    assert_eq!(
        (out.status, out.snapshot_id.as_str(), out.started),
        (CopyStatus::Active, "snap-3", false)
    );
    {
        let mut snapshots = ec2.snapshots.lock().unwrap();
        snapshots[2].1.state = "error".into();
        snapshots[2].1.message = Some("KMS key disabled".into());
    }
    let err = run(&ec2, &check_after(&out)).await.unwrap_err();
    assert_eq!(
        (err.kind, err.message.as_str()),
        (
            ErrorKind::Fatal,
            "copy of abc to eu-west-1: snapshot snap-3 ended error: KMS key disabled"
        )
    );
    assert!(ec2.copies.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_second_copy_of_the_source_from_a_lost_answer_is_deleted_and_the_first_kept() {
    let ec2 = Ec2::default();
    // a retry after a lost CopySnapshot answer started another copy of the same source
    ec2.add("us-west-2", "snap-b", "pending", "abc");
    ec2.add("us-west-2", "snap-a", "pending", "abc");
    let out = run(&ec2, &input(CopyAction::Start, "us-west-2"))
        .await
        .unwrap();
    assert_eq!(
        (out.status, out.snapshot_id.as_str(), out.started),
        (CopyStatus::Active, "snap-a", false)
    );
    assert_eq!(*ec2.deleted.lock().unwrap(), ["snap-b"]);
    assert!(ec2.copies.lock().unwrap().is_empty(), "no third copy");
    let again = run(&ec2, &input(CopyAction::Start, "us-west-2"))
        .await
        .unwrap();
    assert_eq!(again.snapshot_id, "snap-a");
    assert_eq!(ec2.deleted.lock().unwrap().len(), 1);

    // a snapshot of the name that is no copy of this source is not ours to delete
    let foreign = Ec2::default();
    foreign.add("us-west-2", "snap-a", "completed", "abc");
    foreign.add("us-west-2", "snap-z", "completed", "abc");
    foreign.snapshots.lock().unwrap()[1].1.description = Some("made by hand".into());
    let err = run(&foreign, &input(CopyAction::Start, "us-west-2"))
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind, err.message.as_str()),
        (
            ErrorKind::Conflict,
            "2 snapshots are tagged Name=abc in us-west-2: snap-a, snap-z"
        )
    );
    assert!(foreign.deleted.lock().unwrap().is_empty());
}

/// A lost `CopySnapshot` answer that the SDK retried leaves two copies behind the step's
/// back: the next `check` keeps the first and deletes the other, and reports the kept one.
#[tokio::test]
async fn a_check_deletes_a_second_copy_made_by_a_retried_call() {
    let ec2 = Ec2::default();
    let out = run(&ec2, &input(CopyAction::Start, "us-west-2"))
        .await
        .unwrap();
    assert_eq!(out.snapshot_id, "snap-us-west-2");
    ec2.add("us-west-2", "snap-older", "pending", "abc");
    let checked = run(&ec2, &check_after(&out)).await.unwrap();
    assert_eq!(
        (
            checked.status,
            checked.snapshot_id.as_str(),
            checked.started
        ),
        (CopyStatus::Active, "snap-older", true)
    );
    assert_eq!(*ec2.deleted.lock().unwrap(), ["snap-us-west-2"]);
    assert_eq!(ec2.copies.lock().unwrap().len(), 1);
}
