//! `GET /pushes/{id}`: where a push stands — its execution's status, each destination's step
//! while it runs, and the result document once it ended. 404 for a push that never started.

use serde_json::Value;
use vmpush_cloud::api;
use vmpush_cloud::s3::S3Objects;
use vmpush_cloud::sfn::watch::PushWatch;
use vmpush_domain::inputs::push::valid_push_id;
use vmpush_domain::steps::{ErrorKind, StepError};

/// Answers one API request.
pub async fn handle(event: &Value, watch: &PushWatch, results: &S3Objects, bucket: &str) -> Value {
    match status(event, watch, results, bucket).await {
        Ok(body) => api::response(200, &body),
        Err(e) => api::error(&e),
    }
}

async fn status(
    event: &Value,
    watch: &PushWatch,
    results: &S3Objects,
    bucket: &str,
) -> Result<Value, StepError> {
    let id = api::path_parameter(event, "id")
        .filter(|id| valid_push_id(id))
        .ok_or_else(|| StepError::invalid("path: a push id is required (GET /pushes/{id})"))?;
    let arn = watch
        .find(id)
        .await?
        .ok_or_else(|| StepError::new(ErrorKind::NotFound, format!("push {id}: no such push")))?;
    let status = watch.report(id, &arn, results, bucket).await?;
    serde_json::to_value(&status).map_err(|e| StepError::new(ErrorKind::Fatal, e.to_string()))
}
