//! An uploaded VHD as a disk version of its Azure offer's plan (spec §3.6.9), one short call
//! at a time: the state machine calls the step, waits, and calls it again with its last
//! answer until it says `done`, so no call sleeps through Partner Center's jobs.
//!
//! - **resolve**: the blob must be there complete (tagged with its sha256) or the step
//!   answers `upload_missing`. The product is found by name, then its plan. While a
//!   submission to preview or live is running, the step answers `wait`. Unless drafts may be
//!   pushed, an offer whose draft has changes its preview (else live) has not, besides
//!   technical configurations, is refused: someone else is changing it. The disk's read-only
//!   SAS URI (asked of the storage on each call, kept nowhere) is looked for live, then in
//!   preview, then in draft, compared as the reference's `is_sas_eq` (the base URL only with
//!   `vhd_check_base_sas_only`): live already means nothing to do; in preview, the offer
//!   goes live; in draft, to preview then live. Otherwise the draft's technical
//!   configuration gets the disk ([`resources::with_disk`]: overwrite, update or append;
//!   SKUs recomputed) through `POST /configure`.
//! - **configure**: the job is polled until completed; a failed job fails the destination
//!   with its errors.
//! - **preview**, **live**: the reference's `submit_to_status`: the previous target's
//!   submission is sent with the new target (with `modular_push`, together with the plan's
//!   plan and technical configuration resources), and its job polled. A failed submission is
//!   tried again after a wait, 3 times in all, except a certification failure, which fails
//!   the destination at once.
//! - **tag**: the blob gets `release_date` (`%Y%m%d%H::%M::%S`, UTC) among its tags.
//!
//! Each phase checks the service before acting, so a call repeated after a lost answer
//! starts nothing twice: the disk found in draft is not configured again, an offer found in
//! preview is not submitted again.

pub mod resources;

use std::time::SystemTime;

use serde_json::{Value, json};
use tracing::info;

use crate::payloads::{AzurePhase, AzurePublishInput, AzurePublishOutput, AzurePublishStatus};
use crate::plan::AzureTarget;
use crate::ports::{JobStatus, PageBlobs, ProductIngestion};
use crate::steps::azure_upload::SHA256_TAG;
use crate::steps::marketplace_version::{RELEASE_DATE_TAG, release_date};
use crate::steps::{ErrorKind, StepError};

use resources::{CONFIGURE_SCHEMA, durable_id, has_disk, pending_changes};

/// How many times a submission is tried (the reference's 3 attempts).
pub const SUBMIT_ATTEMPTS: u32 = 3;

/// What the step needs besides its input.
pub struct Context<'a, P, B> {
    /// The account's Product Ingestion API.
    pub ingestion: &'a P,
    /// The account's storage.
    pub blobs: &'a B,
    /// Now (for the `release_date` tag).
    pub now: SystemTime,
}

/// One call: moves the destination's disk version as far as it goes without waiting.
pub async fn run<P: ProductIngestion, B: PageBlobs>(
    cx: &Context<'_, P, B>,
    input: &AzurePublishInput,
) -> Result<AzurePublishOutput, StepError> {
    let d = &input.destination;
    let label = format!("{} {}", d.account, d.destination);
    let target = d.azure.as_ref().ok_or_else(|| {
        StepError::invalid(format!("{label}: not an Azure offer/plan destination"))
    })?;
    let mut out = input
        .progress
        .clone()
        .unwrap_or_else(|| AzurePublishOutput {
            id: input.id.clone(),
            offer: target.offer.clone(),
            plan: target.plan.clone(),
            disk_version: target.disk_version.clone(),
            blob_url: cx.blobs.blob_url(&d.bucket, &input.blob),
            ..AzurePublishOutput::default()
        });
    out.id = input.id.clone();
    out.waiting_for = None;
    out.status = AzurePublishStatus::Wait;
    let step = Step {
        cx,
        input,
        target,
        label,
    };
    step.advance(&mut out).await?;
    Ok(out)
}

/// One call's view of the destination.
struct Step<'a, P, B> {
    cx: &'a Context<'a, P, B>,
    input: &'a AzurePublishInput,
    target: &'a AzureTarget,
    label: String,
}

impl<P: ProductIngestion, B: PageBlobs> Step<'_, P, B> {
    fn container(&self) -> &str {
        &self.input.destination.bucket
    }

    /// Runs phases until one has to wait or all are done.
    async fn advance(&self, out: &mut AzurePublishOutput) -> Result<(), StepError> {
        loop {
            let before = out.phase;
            match out.phase {
                AzurePhase::Resolve => self.resolve(out).await?,
                AzurePhase::Configure => self.configured(out).await?,
                AzurePhase::Preview => self.submit(out, "preview").await?,
                AzurePhase::Live => self.submit(out, "live").await?,
                AzurePhase::Tag => {
                    self.tag().await?;
                    out.status = AzurePublishStatus::Done;
                }
            }
            if out.status != AzurePublishStatus::Wait || out.waiting_for.is_some() {
                return Ok(());
            }
            if out.phase == before {
                return Ok(());
            }
        }
    }

    /// The product's durable id, found by name once.
    async fn product(&self, out: &mut AzurePublishOutput) -> Result<String, StepError> {
        if let Some(id) = &out.product {
            return Ok(id.clone());
        }
        let products = self.cx.ingestion.products().await?;
        let found = products
            .iter()
            .find(|p| p["identity"]["externalId"] == self.target.offer.as_str())
            .and_then(|p| p["id"].as_str())
            .ok_or_else(|| {
                StepError::new(
                    ErrorKind::NotFound,
                    format!(
                        "{}: no offer named {:?} in Partner Center",
                        self.label, self.target.offer
                    ),
                )
            })?;
        let id = durable_id(found).to_string();
        out.product = Some(id.clone());
        Ok(id)
    }

    async fn resolve(&self, out: &mut AzurePublishOutput) -> Result<(), StepError> {
        let complete = self
            .cx
            .blobs
            .blob(self.container(), &self.input.blob)
            .await?
            .is_some_and(|b| b.tag(SHA256_TAG).is_some());
        if !complete {
            out.status = AzurePublishStatus::UploadMissing;
            return Ok(());
        }
        let product = self.product(out).await?;
        let submissions = self.cx.ingestion.submissions(&product).await?;
        if self.wait_for_running(out, &submissions) {
            return Ok(());
        }
        let draft = self.tree(&product, "draft").await?.ok_or_else(|| {
            StepError::new(
                ErrorKind::NotFound,
                format!("{}: offer {} has no draft", self.label, self.target.offer),
            )
        })?;
        let preview = self.tree(&product, "preview").await?;
        let live = self.tree(&product, "live").await?;
        if !self.input.request.azure_allow_draft_push && has_target_other_than_draft(&submissions) {
            if let Some(published) = preview.as_ref().or(live.as_ref()) {
                let changes = pending_changes(&draft, published);
                if !changes.is_empty() {
                    return Err(StepError::new(
                        ErrorKind::Conflict,
                        format!(
                            "Can't update the offer {} as it's already being changed: {} (--azure-allow-draft-push publishes anyway)",
                            self.target.offer,
                            changes.join(", ")
                        ),
                    ));
                }
            }
        }
        let sas = self.cx.blobs.read_url(self.container(), &self.input.blob)?;
        let has_ours = |tree: Option<&Value>| {
            tree.and_then(|t| self.plan_config(t).ok())
                .is_some_and(|(_, config)| self.satisfied(config, &sas))
        };
        if has_ours(live.as_ref()) {
            info!(destination = %self.label, "the disk is live already");
            out.existing = !out.configured && out.submitted.is_empty();
            out.phase = AzurePhase::Tag;
            return Ok(());
        }
        if has_ours(preview.as_ref()) {
            out.phase = AzurePhase::Live;
            return Ok(());
        }
        let (plan_id, config) = self.plan_config(&draft)?;
        if self.satisfied(config, &sas) {
            out.phase = AzurePhase::Preview;
            return Ok(());
        }
        let wanted = resources::with_disk(config, self.target, &sas);
        info!(destination = %self.label, plan = %plan_id, version = %self.target.disk_version, "configuring the disk version");
        let job = self
            .cx
            .ingestion
            .configure(&json!({"$schema": CONFIGURE_SCHEMA, "resources": [wanted]}))
            .await?;
        out.configured = true;
        out.job = Some(job.job_id.clone());
        out.phase = AzurePhase::Configure;
        if self.settle(out, &job, "the technical configuration")? {
            out.phase = AzurePhase::Preview;
        }
        Ok(())
    }

    /// Whether a technical configuration has the destination's disk as asked: among its
    /// disk versions, or with `overwrite` as the only one.
    fn satisfied(&self, config: &Value, sas: &str) -> bool {
        let base_only = self.target.check_base_sas_only;
        let versions = config["vmImageVersions"].as_array().map_or(0, Vec::len);
        has_disk(config, sas, base_only) && (!self.target.overwrite || versions == 1)
    }

    /// Whether a submission of the offer to preview or live is running: then the step waits
    /// for it.
    fn wait_for_running(&self, out: &mut AzurePublishOutput, submissions: &[Value]) -> bool {
        let Some(running) = running(submissions) else {
            return false;
        };
        out.waiting_for = Some(format!(
            "a submission of offer {} to {running} is in progress",
            self.target.offer
        ));
        true
    }

    /// The plan's id and technical configuration in `tree`.
    fn plan_config<'t>(&self, tree: &'t Value) -> Result<(&'t str, &'t Value), StepError> {
        let missing = |what: &str| {
            StepError::new(
                ErrorKind::NotFound,
                format!(
                    "{}: offer {} has no {what} for plan {}",
                    self.label, self.target.offer, self.target.plan
                ),
            )
        };
        let plan = resources::plan(tree, &self.target.plan).ok_or_else(|| missing("plan"))?;
        let plan_id = plan["id"].as_str().unwrap_or_default();
        let config = resources::tech_config(tree, plan_id)
            .ok_or_else(|| missing("technical configuration"))?;
        Ok((plan_id, config))
    }

    async fn tree(&self, product: &str, target: &str) -> Result<Option<Value>, StepError> {
        self.cx.ingestion.resource_tree(product, target).await
    }

    /// Waits for a running job, or fails with a failed one's errors.
    fn settle(
        &self,
        out: &mut AzurePublishOutput,
        job: &JobStatus,
        what: &str,
    ) -> Result<bool, StepError> {
        if !job.completed() {
            out.waiting_for = Some(format!("{what}: configure job {}", job.job_id));
            return Ok(false);
        }
        if job.succeeded() {
            out.job = None;
            return Ok(true);
        }
        Err(StepError::new(
            ErrorKind::Fatal,
            format!(
                "{}: configure job {} of {what} failed: {}",
                self.label,
                job.job_id,
                errors(job)
            ),
        ))
    }

    async fn configured(&self, out: &mut AzurePublishOutput) -> Result<(), StepError> {
        let Some(job) = out.job.clone() else {
            out.phase = AzurePhase::Resolve;
            return Ok(());
        };
        let status = self.cx.ingestion.job_status(&job).await?;
        if self.settle(out, &status, "the technical configuration")? {
            out.phase = AzurePhase::Preview;
        }
        Ok(())
    }

    /// The submission to `to` (`preview` or `live`).
    async fn submit(&self, out: &mut AzurePublishOutput, to: &str) -> Result<(), StepError> {
        let product = self.product(out).await?;
        let next = if to == "preview" {
            AzurePhase::Live
        } else {
            AzurePhase::Tag
        };
        if let Some(job) = out.job.clone() {
            let status = self.cx.ingestion.job_status(&job).await?;
            if !status.completed() {
                out.waiting_for = Some(format!("the submission to {to}: configure job {job}"));
                return Ok(());
            }
            out.job = None;
            let submissions = self.cx.ingestion.submissions(&product).await?;
            if status.succeeded() && find(&submissions, to).is_some() {
                out.attempts = 0;
                out.phase = next;
                return Ok(());
            }
            let reason = format!(
                "Failed to submit the product {product} to {to}. Status: {} Errors: {}",
                status.result,
                errors(&status)
            );
            out.attempts += 1;
            if certification_failed(&status) || out.attempts >= SUBMIT_ATTEMPTS {
                return Err(StepError::new(
                    ErrorKind::Fatal,
                    format!("{}: {reason}", self.label),
                ));
            }
            out.waiting_for = Some(format!("another try of the submission to {to}: {reason}"));
            return Ok(());
        }
        let submissions = self.cx.ingestion.submissions(&product).await?;
        if self.wait_for_running(out, &submissions) {
            return Ok(());
        }
        let sas = self.cx.blobs.read_url(self.container(), &self.input.blob)?;
        if let Some(tree) = self.tree(&product, to).await? {
            let there = self
                .plan_config(&tree)
                .is_ok_and(|(_, c)| self.satisfied(c, &sas));
            if there {
                out.phase = next;
                return Ok(());
            }
        }
        let from = if to == "preview" { "draft" } else { "preview" };
        let mut submission = find(&submissions, from).cloned().ok_or_else(|| {
            StepError::new(
                ErrorKind::NotFound,
                format!(
                    "{}: Could not find the submission state \"{from}\" for product \"{product}\"",
                    self.label
                ),
            )
        })?;
        submission["target"]["targetType"] = json!(to);
        let mut sent = Vec::new();
        if self.target.modular_push {
            let draft = self.tree(&product, "draft").await?.unwrap_or_default();
            let (plan_id, config) = self.plan_config(&draft)?;
            if let Some(plan) = resources::plan(&draft, &self.target.plan) {
                sent.push(plan.clone());
            }
            sent.push(config.clone());
            info!(destination = %self.label, plan = %plan_id, "modular push: the plan's resources only");
        }
        sent.push(submission);
        info!(destination = %self.label, %product, to, "submitting the offer");
        let job = self
            .cx
            .ingestion
            .configure(&json!({"$schema": CONFIGURE_SCHEMA, "resources": sent}))
            .await?;
        out.submitted.push(to.to_string());
        out.job = Some(job.job_id.clone());
        out.waiting_for = Some(format!(
            "the submission to {to}: configure job {}",
            job.job_id
        ));
        Ok(())
    }

    /// Tags the blob `release_date`, keeping its other tags.
    async fn tag(&self) -> Result<(), StepError> {
        let blob = self
            .cx
            .blobs
            .blob(self.container(), &self.input.blob)
            .await?
            .unwrap_or_default();
        let mut tags: Vec<(String, String)> = blob
            .tags
            .into_iter()
            .filter(|(k, _)| k != RELEASE_DATE_TAG)
            .collect();
        tags.push((RELEASE_DATE_TAG.into(), release_date(self.cx.now)));
        self.cx
            .blobs
            .set_tags(self.container(), &self.input.blob, &tags)
            .await
    }
}

/// The target of a running submission to preview or live, if any.
fn running(submissions: &[Value]) -> Option<&str> {
    submissions
        .iter()
        .filter(|s| s["status"] == "running")
        .filter_map(|s| s["target"]["targetType"].as_str())
        .find(|t| ["preview", "live"].contains(t))
}

/// Whether the offer was ever submitted beyond draft.
fn has_target_other_than_draft(submissions: &[Value]) -> bool {
    submissions.iter().any(|s| {
        s["target"]["targetType"]
            .as_str()
            .is_some_and(|t| t != "draft")
    })
}

/// The submission at `target`.
fn find<'a>(submissions: &'a [Value], target: &str) -> Option<&'a Value> {
    submissions
        .iter()
        .find(|s| s["target"]["targetType"] == target)
}

/// A job's errors, as one line, without any SAS signature they quote.
fn errors(job: &JobStatus) -> String {
    let lines: Vec<String> = job
        .errors
        .iter()
        .map(|e| match (e["code"].as_str(), e["message"].as_str()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (None, Some(message)) => message.to_string(),
            _ => e.to_string(),
        })
        .collect();
    if lines.is_empty() {
        "none given".into()
    } else {
        resources::redact_sas(&lines.join("; "))
    }
}

/// Whether a job failed Microsoft's certification (not worth another try).
fn certification_failed(job: &JobStatus) -> bool {
    job.errors.iter().any(|e| {
        ["code", "message"]
            .iter()
            .filter_map(|k| e[*k].as_str())
            .any(|t| t.to_ascii_lowercase().contains("certification"))
    })
}

#[cfg(test)]
mod tests;
