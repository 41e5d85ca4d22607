//! `GET /pushes/{id}`: where a push stands — its execution's status, each destination's step
//! while it runs, and the result document once it ended. 404 for a push that never started.

use serde_json::{Value, json};
use vmpush_cloud::api;
use vmpush_cloud::s3::S3Objects;
use vmpush_cloud::sfn::watch::PushWatch;
use vmpush_domain::push::valid_push_id;
use vmpush_domain::step::{ErrorKind, StepError};

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
    let report = watch.report(id, &arn, results, bucket).await?;
    let progress: Vec<Value> = report
        .progress
        .iter()
        .map(|p| {
            json!({"name": p.name, "region": p.region, "destination": p.destination,
                        "step": p.step.to_string()})
        })
        .collect();
    Ok(json!({
        "push_id": id,
        "execution_arn": report.execution_arn,
        "status": report.state.status,
        "error": report.state.error,
        "progress": progress,
        "result": report.result,
    }))
}
