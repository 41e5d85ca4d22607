//! Importing an uploaded image as an EBS snapshot, get-or-create by a deterministic name
//! (awspub §A3): a completed snapshot tagged `Name=<name>` is reused (the one resolve-mapping's
//! survey found, else one looked up, unless the survey found none and this is the first
//! attempt); an in-flight import task
//! tagged so at creation is resumed; otherwise an import starts, tagged at creation, with the
//! name as its client token. The state machine loops `check` with a `Wait` in between: no
//! step ever sleeps.

use sha2::{Digest, Sha256};

use crate::hex;
use crate::payloads::{ImportAction, ImportInput, ImportOutput, ImportStatus};
use crate::ports::{ImportRequest, ImportTask, Snapshots};
use crate::steps::pacing::next_wait;
use crate::steps::{ErrorKind, StepError};

/// The snapshot name: the image's sha256, or, with billing codes, the sha256 of the image's
/// sha256 followed by each code's sha256 (codes sorted, without repeats), so each billing-code
/// set gets its own snapshot.
pub fn snapshot_name(image_sha256: &str, billing_codes: &[String]) -> String {
    let mut codes: Vec<&String> = billing_codes.iter().collect();
    codes.sort();
    codes.dedup();
    if codes.is_empty() {
        return image_sha256.to_ascii_lowercase();
    }
    let mut joined = image_sha256.to_ascii_lowercase();
    for code in codes {
        joined.push_str(&hex(&Sha256::digest(code.as_bytes())));
    }
    hex(&Sha256::digest(joined.as_bytes()))
}

/// The task and snapshot tags: `Name` first, then the provenance tags.
fn tags_of(input: &ImportInput, name: &str) -> Vec<(String, String)> {
    let mut tags = vec![("Name".to_string(), name.to_string())];
    tags.extend(input.tags.iter().filter(|(k, _)| k != "Name").cloned());
    tags
}

/// Runs `start` or `check`; an import still active says when to check it next.
pub async fn run<S: Snapshots>(
    snapshots: &S,
    input: &ImportInput,
) -> Result<ImportOutput, StepError> {
    let mut out = step(snapshots, input).await?;
    if out.status == ImportStatus::Active {
        out.wait_seconds = Some(next_wait(&input.pacing, out.progress.as_deref()));
    }
    Ok(out)
}

/// `start` or `check`.
async fn step<S: Snapshots>(snapshots: &S, input: &ImportInput) -> Result<ImportOutput, StepError> {
    let name = snapshot_name(&input.sha256, &input.billing_codes);
    let out = |status, task: Option<&ImportTask>| ImportOutput {
        id: input.id.clone(),
        status,
        snapshot_name: name.clone(),
        task_id: task.map(|t| t.id.clone()),
        snapshot_id: task.and_then(|t| t.snapshot_id.clone()),
        progress: task.and_then(|t| t.progress.clone()),
        message: task.and_then(|t| t.message.clone()),
        started: false,
        wait_seconds: None,
    };
    let task = match input.action {
        ImportAction::Check => {
            let id = input
                .task_id
                .as_deref()
                .ok_or_else(|| StepError::invalid("task_id: required to check an import"))?;
            snapshots.describe_import(id).await?
        }
        ImportAction::Start => {
            if let Some(id) = &input.surveyed {
                return Ok(ImportOutput {
                    snapshot_id: Some(id.clone()),
                    ..out(ImportStatus::Completed, None)
                });
            }
            // the survey saw no snapshot of the name: a first attempt has nothing to find
            let existing = if input.absent && input.attempt == 0 {
                Vec::new()
            } else {
                snapshots.find_snapshots(&name).await?
            };
            match existing.as_slice() {
                [] => {}
                [id] => {
                    return Ok(ImportOutput {
                        snapshot_id: Some(id.clone()),
                        ..out(ImportStatus::Completed, None)
                    });
                }
                many => {
                    return Err(StepError::new(
                        ErrorKind::Conflict,
                        format!(
                            "{} snapshots are tagged Name={name} in {}: {}",
                            many.len(),
                            input.region,
                            many.join(", ")
                        ),
                    ));
                }
            }
            let live: Vec<ImportTask> = snapshots
                .find_import_tasks(&name)
                .await?
                .into_iter()
                .filter(ImportTask::alive)
                .collect();
            match live.as_slice() {
                [] => {
                    let request = ImportRequest {
                        name: name.clone(),
                        bucket: input.bucket.clone(),
                        key: input.key.clone(),
                        format: input.format,
                        tags: tags_of(input, &name),
                    };
                    let task = snapshots.start_import(&request).await?;
                    return Ok(ImportOutput {
                        started: true,
                        ..out(ImportStatus::Active, Some(&task))
                    });
                }
                [task] => task.clone(),
                many => {
                    let ids: Vec<&str> = many.iter().map(|t| t.id.as_str()).collect();
                    return Err(StepError::new(
                        ErrorKind::Conflict,
                        format!(
                            "{} import tasks are tagged Name={name} in {}: {}",
                            many.len(),
                            input.region,
                            ids.join(", ")
                        ),
                    ));
                }
            }
        }
    };
    match task.status.as_str() {
        "active" => Ok(out(ImportStatus::Active, Some(&task))),
        "completed" => {
            let snapshot_id = task.snapshot_id.clone().ok_or_else(|| {
                StepError::new(
                    ErrorKind::Fatal,
                    format!("import task {} completed without a snapshot", task.id),
                )
            })?;
            snapshots
                .tag_snapshot(&snapshot_id, &tags_of(input, &name))
                .await?;
            Ok(ImportOutput {
                progress: None,
                message: None,
                ..out(ImportStatus::Completed, Some(&task))
            })
        }
        _ => Ok(ImportOutput {
            message: Some(
                task.message
                    .clone()
                    .unwrap_or_else(|| format!("import task ended {}", task.status)),
            ),
            ..out(ImportStatus::Failed, Some(&task))
        }),
    }
}

#[cfg(test)]
mod tests;
