//! A destination's AMI as a new version of its AWS Marketplace product (spec §3.6.8), one
//! short call at a time: the state machine calls the step, waits, and calls it again with its
//! last answer until it says `done`, so no call ever sleeps.
//!
//! - **version**: the product is read; a version whose title contains the planned title is
//!   there already and nothing is started (the reference's substring rule), unless the
//!   destination says `overwrite` and a version has exactly that title, which is then updated
//!   (`UpdateDeliveryOptions` with its delivery option id), unless it already carries this
//!   AMI. Otherwise `AddDeliveryOptions`, the reference's `DetailsDocument` plus
//!   `ScanningPort`, with a `ClientRequestToken` derived from the push, the destination and
//!   the change, and a `ChangeSetName` of the destination's, so a retried call starts no
//!   second change set and a call after a lost answer finds its own. While another change
//!   set holds the entity (listed open, or `ResourceInUseException`), the step answers
//!   `locked` and is called again.
//! - once the version exists: the AMI is tagged `release_date` (`%Y%m%d%H::%M::%S`, UTC);
//!   with `restrict_version`, older versions are restricted ([`restrict`]) by one
//!   `RestrictDeliveryOptions` change set, and once it succeeds their AMIs (with their
//!   snapshots) are found in one call and deregistered and deleted in the next, never the AMI
//!   just published: a call killed between an AMI and its snapshot is retried knowing both.
//! - a change set that fails fails the destination with its `ErrorDetailList`.

use std::time::SystemTime;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tracing::info;

pub mod restrict;

use crate::payloads::{RetiringImage, VersionInput, VersionOutput, VersionPhase, VersionStatus};
use crate::plan::{MarketplaceTarget, VersionRequest};
use crate::ports::{Catalog, ChangeRequest, ProductImages, ProductVersion, Started};
use crate::steps::{ErrorKind, StepError};

/// The tag the published AMI gets, as the reference names it.
pub const RELEASE_DATE_TAG: &str = "release_date";

/// The `release_date` tag value at `at`: `%Y%m%d%H::%M::%S` (the reference's literal `::`).
pub fn release_date(at: SystemTime) -> String {
    let text = humantime::format_rfc3339_seconds(at).to_string();
    // 2026-11-21T07:45:16Z
    format!(
        "{}{}{}{}::{}::{}",
        &text[0..4],
        &text[5..7],
        &text[8..10],
        &text[11..13],
        &text[14..16],
        &text[17..19]
    )
}

/// What the step needs besides its input.
pub struct Context<'a, C, I> {
    /// The seller account's catalog.
    pub catalog: &'a C,
    /// The account's AMIs in the destination's region.
    pub images: &'a I,
    /// `AWS_ACCESS_ROLE_ARN` of the account: the role Marketplace reads the AMI with.
    pub access_role_arn: &'a str,
    /// Now (for the `release_date` tag).
    pub now: SystemTime,
}

/// One call: moves the destination's version as far as it goes without waiting.
pub async fn run<C: Catalog, I: ProductImages>(
    cx: &Context<'_, C, I>,
    input: &VersionInput,
) -> Result<VersionOutput, StepError> {
    let d = &input.destination;
    let label = format!("{} {}", d.account, d.destination);
    let target = d.marketplace.as_ref().ok_or_else(|| {
        StepError::invalid(format!("{label}: not an AWS Marketplace destination"))
    })?;
    let version = target
        .version
        .as_ref()
        .ok_or_else(|| StepError::invalid(format!("{label}: no Marketplace version planned")))?;
    let entity_type = target
        .entity_type
        .as_deref()
        .map(|t| format!("{t}@1.0"))
        .ok_or_else(|| StepError::invalid(format!("{label}: no marketplace_entity_type")))?;
    let mut out = input.progress.clone().unwrap_or_else(|| VersionOutput {
        id: input.id.clone(),
        entity: d.destination.clone(),
        title: version.title.clone(),
        ..VersionOutput::default()
    });
    out.id = input.id.clone();
    let step = Step {
        cx,
        input,
        target,
        version,
        entity_type,
        label,
    };
    step.advance(&mut out).await?;
    Ok(out)
}

/// One call's view of the destination.
struct Step<'a, C, I> {
    cx: &'a Context<'a, C, I>,
    input: &'a VersionInput,
    target: &'a MarketplaceTarget,
    version: &'a VersionRequest,
    entity_type: String,
    label: String,
}

impl<C: Catalog, I: ProductImages> Step<'_, C, I> {
    fn entity(&self) -> &str {
        &self.input.destination.destination
    }

    async fn advance(&self, out: &mut VersionOutput) -> Result<(), StepError> {
        out.waiting_for = None;
        match (out.phase, out.status) {
            (VersionPhase::Done, _) | (_, VersionStatus::Done) => self.finish(out),
            (VersionPhase::Version, VersionStatus::Locked) => self.start_version(out).await?,
            (VersionPhase::Version, VersionStatus::Applying) => {
                let id = out.change_set.clone().ok_or_else(|| {
                    StepError::invalid(format!("{}: applying without a change set", self.label))
                })?;
                if self.applied(&id, out).await? {
                    self.published(out).await?;
                }
            }
            (VersionPhase::Restrict, VersionStatus::Locked) => self.start_restrict(out).await?,
            (VersionPhase::Restrict, VersionStatus::Applying) => {
                let id = out.restrict_change_set.clone().ok_or_else(|| {
                    StepError::invalid(format!("{}: restricting without a change set", self.label))
                })?;
                if self.applied(&id, out).await? {
                    self.retiring(out).await?;
                }
            }
            (VersionPhase::Retire, _) => {
                self.retire(out).await?;
                self.finish(out);
            }
        }
        Ok(())
    }

    fn finish(&self, out: &mut VersionOutput) {
        out.phase = VersionPhase::Done;
        out.status = VersionStatus::Done;
        out.done = true;
    }

    /// The change set name of a phase: what tells this destination's change set in a list.
    fn change_set_name(&self, phase: &str) -> String {
        format!("vmpush-{}-{phase}", self.input.id)
    }

    /// The idempotency token of a change: the push, the destination and the change itself.
    fn token(&self, phase: &str, details: &Value) -> String {
        let mut hash = Sha256::new();
        for part in [
            self.input.push_id.as_str(),
            self.input.id.as_str(),
            phase,
            &details.to_string(),
        ] {
            hash.update(part.as_bytes());
            hash.update(b"\n");
        }
        crate::hex(&hash.finalize()[..16])
    }

    /// The version document (cloudpub's `VersionMapping`), with `Id` for an update.
    fn details(&self, delivery_option: Option<&str>) -> Value {
        let v = self.version;
        let mut source = json!({
            "AmiId": self.input.ami,
            "AccessRoleArn": self.cx.access_role_arn,
            "UserName": v.user_name,
            "OperatingSystemName": v.os_name,
            "OperatingSystemVersion": v.os_version,
        });
        if let Some(port) = v.scanning_port {
            source["ScanningPort"] = json!(port);
        }
        let groups: Vec<Value> = v
            .security_groups
            .iter()
            .map(|g| {
                json!({"FromPort": g.from_port, "IpProtocol": g.ip_protocol,
                       "IpRanges": g.ip_ranges, "ToPort": g.to_port})
            })
            .collect();
        let mut ami = json!({
            "AmiSource": source,
            "UsageInstructions": v.usage_instructions,
            "RecommendedInstanceType": v.recommended_instance_type,
            "SecurityGroups": groups,
        });
        if let Some(endpoint) = &v.access_endpoint_url {
            ami["AccessEndpointUrl"] =
                json!({"Port": endpoint.port, "Protocol": endpoint.protocol});
        }
        let mut option = json!({"Details": {"AmiDeliveryOptionDetails": ami}});
        if let Some(id) = delivery_option {
            option["Id"] = json!(id);
        }
        json!({
            "Version": {"VersionTitle": v.title, "ReleaseNotes": v.release_notes},
            "DeliveryOptions": [option],
        })
    }

    /// Adds (or updates) the version, or finds it there.
    async fn start_version(&self, out: &mut VersionOutput) -> Result<(), StepError> {
        let product = self.cx.catalog.product(self.entity()).await?;
        if product.entity_type != self.entity_type {
            return Err(StepError::new(
                ErrorKind::Fatal,
                format!(
                    "{}: the entity is a {}, the mapping says {}",
                    self.label, product.entity_type, self.entity_type
                ),
            ));
        }
        let title = &self.version.title;
        let exact = product.versions.iter().find(|v| v.title == *title);
        let update = match exact {
            Some(v) if self.target.overwrite && !v.amis.contains(&self.input.ami) => {
                let option = v.delivery_options.first().ok_or_else(|| {
                    StepError::new(
                        ErrorKind::Fatal,
                        format!(
                            "{}: version '{title}' has no delivery option to update",
                            self.label
                        ),
                    )
                })?;
                Some(option.id.clone())
            }
            _ => None,
        };
        if update.is_none()
            && product
                .versions
                .iter()
                .any(|v| v.title.contains(title.as_str()))
        {
            info!(entity = %self.entity(), %title, "Version already exists in AWS");
            out.existing = true;
            return self.published(out).await;
        }
        let change_type = if update.is_some() {
            "UpdateDeliveryOptions"
        } else {
            "AddDeliveryOptions"
        };
        out.change_type = Some(change_type.into());
        let details = self.details(update.as_deref());
        let request = ChangeRequest {
            change_type: change_type.into(),
            entity_type: self.entity_type.clone(),
            entity_id: self.entity().into(),
            token: self.token("version", &details),
            details,
            details_as_string: false,
            intent: "APPLY".into(),
            name: self.change_set_name("version"),
        };
        if let Some(id) = self.start(&request, out).await? {
            info!(entity = %self.entity(), %title, change_set = %id, change_type, "version change set started");
            out.change_set = Some(id);
        }
        Ok(())
    }

    /// Starts a change set unless the entity is locked: adopts this destination's own open
    /// one (a lost answer), waits for any other. `Some(id)` once it runs.
    async fn start(
        &self,
        request: &ChangeRequest,
        out: &mut VersionOutput,
    ) -> Result<Option<String>, StepError> {
        let open = self.cx.catalog.open_change_sets(self.entity()).await?;
        if let Some(own) = open
            .iter()
            .find(|c| c.name.as_deref() == Some(&request.name))
        {
            out.status = VersionStatus::Applying;
            return Ok(Some(own.id.clone()));
        }
        if !open.is_empty() {
            out.status = VersionStatus::Locked;
            out.waiting_for = Some(format!(
                "the entity is locked by change set {}",
                open.iter()
                    .map(|c| c.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            return Ok(None);
        }
        match self.cx.catalog.start(request).await? {
            Started::ChangeSet(id) => {
                out.status = VersionStatus::Applying;
                Ok(Some(id))
            }
            Started::Locked(message) => {
                out.status = VersionStatus::Locked;
                out.waiting_for = Some(message);
                Ok(None)
            }
        }
    }

    /// Whether a change set succeeded; `false` while it runs; an error when it failed.
    async fn applied(&self, id: &str, out: &mut VersionOutput) -> Result<bool, StepError> {
        let state = self.cx.catalog.change_set(id).await?;
        match state.status.as_str() {
            "SUCCEEDED" => Ok(true),
            "PREPARING" | "APPLYING" => {
                out.waiting_for = Some(format!("change set {id} is {}", state.status));
                Ok(false)
            }
            status => {
                let code = state.failure_code.as_deref().unwrap_or("none");
                let mut details = state.errors.clone();
                if details.is_empty() {
                    details.extend(state.failure_description.clone());
                }
                Err(StepError::new(
                    ErrorKind::Fatal,
                    format!(
                        "{}: Changeset {id} {} with code {code}: {}",
                        self.label,
                        if status == "CANCELLED" {
                            "was cancelled"
                        } else {
                            "failed"
                        },
                        if details.is_empty() {
                            "no details".into()
                        } else {
                            details.join("; ")
                        }
                    ),
                ))
            }
        }
    }

    /// The version exists: the AMI is tagged, then older versions restricted where asked.
    async fn published(&self, out: &mut VersionOutput) -> Result<(), StepError> {
        let ami = &self.input.ami;
        let image = self.cx.images.image(ami).await?.ok_or_else(|| {
            StepError::new(
                ErrorKind::NotFound,
                format!("{}: AMI {ami} is not in the account", self.label),
            )
        })?;
        if !image.tags.iter().any(|(k, _)| k == RELEASE_DATE_TAG) {
            let tag = (RELEASE_DATE_TAG.to_string(), release_date(self.cx.now));
            self.cx.images.tag_image(ami, &[tag]).await?;
        }
        if self.target.restrict_version {
            out.phase = VersionPhase::Restrict;
            out.status = VersionStatus::Locked;
            self.start_restrict(out).await
        } else {
            self.finish(out);
            Ok(())
        }
    }

    /// Restricts the versions the reference's rules give, never this AMI's.
    async fn start_restrict(&self, out: &mut VersionOutput) -> Result<(), StepError> {
        let product = self.cx.catalog.product(self.entity()).await?;
        let own: Vec<&ProductVersion> = product
            .versions
            .iter()
            .filter(|v| v.amis.contains(&self.input.ami))
            .collect();
        let mut chosen = restrict::restrictions(
            &product.versions,
            self.target.restrict_major,
            self.target.restrict_minor,
        );
        for v in &own {
            if let Some(option) = v.delivery_options.first() {
                chosen.delivery_options.retain(|id| *id != option.id);
            }
        }
        chosen.amis.retain(|a| a != &self.input.ami);
        if chosen.delivery_options.is_empty() {
            self.finish(out);
            return Ok(());
        }
        let details = json!({"DeliveryOptionIds": chosen.delivery_options});
        let request = ChangeRequest {
            change_type: "RestrictDeliveryOptions".into(),
            entity_type: self.entity_type.clone(),
            entity_id: self.entity().into(),
            token: self.token("restrict", &details),
            details,
            details_as_string: true,
            intent: "APPLY".into(),
            name: self.change_set_name("restrict"),
        };
        if let Some(id) = self.start(&request, out).await? {
            info!(entity = %self.entity(), change_set = %id, restricted = ?chosen.delivery_options, "restriction started");
            out.restrict_change_set = Some(id);
            out.restricted = chosen.delivery_options;
            out.restricted_amis = chosen.amis;
        }
        Ok(())
    }

    /// Finds the restricted versions' AMIs the account has, with their snapshots, for the
    /// next call to delete; done at once when there are none.
    async fn retiring(&self, out: &mut VersionOutput) -> Result<(), StepError> {
        out.retiring.clear();
        for ami in out.restricted_amis.clone() {
            if ami == self.input.ami {
                continue;
            }
            if let Some(image) = self.cx.images.image(&ami).await? {
                out.retiring.push(RetiringImage {
                    ami,
                    snapshots: image.snapshots,
                });
            }
        }
        if out.retiring.is_empty() {
            self.finish(out);
        } else {
            out.phase = VersionPhase::Retire;
            out.status = VersionStatus::Applying;
        }
        Ok(())
    }

    /// Deregisters the AMIs found by [`Self::retiring`] (those still there) and deletes their
    /// snapshots (those already gone are no error): a retry after a kill finishes the job.
    async fn retire(&self, out: &mut VersionOutput) -> Result<(), StepError> {
        out.deleted_amis.clear();
        out.deleted_snapshots.clear();
        for image in out.retiring.clone() {
            if self.cx.images.image(&image.ami).await?.is_some() {
                self.cx.images.deregister(&image.ami).await?;
            }
            out.deleted_amis.push(image.ami.clone());
            for snapshot in image.snapshots {
                self.cx.images.delete_snapshot(&snapshot).await?;
                out.deleted_snapshots.push(snapshot);
            }
            info!(ami = %image.ami, "restricted AMI deleted");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
