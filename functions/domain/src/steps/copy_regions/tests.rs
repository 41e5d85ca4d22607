use std::sync::Mutex;

use super::*;

/// Snapshots of several regions in memory; `fail` makes a region's calls fail.
#[derive(Default)]
struct Ec2 {
    /// (region, snapshot, name)
    snapshots: Mutex<Vec<(String, SnapshotState, String)>>,
    copies: Mutex<Vec<CopyRequest>>,
    fail: Vec<(&'static str, ErrorKind)>,
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
            },
            name.into(),
        ));
    }
}

impl RegionSnapshots for Ec2 {
    async fn find(&self, region: &str, name: &str) -> Result<Vec<SnapshotState>, StepError> {
        self.failure(region)?;
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

fn input(action: CopyAction) -> CopyInput {
    CopyInput {
        action,
        source_region: "us-east-1".into(),
        snapshot_id: "snap-source".into(),
        snapshot_name: "abc".into(),
        regions: ["us-west-2", "us-east-1", "eu-west-1", "us-west-2"]
            .map(String::from)
            .to_vec(),
        tags: vec![("nvra".into(), "rhel-9.4-1.x86_64".into())],
        copies: BTreeMap::new(),
    }
}

fn states(out: &CopyOutput) -> Vec<(&str, CopyState, Option<&str>)> {
    out.copies
        .iter()
        .map(|(r, c)| (r.as_str(), c.state, c.snapshot_id.as_deref()))
        .collect()
}

#[tokio::test]
async fn copies_start_once_per_region_tagged_and_are_followed() {
    let ec2 = Ec2::default();
    let out = run(&ec2, &input(CopyAction::Start)).await.unwrap();
    assert_eq!(out.status, CopyStatus::Active);
    assert_eq!(
        states(&out),
        [
            ("eu-west-1", CopyState::Pending, Some("snap-eu-west-1")),
            ("us-east-1", CopyState::Completed, Some("snap-source")),
            ("us-west-2", CopyState::Pending, Some("snap-us-west-2")),
        ]
    );
    let copies = ec2.copies.lock().unwrap().clone();
    assert_eq!(copies.len(), 2);
    assert_eq!(
        copies[0].tags,
        [
            ("Name".to_string(), "abc".to_string()),
            ("nvra".into(), "rhel-9.4-1.x86_64".into())
        ]
    );
    assert_eq!(
        (
            copies[0].source_region.as_str(),
            copies[0].source_snapshot_id.as_str()
        ),
        ("us-east-1", "snap-source")
    );

    // a retried start finds the copies by name
    let again = run(&ec2, &input(CopyAction::Start)).await.unwrap();
    assert_eq!(states(&again), states(&out));
    assert!(again.copies.values().all(|c| !c.started));
    assert_eq!(ec2.copies.lock().unwrap().len(), 2);

    // check follows them to completion
    let mut check = input(CopyAction::Check);
    check.copies = out.copies.clone();
    let pending = run(&ec2, &check).await.unwrap();
    assert_eq!(pending.copies["eu-west-1"].progress.as_deref(), Some("40%"));
    for (_, s, _) in ec2.snapshots.lock().unwrap().iter_mut() {
        s.state = "completed".into();
    }
    let done = run(&ec2, &check).await.unwrap();
    assert_eq!(done.status, CopyStatus::Completed);
    assert!(
        done.copies
            .values()
            .all(|c| c.state == CopyState::Completed)
    );
    assert!(
        done.copies["us-west-2"].started,
        "check keeps who started it"
    );
}

#[tokio::test]
async fn one_failing_region_is_reported_and_the_others_go_on() {
    let ec2 = Ec2 {
        fail: vec![("eu-west-1", ErrorKind::Fatal)],
        ..Ec2::default()
    };
    let out = run(&ec2, &input(CopyAction::Start)).await.unwrap();
    assert_eq!(out.status, CopyStatus::Active);
    let eu = &out.copies["eu-west-1"];
    assert_eq!(
        (eu.state, eu.error.as_deref()),
        (
            CopyState::Failed,
            Some("CopySnapshot in eu-west-1: UnauthorizedOperation (HTTP 403): not allowed")
        )
    );
    assert_eq!(out.copies["us-west-2"].state, CopyState::Pending);
    // a failed region stays failed through checks; the rest completes
    let mut check = input(CopyAction::Check);
    check.copies = out.copies;
    for (_, s, _) in ec2.snapshots.lock().unwrap().iter_mut() {
        s.state = "completed".into();
    }
    let done = run(&ec2, &check).await.unwrap();
    assert_eq!(done.status, CopyStatus::Completed);
    assert_eq!(done.copies["eu-west-1"].state, CopyState::Failed);
}

#[tokio::test]
async fn a_copy_failing_in_every_region_fails_the_step() {
    let ec2 = Ec2 {
        fail: vec![("eu-west-1", ErrorKind::Fatal)],
        ..Ec2::default()
    };
    let mut only = input(CopyAction::Start);
    only.regions = vec!["eu-west-1".into()];
    let err = run(&ec2, &only).await.unwrap_err();
    assert_eq!(
        (err.kind, err.message.as_str()),
        (
            ErrorKind::Fatal,
            "copy of abc (snap-source) failed in every region: eu-west-1: CopySnapshot in eu-west-1: UnauthorizedOperation (HTTP 403): not allowed"
        )
    );
}

#[tokio::test]
async fn throttling_fails_the_step_to_be_retried() {
    let ec2 = Ec2 {
        fail: vec![("us-west-2", ErrorKind::Throttled)],
        ..Ec2::default()
    };
    let err = run(&ec2, &input(CopyAction::Start)).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Throttled);
}

#[tokio::test]
async fn duplicates_and_failed_copies_fail_their_region() {
    let ec2 = Ec2::default();
    ec2.add("us-west-2", "snap-1", "completed", "abc");
    ec2.add("us-west-2", "snap-2", "completed", "abc");
    ec2.add("eu-west-1", "snap-3", "pending", "abc");
    let out = run(&ec2, &input(CopyAction::Start)).await.unwrap();
    assert_eq!(
        out.copies["us-west-2"].error.as_deref(),
        Some("2 snapshots are tagged Name=abc in us-west-2: snap-1, snap-2")
    );
    assert_eq!(
        (
            out.copies["eu-west-1"].state,
            out.copies["eu-west-1"].started
        ),
        (CopyState::Pending, false)
    );
    {
        let mut snapshots = ec2.snapshots.lock().unwrap();
        snapshots[2].1.state = "error".into();
        snapshots[2].1.message = Some("KMS key disabled".into());
    }
    let mut check = input(CopyAction::Check);
    check.copies = out.copies;
    let done = run(&ec2, &check).await.unwrap();
    assert_eq!(
        done.copies["eu-west-1"].error.as_deref(),
        Some("snapshot snap-3 ended error: KMS key disabled")
    );
    assert_eq!(done.status, CopyStatus::Completed);
    assert!(ec2.copies.lock().unwrap().is_empty());
}
