//! One module per pipeline step, named exactly like its function folder, crate, SAM resource
//! and ASL state (`upload`: `functions/upload`, `vmpush-upload`, `UploadFunction`, `Upload`).
//! Each takes its typed input from [`crate::payloads`], reaches the world through
//! [`crate::ports`], and fails with a [`StepError`].

pub mod azure_publish;
pub mod azure_upload;
pub mod copy_regions;
mod error;
pub mod import_snapshot;
pub mod marketplace_version;
mod pacing;
pub mod publish;
pub mod push_status;
pub mod resolve_mapping;
pub mod rhsm_update;
pub mod sns_notify;
pub mod start_push;
pub mod summarize;
pub mod upload;

pub use error::{ErrorKind, StepError};

/// The Task states of `statemachine/push.asl.json` and `statemachine/upload.asl.json` (the
/// upload flow each upload of a push runs as), by step: a state is named after its step
/// (`<Step>Check` for the polls of a start/check step, `<Step>Release` for publish's second
/// action), and its `Resource` is that step's function (`${<Step>FunctionArn}`). Progress
/// finds calls in an execution's history by these names. Besides them, only Step Functions'
/// own integrations (`${<Api>Integration}`): the push starting an upload's execution
/// (`UploadFlow`), which reads its work (`LoadWork`) and stores its outcomes (`SaveOutcomes`).
pub mod states {
    /// resolve-mapping.
    pub const RESOLVE_MAPPING: &str = "ResolveMapping";
    /// upload.
    pub const UPLOAD: &str = "Upload";
    /// azure-upload.
    pub const AZURE_UPLOAD: &str = "AzureUpload";
    /// azure-publish, first call.
    pub const AZURE_PUBLISH: &str = "AzurePublish";
    /// azure-publish, the calls after a wait.
    pub const AZURE_PUBLISH_CHECK: &str = "AzurePublishCheck";
    /// import-snapshot, `start`.
    pub const IMPORT_SNAPSHOT: &str = "ImportSnapshot";
    /// import-snapshot, `check`.
    pub const IMPORT_SNAPSHOT_CHECK: &str = "ImportSnapshotCheck";
    /// copy-regions, `start`.
    pub const COPY_REGIONS: &str = "CopyRegions";
    /// copy-regions, `check`.
    pub const COPY_REGIONS_CHECK: &str = "CopyRegionsCheck";
    /// marketplace-version, first call.
    pub const MARKETPLACE_VERSION: &str = "MarketplaceVersion";
    /// marketplace-version, the calls after a wait.
    pub const MARKETPLACE_VERSION_CHECK: &str = "MarketplaceVersionCheck";
    /// publish, `share`.
    pub const PUBLISH: &str = "Publish";
    /// publish, `release` (after RHSM).
    pub const PUBLISH_RELEASE: &str = "PublishRelease";
    /// rhsm-update.
    pub const RHSM_UPDATE: &str = "RhsmUpdate";
    /// summarize.
    pub const SUMMARIZE: &str = "Summarize";
    /// sns-notify.
    pub const SNS_NOTIFY: &str = "SnsNotify";
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::states;

    /// Every state of the definition, nested maps included: (name, state).
    fn all_states(container: &Value, out: &mut Vec<(String, Value)>) {
        for (name, state) in container["States"].as_object().expect("States") {
            out.push((name.clone(), state.clone()));
            for inner in [&state["ItemProcessor"], &state["Iterator"]] {
                if inner.is_object() {
                    all_states(inner, out);
                }
            }
            for branch in state["Branches"].as_array().into_iter().flatten() {
                all_states(branch, out);
            }
        }
    }

    #[test]
    fn every_task_state_is_named_after_its_step_and_passes_the_node_id() {
        let mut found = Vec::new();
        for text in [
            include_str!("../../../../statemachine/push.asl.json"),
            include_str!("../../../../statemachine/upload.asl.json"),
        ] {
            let definition: Value = serde_json::from_str(text).expect("the ASL is JSON");
            all_states(&definition, &mut found);
        }
        let integrations: Vec<(&str, &str)> = found
            .iter()
            .filter(|(_, s)| s["Type"] == "Task")
            .filter_map(|(name, s)| {
                let resource = s["Resource"].as_str()?;
                let api = resource.strip_suffix("Integration}")?.strip_prefix("${")?;
                Some((name.as_str(), api))
            })
            .collect();
        assert_eq!(
            integrations,
            [
                ("UploadFlow", "StartExecutionSync"),
                ("LoadWork", "S3GetObject"),
                ("SaveOutcomes", "S3PutObject"),
            ]
        );
        let tasks: Vec<&(String, Value)> = found
            .iter()
            .filter(|(name, s)| s["Type"] == "Task" && !integrations.iter().any(|(n, _)| n == name))
            .collect();
        for (name, state) in &tasks {
            let resource = state["Resource"].as_str().expect("a Resource");
            let step = resource
                .strip_prefix("${")
                .and_then(|r| r.strip_suffix("FunctionArn}"))
                .unwrap_or_else(|| panic!("{name}: Resource {resource} is no step's function"));
            let rest = name
                .strip_prefix(step)
                .unwrap_or_else(|| panic!("{name} is not named after its step {step}"));
            assert!(
                ["", "Check", "Failure", "Release"].contains(&rest),
                "{name}: after the step's name comes only Check, Failure or Release"
            );
            let per_node = !["ResolveMapping", "Summarize", "SnsNotify"].contains(&step);
            let passes_id =
                state["Parameters"]["id.$"].is_string() || state["InputPath"] == "$.invoke.input";
            assert_eq!(
                passes_id, per_node,
                "{name}: a work-list step gets its node's id"
            );
        }
        for constant in [
            states::RESOLVE_MAPPING,
            states::UPLOAD,
            states::AZURE_UPLOAD,
            states::AZURE_PUBLISH,
            states::AZURE_PUBLISH_CHECK,
            states::IMPORT_SNAPSHOT,
            states::IMPORT_SNAPSHOT_CHECK,
            states::COPY_REGIONS,
            states::COPY_REGIONS_CHECK,
            states::MARKETPLACE_VERSION,
            states::MARKETPLACE_VERSION_CHECK,
            states::PUBLISH,
            states::PUBLISH_RELEASE,
            states::RHSM_UPDATE,
            states::SUMMARIZE,
            states::SNS_NOTIFY,
        ] {
            assert!(
                tasks.iter().any(|(name, _)| name == constant),
                "the ASL has no Task state {constant}"
            );
        }
        // every outcome the maps return names its node (a Pass with an OutputPath only
        // gathers outcomes)
        for (name, state) in &found {
            let outcome = state["Type"] == "Pass"
                && state["End"] == true
                && state["Parameters"].is_object()
                && state["OutputPath"].is_null();
            if outcome {
                assert!(
                    state["Parameters"]["id.$"].is_string(),
                    "{name}: an outcome names its node"
                );
            }
        }
    }
}
