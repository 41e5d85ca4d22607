//! Starting a push, from a drop or a request, once per request.
//!
//! - A drop: every S3 record for `drops/<push-id>/push.yaml` (the request, written last into
//!   a drop holding a staged tree) starts that push; other keys are ignored. A `push.yaml`
//!   that does not parse or validate starts an execution that only records the typed error
//!   as the push's result and notifies ([`rejection`]).
//! - A request (the push request document itself, or the body of the API's `POST /pushes`):
//!   validated before anything starts; an invalid one is an `InvalidInput` error.
//!
//! Each push starts under a deterministic execution name, so a duplicate event or request
//! attaches to the existing execution instead of starting a second one.

use tracing::{info, warn};

use crate::inputs::push::{
    Push, PushRequest, StarmapServers, parse_request, rejection, valid_push_id,
};
use crate::payloads::{Started, StartedPushes};
use crate::ports::{Executions, ObjectReader};
use crate::steps::{ErrorKind, StepError};

/// The largest `push.yaml` read.
const MAX_REQUEST_BYTES: u64 = 1 << 20;

/// An object an S3 notification names: bucket and (decoded) key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// The bucket.
    pub bucket: String,
    /// The key, URL-decoded.
    pub key: String,
}

/// The push id of a drop's request key `drops/<push-id>/push.yaml`: `None` for other keys,
/// an error for a drop whose folder name is not a valid push id.
pub fn drop_push_id(key: &str) -> Result<Option<&str>, StepError> {
    let Some(id) = key
        .strip_prefix("drops/")
        .and_then(|k| k.strip_suffix("/push.yaml"))
    else {
        return Ok(None);
    };
    if id.contains('/') {
        return Ok(None);
    }
    if !valid_push_id(id) {
        return Err(StepError::invalid(format!(
            "{key}: '{id}' is not a valid push id (1-64 characters of A-Z a-z 0-9 . _ - starting with a letter or digit)"
        )));
    }
    Ok(Some(id))
}

/// Where a deployment takes pushes from: its staging bucket (for `staged:<prefix>` sources
/// named without one) and the StArMap servers a request may name.
#[derive(Debug, Clone, Copy)]
pub struct Deployment<'a> {
    /// The staging bucket.
    pub staging_bucket: Option<&'a str>,
    /// The StArMap servers.
    pub starmap: &'a StarmapServers,
}

impl Deployment<'_> {
    /// The push a request describes, refused before it starts when it names a StArMap
    /// server of another deployment.
    fn check(&self, push: Push) -> Result<Push, StepError> {
        push.request.starmap.server_url(self.starmap)?;
        Ok(push)
    }
}

/// Starts the push of every drop among the created objects.
pub async fn drops<O: ObjectReader, X: Executions>(
    created: &[Created],
    objects: &O,
    executions: &X,
    deployment: Deployment<'_>,
) -> Result<StartedPushes, StepError> {
    let mut pushes = Vec::new();
    for Created { bucket, key } in created {
        let Some(push_id) = drop_push_id(key)? else {
            info!(%bucket, %key, "not a drop's push.yaml; ignored");
            continue;
        };
        let file = format!("s3://{bucket}/{key}");
        let bytes = objects.read_small(bucket, key, MAX_REQUEST_BYTES).await?;
        let push = parse_request(&file, &bytes).and_then(|request| {
            request
                .into_drop_push(bucket, push_id, deployment.staging_bucket)
                .and_then(|push| deployment.check(push))
                .map_err(|e| StepError::new(e.kind, format!("{file}: {}", e.message)))
        });
        match push {
            Ok(push) => pushes.push(start(push, executions).await?),
            Err(error) if error.kind == ErrorKind::InvalidInput => {
                pushes.push(reject(push_id, &bytes, &error, executions).await?);
            }
            Err(error) => return Err(error),
        }
    }
    Ok(StartedPushes { pushes })
}

/// Starts the push a request describes.
pub async fn request<X: Executions>(
    request: PushRequest,
    executions: &X,
    deployment: Deployment<'_>,
) -> Result<Started, StepError> {
    let push = deployment.check(request.validate(deployment.staging_bucket)?)?;
    start(push, executions).await
}

/// Starts the execution of a drop whose request is invalid, which records the error as the
/// push's result and notifies (see [`rejection`]).
async fn reject<X: Executions>(
    push_id: &str,
    bytes: &[u8],
    error: &StepError,
    executions: &X,
) -> Result<Started, StepError> {
    let (name, input) = rejection(push_id, bytes, error);
    let execution = executions.start(&name, &input.to_string()).await?;
    warn!(push_id, execution = %execution.arn, error = %error.message, "invalid drop rejected");
    Ok(Started {
        status: error.kind.http_status(),
        push_id: push_id.to_string(),
        execution_name: name,
        execution_arn: execution.arn,
        started: execution.started,
        error: Some(error.message.clone()),
    })
}

async fn start<X: Executions>(push: Push, executions: &X) -> Result<Started, StepError> {
    let input = serde_json::to_string(&push).expect("a push serialises");
    let execution = executions.start(&push.execution_name, &input).await?;
    info!(push_id = %push.push_id, execution = %execution.arn, started = execution.started, "push");
    Ok(Started {
        status: if execution.started { 202 } else { 200 },
        push_id: push.push_id,
        execution_name: push.execution_name,
        execution_arn: execution.arn,
        started: execution.started,
        error: None,
    })
}

#[cfg(test)]
mod tests;
