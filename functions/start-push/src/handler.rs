//! Starting a push. Two entries:
//!
//! - an S3 `ObjectCreated` event: every record for `drops/<push-id>/push.yaml` (the request,
//!   written last into a drop holding a staged tree) starts that push; other keys are ignored;
//! - a direct request (the push request document itself) or the push API's `POST /pushes`
//!   (API Gateway proxy integration: the document is the body, the answer an HTTP response).
//!
//! Each push is validated before anything starts (an invalid one is an `InvalidInput` error
//! with an OMPS-style body) and started under a deterministic execution name, so a duplicate
//! event or request attaches to the existing execution instead of starting a second one.

use percent_encoding::percent_decode_str;
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::{info, warn};
use vmpush_cloud::api;
use vmpush_domain::inputs::push::{Push, PushRequest, parse_request, rejection, valid_push_id};
use vmpush_domain::ports::{Executions, ObjectReader};
use vmpush_domain::steps::{ErrorKind, StepError};

/// The part of an S3 notification this function reads. Only bucket and key are required, so
/// events from S3-compatible emitters (and moto, which omits `userIdentity`) are accepted.
#[derive(Debug, Deserialize)]
struct S3Event {
    #[serde(rename = "Records")]
    records: Vec<S3Record>,
}

#[derive(Debug, Deserialize)]
struct S3Record {
    s3: S3Entity,
}

#[derive(Debug, Deserialize)]
struct S3Entity {
    bucket: Named,
    object: Keyed,
}

#[derive(Debug, Deserialize)]
struct Named {
    name: String,
}

#[derive(Debug, Deserialize)]
struct Keyed {
    key: String,
}

/// The largest `push.yaml` read.
const MAX_REQUEST_BYTES: u64 = 1 << 20;

/// Handles one event.
pub async fn handle<O: ObjectReader, X: Executions>(
    event: Value,
    objects: &O,
    executions: &X,
    staging_bucket: Option<&str>,
) -> Result<Value, StepError> {
    if event.get("Records").is_some() {
        let event: S3Event = serde_json::from_value(event)
            .map_err(|e| StepError::invalid(format!("S3 event: {e}")))?;
        return from_s3_event(event, objects, executions, staging_bucket).await;
    }
    if api::is_request(&event) {
        // POST /pushes: the answer is an HTTP response, errors included
        let started = match api::body(&event) {
            Ok(body) => from_request(body, executions, staging_bucket).await,
            Err(e) => Err(e),
        };
        return Ok(match started {
            Ok(out) => api::response(
                u16::try_from(out["status"].as_u64().unwrap_or(200)).unwrap_or(200),
                &out,
            ),
            Err(e) => api::error(&e),
        });
    }
    from_request(event, executions, staging_bucket).await
}

/// Starts the push a request document describes.
async fn from_request<X: Executions>(
    request: Value,
    executions: &X,
    staging_bucket: Option<&str>,
) -> Result<Value, StepError> {
    let request: PushRequest = serde_json::from_value(request)
        .map_err(|e| StepError::invalid(format!("push request: {e}")))?;
    start(request.validate(staging_bucket)?, executions).await
}

/// An S3 key as the event carries it: URL-encoded, with `+` for spaces.
fn decode_key(key: &str) -> String {
    percent_decode_str(&key.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// The push id of a drop's request key `drops/<push-id>/push.yaml`: `None` for other keys,
/// an error for a drop whose folder name is not a valid push id.
fn drop_push_id(key: &str) -> Result<Option<&str>, StepError> {
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

async fn from_s3_event<O: ObjectReader, X: Executions>(
    event: S3Event,
    objects: &O,
    executions: &X,
    staging_bucket: Option<&str>,
) -> Result<Value, StepError> {
    let mut pushes = Vec::new();
    for record in event.records {
        let bucket = record.s3.bucket.name;
        let key = decode_key(&record.s3.object.key);
        let Some(push_id) = drop_push_id(&key)? else {
            info!(%bucket, %key, "not a drop's push.yaml; ignored");
            continue;
        };
        let file = format!("s3://{bucket}/{key}");
        let bytes = objects.read_small(&bucket, &key, MAX_REQUEST_BYTES).await?;
        match drop_push(&file, &bucket, push_id, &bytes, staging_bucket) {
            Ok(push) => pushes.push(start(push, executions).await?),
            Err(error) if error.kind == ErrorKind::InvalidInput => {
                pushes.push(reject(push_id, &bytes, &error, executions).await?);
            }
            Err(error) => return Err(error),
        }
    }
    Ok(json!({"pushes": pushes}))
}

/// The validated push of a drop's `push.yaml`.
fn drop_push(
    file: &str,
    bucket: &str,
    push_id: &str,
    bytes: &[u8],
    staging_bucket: Option<&str>,
) -> Result<Push, StepError> {
    parse_request(file, bytes)?
        .into_drop_push(bucket, push_id, staging_bucket)
        .map_err(|e| StepError::new(e.kind, format!("{file}: {}", e.message)))
}

/// Starts the execution of a drop whose request is invalid, which records the error as the
/// push's result and notifies (see [`rejection`]).
async fn reject<X: Executions>(
    push_id: &str,
    bytes: &[u8],
    error: &StepError,
    executions: &X,
) -> Result<Value, StepError> {
    let (name, input) = rejection(push_id, bytes, error);
    let execution = executions.start(&name, &input.to_string()).await?;
    warn!(push_id, execution = %execution.arn, error = %error.message, "invalid drop rejected");
    Ok(json!({
        "status": error.kind.http_status(),
        "push_id": push_id,
        "execution_name": name,
        "execution_arn": execution.arn,
        "started": execution.started,
        "error": error.message,
    }))
}

async fn start<X: Executions>(push: Push, executions: &X) -> Result<Value, StepError> {
    let input = serde_json::to_string(&push).expect("a push serialises");
    let execution = executions.start(&push.execution_name, &input).await?;
    info!(push_id = %push.push_id, execution = %execution.arn, started = execution.started, "push");
    Ok(json!({
        "status": if execution.started { 202 } else { 200 },
        "push_id": push.push_id,
        "execution_name": push.execution_name,
        "execution_arn": execution.arn,
        "started": execution.started,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::Mutex;
    use vmpush_domain::ports::Execution;
    use vmpush_domain::steps::ErrorKind;

    #[derive(Default)]
    struct Objects(HashMap<(String, String), Vec<u8>>);

    impl ObjectReader for Objects {
        async fn read_small(
            &self,
            bucket: &str,
            key: &str,
            limit: u64,
        ) -> Result<Vec<u8>, StepError> {
            let bytes = self
                .0
                .get(&(bucket.into(), key.into()))
                .cloned()
                .ok_or_else(|| {
                    StepError::new(ErrorKind::NotFound, format!("s3://{bucket}/{key}"))
                })?;
            assert!(bytes.len() as u64 <= limit);
            Ok(bytes)
        }
    }

    /// Executions by name, recording their inputs.
    #[derive(Default)]
    struct Machine(Mutex<Vec<(String, String)>>);

    impl Executions for Machine {
        async fn start(&self, name: &str, input: &str) -> Result<Execution, StepError> {
            let mut all = self.0.lock().unwrap();
            let arn = format!("arn:aws:states:us-east-1:123456789012:execution:vmpush-push:{name}");
            if all.iter().any(|(n, _)| n == name) {
                return Ok(Execution {
                    arn,
                    started: false,
                });
            }
            all.push((name.into(), input.into()));
            Ok(Execution { arn, started: true })
        }
    }

    fn s3_event(records: &[(&str, &str)]) -> Value {
        let records: Vec<Value> = records
            .iter()
            .map(|(bucket, key)| json!({"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
                "eventTime": "2026-11-21T09:00:00.000Z", "eventName": "ObjectCreated:Put",
                "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": bucket, "arn": format!("arn:aws:s3:::{bucket}")},
                       "object": {"key": key, "size": 10}}}))
            .collect();
        json!({"Records": records})
    }

    fn drop_with(request: &str) -> Objects {
        let mut o = Objects::default();
        o.0.insert(
            ("staging".into(), "drops/rhel-9.4_1/push.yaml".into()),
            request.as_bytes().to_vec(),
        );
        o
    }

    #[tokio::test]
    async fn duplicate_events_for_one_drop_start_one_execution() {
        // GIVEN a drop whose push.yaml names only the workflow
        let objects = drop_with("workflow: community\nstarmap: {mode: online}\n");
        let machine = Machine::default();
        // WHEN its event arrives twice, in one batch and again later, with other keys around it
        let event = s3_event(&[
            ("staging", "drops/rhel-9.4_1/push.yaml"),
            (
                "staging",
                "drops/rhel-9.4_1/starmap/CLOUD_IMAGES/x/resources.yaml",
            ),
            ("staging", "drops%2Frhel-9.4_1%2Fpush.yaml"),
        ]);
        let first = handle(event.clone(), &objects, &machine, None)
            .await
            .unwrap();
        let second = handle(event, &objects, &machine, None).await.unwrap();
        // THEN one execution runs, the others attached to it
        let started = machine.0.lock().unwrap().clone();
        assert_eq!(started.len(), 1);
        let (name, input) = &started[0];
        assert!(name.starts_with("rhel-9.4_1-"), "{name}");
        let input: Value = serde_json::from_str(input).unwrap();
        assert_eq!(input["push_id"], "rhel-9.4_1");
        assert_eq!(
            input["sources"],
            json!([{"bucket": "staging", "prefix": "drops/rhel-9.4_1"}])
        );
        assert_eq!(
            input["request"]["sources"],
            json!(["staged:s3://staging/drops/rhel-9.4_1"])
        );
        let flags: Vec<bool> = first["pushes"]
            .as_array()
            .unwrap()
            .iter()
            .chain(second["pushes"].as_array().unwrap())
            .map(|p| p["started"].as_bool().unwrap())
            .collect();
        assert_eq!(flags, [true, false, false, false]);
        assert_eq!(second["pushes"][0]["status"], 200);
        assert_eq!(
            first["pushes"][0]["execution_arn"],
            second["pushes"][0]["execution_arn"]
        );
    }

    #[tokio::test]
    async fn api_requests_start_once_and_bad_ones_start_nothing() {
        let machine = Machine::default();
        let request = json!({"push_id": "p1", "sources": ["staged:drops/p1"], "workflow": "marketplace", "pre_push": true});
        let first = handle(
            request.clone(),
            &Objects::default(),
            &machine,
            Some("staging"),
        )
        .await
        .unwrap();
        assert_eq!(
            (first["status"].as_u64(), first["started"].as_bool()),
            (Some(202), Some(true))
        );
        let again = handle(request, &Objects::default(), &machine, Some("staging"))
            .await
            .unwrap();
        assert_eq!(
            (again["status"].as_u64(), again["started"].as_bool()),
            (Some(200), Some(false))
        );
        for (bad, message) in [
            (
                json!({"sources": ["staged:s3://b/p"], "workflow": "all"}),
                "push request: unknown variant `all`, expected `community` or `marketplace`",
            ),
            (
                json!({"sources": ["staged:s3://b/p"], "starmap": {"mode": "offline"}}),
                "starmap.repo: the offline and hybrid modes need local mappings",
            ),
            (
                json!({"sources": []}),
                "sources: at least one staged: source is required",
            ),
        ] {
            let err = handle(bad, &Objects::default(), &machine, None)
                .await
                .unwrap_err();
            assert_eq!(
                (err.kind, err.message.as_str()),
                (ErrorKind::InvalidInput, message)
            );
        }
        assert_eq!(machine.0.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_bad_push_yaml_becomes_a_rejected_execution_naming_file_and_field() {
        let machine = Machine::default();
        for (yaml, message) in [
            (
                "push_id: other\n",
                "s3://staging/drops/rhel-9.4_1/push.yaml: push_id: 'other' differs from the drop's 'rhel-9.4_1'",
            ),
            (
                "starmap: {mode: offline}\n",
                "s3://staging/drops/rhel-9.4_1/push.yaml: starmap.repo: the offline and hybrid modes need local mappings",
            ),
            (
                "workflow: [\n",
                "s3://staging/drops/rhel-9.4_1/push.yaml: workflow: invalid type: sequence, expected a YAML tag starting with '!' at line 1 column 11",
            ),
        ] {
            let out = handle(
                s3_event(&[("staging", "drops/rhel-9.4_1/push.yaml")]),
                &drop_with(yaml),
                &machine,
                None,
            )
            .await
            .unwrap();
            let push = &out["pushes"][0];
            assert_eq!(
                (push["status"].as_u64(), push["error"].as_str()),
                (Some(400), Some(message)),
                "{yaml}"
            );
            let started = machine.0.lock().unwrap();
            let (name, input) = started.last().unwrap();
            assert_eq!(push["execution_name"].as_str(), Some(name.as_str()));
            let input: Value = serde_json::from_str(input).unwrap();
            assert_eq!(
                (
                    &input["push_id"],
                    &input["sources"],
                    &input["failure"]["Error"]
                ),
                (&json!("rhel-9.4_1"), &json!([]), &json!("InvalidInput"))
            );
            let cause: Value =
                serde_json::from_str(input["failure"]["Cause"].as_str().unwrap()).unwrap();
            let body: Value =
                serde_json::from_str(cause["errorMessage"].as_str().unwrap()).unwrap();
            assert_eq!(body["message"], message);
        }
        assert_eq!(machine.0.lock().unwrap().len(), 3);
        // the same bad file again starts nothing new
        handle(
            s3_event(&[("staging", "drops/rhel-9.4_1/push.yaml")]),
            &drop_with("push_id: other\n"),
            &machine,
            None,
        )
        .await
        .unwrap();
        assert_eq!(machine.0.lock().unwrap().len(), 3);
    }

    #[tokio::test]
    async fn the_api_answers_with_http_responses() {
        let machine = Machine::default();
        let post = |body: &str| {
            json!({"httpMethod": "POST", "resource": "/pushes", "requestContext": {"stage": "v1"},
                   "body": body, "isBase64Encoded": false})
        };
        let request = r#"{"push_id": "api-1", "sources": ["staged:s3://b/p"], "starmap": {"mode": "online"}}"#;
        let out = handle(post(request), &Objects::default(), &machine, None)
            .await
            .unwrap();
        assert_eq!(out["statusCode"], 202);
        let body: Value = serde_json::from_str(out["body"].as_str().unwrap()).unwrap();
        assert_eq!(
            (body["push_id"].as_str(), body["started"].as_bool()),
            (Some("api-1"), Some(true))
        );
        let again = handle(post(request), &Objects::default(), &machine, None)
            .await
            .unwrap();
        assert_eq!(again["statusCode"], 200);
        let bad = handle(
            post(r#"{"workflow": "all"}"#),
            &Objects::default(),
            &machine,
            None,
        )
        .await
        .unwrap();
        assert_eq!(bad["statusCode"], 400);
        let body: Value = serde_json::from_str(bad["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["error"], "InvalidInput");
        assert_eq!(machine.0.lock().unwrap().len(), 1);
    }

    #[test]
    fn only_drop_requests_count() {
        assert_eq!(
            drop_push_id("drops/rhel-9.4/push.yaml").unwrap(),
            Some("rhel-9.4")
        );
        for key in [
            "drops/p-1/x/push.yaml",
            "other/p/push.yaml",
            "drops/p/push.yml",
        ] {
            assert_eq!(drop_push_id(key).unwrap(), None, "{key}");
        }
        for key in [
            "drops//push.yaml",
            "drops/../push.yaml",
            "drops/a b/push.yaml",
        ] {
            assert!(
                drop_push_id(key)
                    .unwrap_err()
                    .message
                    .starts_with(&format!("{key}: ")),
                "{key}"
            );
        }
        assert_eq!(decode_key("drops/a+b%2Fc"), "drops/a b/c");
    }
}
