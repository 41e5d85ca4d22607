use super::*;
use crate::inputs::item::DiskFormat;
use crate::payloads::*;
use crate::ports::*;
use std::sync::Mutex;

/// Snapshot id and the tags set on it.
type Tagging = (String, Vec<(String, String)>);

/// Snapshots and tasks of one region, in memory.
#[derive(Default)]
struct Ec2 {
    snapshots: Mutex<Vec<(String, String)>>,
    /// Snapshot look-ups by name.
    lookups: Mutex<usize>,
    tasks: Mutex<Vec<(ImportTask, String)>>,
    tagged: Mutex<Vec<Tagging>>,
    started: Mutex<Vec<ImportRequest>>,
}

impl Snapshots for Ec2 {
    async fn find_snapshots(&self, name: &str) -> Result<Vec<String>, StepError> {
        *self.lookups.lock().unwrap() += 1;
        Ok(self
            .snapshots
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, n)| n == name)
            .map(|(id, _)| id.clone())
            .collect())
    }
    async fn find_import_tasks(&self, name: &str) -> Result<Vec<ImportTask>, StepError> {
        Ok(self
            .tasks
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, n)| n == name)
            .map(|(t, _)| t.clone())
            .collect())
    }
    async fn start_import(&self, request: &ImportRequest) -> Result<ImportTask, StepError> {
        self.started.lock().unwrap().push(request.clone());
        let task = task("import-snap-new", "active", None);
        self.tasks
            .lock()
            .unwrap()
            .push((task.clone(), request.name.clone()));
        Ok(task)
    }
    async fn describe_import(&self, task_id: &str) -> Result<ImportTask, StepError> {
        self.tasks
            .lock()
            .unwrap()
            .iter()
            .find(|(t, _)| t.id == task_id)
            .map(|(t, _)| t.clone())
            .ok_or_else(|| StepError::new(ErrorKind::NotFound, task_id))
    }
    async fn tag_snapshot(
        &self,
        snapshot_id: &str,
        tags: &[(String, String)],
    ) -> Result<(), StepError> {
        self.tagged
            .lock()
            .unwrap()
            .push((snapshot_id.into(), tags.to_vec()));
        Ok(())
    }
}

const SHA: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

fn task(id: &str, status: &str, snapshot: Option<&str>) -> ImportTask {
    ImportTask {
        id: id.into(),
        status: status.into(),
        message: (status == "deleted").then(|| "ClientError: Disk validation failed".to_string()),
        progress: (status == "active").then(|| "42".to_string()),
        snapshot_id: snapshot.map(Into::into),
    }
}

fn input(action: ImportAction) -> ImportInput {
    ImportInput {
        account: "aws-us-storage".into(),
        id: "im-0123456789ab".into(),
        action,
        region: "us-east-1".into(),
        bucket: "redhat-cloudimg-us-east-1".into(),
        key: SHA.into(),
        sha256: SHA.into(),
        format: DiskFormat::Raw,
        billing_codes: vec!["bp-2".into(), "bp-1".into(), "bp-2".into()],
        tags: vec![
            ("nvra".into(), "rhel-ec2-9.0-10.x86_64".into()),
            ("Name".into(), "ignored".into()),
        ],
        task_id: None,
        surveyed: None,
        absent: false,
        attempt: 0,
        pacing: Pacing {
            poll_seconds: Some(30),
            ..Pacing::default()
        },
    }
}

#[tokio::test]
async fn a_snapshot_the_survey_found_is_taken_without_a_look_up() {
    // the region holds another snapshot of the name: a look-up would find that one, or a
    // conflict
    let ec2 = Ec2::default();
    let name = snapshot_name(SHA, &["bp-1".into(), "bp-2".into()]);
    ec2.snapshots
        .lock()
        .unwrap()
        .push(("snap-looked-up".into(), name.clone()));
    let mut i = input(ImportAction::Start);
    i.surveyed = Some("snap-surveyed".into());
    let out = run(&ec2, &i).await.unwrap();
    assert_eq!(out.status, ImportStatus::Completed);
    assert_eq!(out.snapshot_id.as_deref(), Some("snap-surveyed"));
    assert_eq!(out.snapshot_name, name);
    assert!(!out.started && out.wait_seconds.is_none());
    assert!(ec2.started.lock().unwrap().is_empty() && ec2.tagged.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_snapshot_the_survey_found_absent_is_imported_without_a_look_up_on_the_first_attempt() {
    let ec2 = Ec2::default();
    let mut i = input(ImportAction::Start);
    i.absent = true;
    let out = run(&ec2, &i).await.unwrap();
    assert_eq!(
        (out.status, out.task_id.as_deref(), out.started),
        (ImportStatus::Active, Some("import-snap-new"), true)
    );
    assert_eq!(*ec2.lookups.lock().unwrap(), 0);
    // a retried attempt looks up again, then resumes the task the first started
    i.attempt = 2;
    let again = run(&ec2, &i).await.unwrap();
    assert_eq!(
        (again.task_id.as_deref(), again.started),
        (Some("import-snap-new"), false)
    );
    assert_eq!(
        (
            *ec2.lookups.lock().unwrap(),
            ec2.started.lock().unwrap().len()
        ),
        (1, 1)
    );
}

#[test]
fn snapshot_names_follow_awspub_and_are_per_billing_code_set() {
    assert_eq!(snapshot_name(SHA, &[]), SHA);
    assert_eq!(snapshot_name(&SHA.to_uppercase(), &[]), SHA);
    let codes = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let name = snapshot_name(SHA, &codes(&["bp-1", "bp-2"]));
    // sha256(SHA + sha256("bp-1") + sha256("bp-2")), computed independently.
    assert_eq!(
        name,
        "c6a37928af89f67bb80a59d1107a1c805e581e29136dcca40d75e5eef096abce"
    );
    assert_eq!(name, snapshot_name(SHA, &codes(&["bp-2", "bp-1", "bp-1"])));
    assert_ne!(name, snapshot_name(SHA, &codes(&["bp-1"])));
    assert_eq!(name.len(), 64);
}

#[test]
fn disk_formats_come_from_file_names() {
    assert_eq!(DiskFormat::of_file("rhel-9.raw.xz"), Some(DiskFormat::Raw));
    assert_eq!(
        DiskFormat::of_file("rhel-9.x86_64.VMDK"),
        Some(DiskFormat::Vmdk)
    );
    assert_eq!(
        DiskFormat::of_file("rhel-azure.vhd.xz"),
        Some(DiskFormat::Vhd)
    );
    assert_eq!(DiskFormat::of_file("rhel.qcow2"), None);
    assert_eq!(DiskFormat::Vmdk.ec2_value(), "VMDK");
}

#[tokio::test]
async fn start_imports_once_tagged_at_creation() {
    let ec2 = Ec2::default();
    let out = run(&ec2, &input(ImportAction::Start)).await.unwrap();
    assert_eq!(
        (out.status, out.started, out.task_id.as_deref()),
        (ImportStatus::Active, true, Some("import-snap-new"))
    );
    let started = ec2.started.lock().unwrap().clone();
    assert_eq!(started.len(), 1);
    assert_eq!(started[0].name, out.snapshot_name);
    assert_eq!(
        started[0].tags,
        [
            ("Name".to_string(), out.snapshot_name.clone()),
            ("nvra".into(), "rhel-ec2-9.0-10.x86_64".into())
        ]
    );
    // A retry of start resumes the task instead of importing twice.
    let again = run(&ec2, &input(ImportAction::Start)).await.unwrap();
    assert_eq!(
        (
            again.status,
            again.started,
            again.task_id.as_deref(),
            again.progress.as_deref()
        ),
        (
            ImportStatus::Active,
            false,
            Some("import-snap-new"),
            Some("42")
        )
    );
    assert_eq!(ec2.started.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn an_existing_snapshot_is_reused() {
    let ec2 = Ec2::default();
    let name = snapshot_name(SHA, &input(ImportAction::Start).billing_codes);
    ec2.snapshots.lock().unwrap().push(("snap-1".into(), name));
    let out = run(&ec2, &input(ImportAction::Start)).await.unwrap();
    assert_eq!(
        (out.status, out.snapshot_id.as_deref(), out.started),
        (ImportStatus::Completed, Some("snap-1"), false)
    );
    assert!(ec2.started.lock().unwrap().is_empty() && ec2.tagged.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_completed_task_whose_snapshot_was_never_tagged_is_finished() {
    let ec2 = Ec2::default();
    let name = snapshot_name(SHA, &input(ImportAction::Start).billing_codes);
    ec2.tasks
        .lock()
        .unwrap()
        .push((task("import-snap-old", "deleted", None), name.clone()));
    ec2.tasks.lock().unwrap().push((
        task("import-snap-1", "completed", Some("snap-9")),
        name.clone(),
    ));
    let out = run(&ec2, &input(ImportAction::Start)).await.unwrap();
    assert_eq!(
        (out.status, out.snapshot_id.as_deref()),
        (ImportStatus::Completed, Some("snap-9"))
    );
    let tagged = ec2.tagged.lock().unwrap().clone();
    assert_eq!(
        tagged,
        [(
            "snap-9".to_string(),
            vec![
                ("Name".to_string(), name),
                ("nvra".into(), "rhel-ec2-9.0-10.x86_64".into())
            ]
        )]
    );
}

#[tokio::test]
async fn duplicates_are_conflicts_and_dead_tasks_are_ignored() {
    let ec2 = Ec2::default();
    let name = snapshot_name(SHA, &input(ImportAction::Start).billing_codes);
    ec2.snapshots.lock().unwrap().extend([
        ("snap-1".to_string(), name.clone()),
        ("snap-2".to_string(), name.clone()),
    ]);
    let err = run(&ec2, &input(ImportAction::Start)).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict);
    assert_eq!(
        err.message,
        format!("2 snapshots are tagged Name={name} in us-east-1: snap-1, snap-2")
    );

    let ec2 = Ec2::default();
    ec2.tasks.lock().unwrap().extend([
        (task("t1", "active", None), name.clone()),
        (task("t2", "active", None), name.clone()),
    ]);
    let err = run(&ec2, &input(ImportAction::Start)).await.unwrap_err();
    assert_eq!(
        (err.kind, err.message.as_str()),
        (
            ErrorKind::Conflict,
            format!("2 import tasks are tagged Name={name} in us-east-1: t1, t2").as_str()
        )
    );

    let ec2 = Ec2::default();
    ec2.tasks
        .lock()
        .unwrap()
        .push((task("t0", "deleted", None), name.clone()));
    let out = run(&ec2, &input(ImportAction::Start)).await.unwrap();
    assert!(out.started, "a failed task does not block a new import");
}

#[tokio::test]
async fn check_reports_progress_completion_and_failure() {
    let ec2 = Ec2::default();
    ec2.tasks.lock().unwrap().extend([
        (task("active", "active", None), "n".to_string()),
        (task("done", "completed", Some("snap-5")), "n".to_string()),
        (task("gone", "deleted", None), "n".to_string()),
    ]);
    let check = |id: &str| ImportInput {
        task_id: Some(id.into()),
        ..input(ImportAction::Check)
    };
    let active = run(&ec2, &check("active")).await.unwrap();
    assert_eq!(
        (active.status, active.progress.as_deref()),
        (ImportStatus::Active, Some("42"))
    );
    let done = run(&ec2, &check("done")).await.unwrap();
    assert_eq!(
        (
            done.status,
            done.snapshot_id.as_deref(),
            done.progress.clone()
        ),
        (ImportStatus::Completed, Some("snap-5"), None)
    );
    assert_eq!(ec2.tagged.lock().unwrap()[0].0, "snap-5");
    let gone = run(&ec2, &check("gone")).await.unwrap();
    assert_eq!(
        (gone.status, gone.message.as_deref()),
        (
            ImportStatus::Failed,
            Some("ClientError: Disk validation failed")
        )
    );
    let err = run(&ec2, &input(ImportAction::Check)).await.unwrap_err();
    assert_eq!(
        (err.kind, err.message.as_str()),
        (
            ErrorKind::InvalidInput,
            "task_id: required to check an import"
        )
    );
}
