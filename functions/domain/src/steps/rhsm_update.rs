//! Telling RHSM about a shipped AMI (spec §5.2, the same bodies as pubtools): the AMI is
//! updated (`PUT .../amis`, status `VISIBLE`); when RHSM does not know it yet, its region is
//! registered (`POST .../regions`) and the AMI created (`POST .../amis` with `region`). Doing
//! the `PUT` first (pubtools posts the region first) means a re-run sends `PUT`s only; RHSM
//! ends in the same state. Nothing is written for a pre-push or a destination without an RHSM
//! product.
//!
//! The AMI's `POST` is never repeated blindly: when its answer is lost (a timeout, a 5xx) or
//! says the AMI exists (409), the AMI is read back with the idempotent `PUT`, and only an AMI
//! RHSM still does not know is an error (transient, so the step runs again from the `PUT`). A
//! 5xx on the region's `POST` is transient too, and a 429 on any call is throttling: the
//! step is retried, and a `PUT` answered so never counts as "RHSM does not know the AMI"
//! (that fall back to creating it is for its other non-ok answers, as in pubtools).

use std::time::SystemTime;

use serde_json::{Value, json};

use crate::payloads::{RhsmAction, RhsmInput, RhsmOutput};
use crate::plan::PlannedDestination;
use crate::ports::RhsmWrites;
use crate::steps::{ErrorKind, StepError};

/// `2026-11-21T07:44:57+00:00`: UTC, whole seconds, as marketplacesvm writes it.
pub fn utc_iso8601(at: SystemTime) -> String {
    let text = humantime::format_rfc3339_seconds(at).to_string();
    match text.strip_suffix('Z') {
        Some(base) => format!("{base}+00:00"),
        None => text,
    }
}

/// The AMI body of §5.2 (`region` is added for a create).
pub fn ami_body(d: &PlannedDestination, ami: &str, product: &str, at: SystemTime) -> Value {
    let name = d.ami_name.as_deref().unwrap_or(&d.image_name);
    json!({
        "amiID": ami,
        "arch": d.architecture.to_lowercase(),
        "product": product,
        "version": d.release.version.as_deref().unwrap_or("none"),
        "variant": d.release.variant.as_deref().unwrap_or("none"),
        "description": format!("Released {name} on {}", utc_iso8601(at)),
        "status": "VISIBLE",
    })
}

/// Runs the step at time `at`.
pub async fn run<R: RhsmWrites>(
    rhsm: &R,
    input: &RhsmInput,
    at: SystemTime,
) -> Result<RhsmOutput, StepError> {
    let d = &input.destination;
    let output = |action| RhsmOutput {
        id: input.id.clone(),
        action,
        ami: input.ami.clone(),
        product: d.rhsm_product.clone(),
    };
    let (Some(product), false) = (&d.rhsm_product, input.pre_push) else {
        return Ok(output(RhsmAction::Skipped));
    };
    let provider = d.rhsm_provider.as_deref().unwrap_or("AWS");
    let region = d
        .region
        .as_deref()
        .ok_or_else(|| StepError::invalid(format!("{}: no region planned", d.destination)))?;
    let body = ami_body(d, &input.ami, product, at);
    if known(rhsm, &body, &input.ami).await? {
        return Ok(output(RhsmAction::Updated));
    }
    let created = rhsm
        .create_region(&json!({"regionID": region, "providerShortname": provider}))
        .await?;
    if !created.ok() {
        return Err(StepError::new(
            kind_of(created.status),
            format!(
                "Failed creating region {region} for image {}: HTTP {} {}",
                input.ami, created.status, created.body
            ),
        ));
    }
    let mut create = body.clone();
    create["region"] = json!(region);
    let failure = match rhsm.create_ami(&create).await {
        Ok(reply) if reply.ok() => return Ok(output(RhsmAction::Created)),
        Ok(reply) if kind_of(reply.status) == ErrorKind::Fatal && reply.status != 409 => {
            return Err(StepError::new(
                ErrorKind::Fatal,
                format!(
                    "Failed creating image {} in RHSM: HTTP {} {}",
                    input.ami, reply.status, reply.body
                ),
            ));
        }
        Ok(reply) => format!("HTTP {} {}", reply.status, reply.body),
        Err(error) => error.message,
    };
    // the create may have been applied (or raced): read it back before deciding
    if known(rhsm, &body, &input.ami).await? {
        return Ok(output(RhsmAction::Created));
    }
    Err(StepError::new(
        ErrorKind::Transient,
        format!(
            "Failed creating image {} in RHSM: {failure}; RHSM does not know it",
            input.ami
        ),
    ))
}

/// How a non-ok RHSM status is retried: 429 is throttling, a 5xx RHSM's trouble (both run
/// the step again), anything else is final.
fn kind_of(status: u16) -> ErrorKind {
    match status {
        429 => ErrorKind::Throttled,
        500.. => ErrorKind::Transient,
        _ => ErrorKind::Fatal,
    }
}

/// Updates the AMI (`PUT`): whether RHSM knows it. Throttling and 5xx answers say nothing
/// about that, so they are errors the step is retried on; other non-ok answers mean unknown.
async fn known<R: RhsmWrites>(rhsm: &R, body: &Value, ami: &str) -> Result<bool, StepError> {
    let reply = rhsm.update_ami(body).await?;
    match kind_of(reply.status) {
        _ if reply.ok() => Ok(true),
        ErrorKind::Fatal => Ok(false),
        kind => Err(StepError::new(
            kind,
            format!(
                "Failed updating image {ami} in RHSM: HTTP {} {}",
                reply.status, reply.body
            )
            .trim_end(),
        )),
    }
}

#[cfg(test)]
mod tests;
