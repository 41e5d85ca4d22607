//! The push API's HTTP shapes: API Gateway's REST proxy integration events and responses, as
//! JSON. `POST /pushes` (start-push) and `GET /pushes/{id}` (push-status) answer with JSON
//! bodies, errors with the OMPS-style body of their kind and its status.

use base64::Engine;
use serde_json::{Value, json};
use vmpush_domain::steps::StepError;

/// Whether an event is an API Gateway proxy request.
pub fn is_request(event: &Value) -> bool {
    event.get("httpMethod").is_some() && event.get("requestContext").is_some()
}

/// The request's JSON body (base64-encoded bodies decoded); an empty body is `{}`.
pub fn body(event: &Value) -> Result<Value, StepError> {
    let text = event["body"].as_str().unwrap_or("");
    let bytes = if event["isBase64Encoded"].as_bool().unwrap_or(false) {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|e| StepError::invalid(format!("request body: not base64: {e}")))?
    } else {
        text.as_bytes().to_vec()
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| StepError::invalid(format!("request body: not JSON: {e}")))
}

/// A path parameter of the request.
pub fn path_parameter<'a>(event: &'a Value, name: &str) -> Option<&'a str> {
    event["pathParameters"][name].as_str()
}

/// A JSON response.
pub fn response(status: u16, body: &Value) -> Value {
    json!({"statusCode": status, "headers": {"Content-Type": "application/json"},
           "body": body.to_string()})
}

/// The response of a failed request: its kind's status and OMPS body.
pub fn error(e: &StepError) -> Value {
    json!({"statusCode": e.kind.http_status(), "headers": {"Content-Type": "application/json"},
           "body": e.body()})
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmpush_domain::steps::ErrorKind;

    #[test]
    fn bodies_parameters_and_responses() {
        let event = json!({"httpMethod": "POST", "requestContext": {}, "pathParameters": {"id": "p1"},
                           "body": "eyJ3b3JrZmxvdyI6ICJjb21tdW5pdHkifQ==", "isBase64Encoded": true});
        assert!(is_request(&event) && !is_request(&json!({"Records": []})));
        assert_eq!(body(&event).unwrap(), json!({"workflow": "community"}));
        assert_eq!(path_parameter(&event, "id"), Some("p1"));
        assert_eq!(body(&json!({"body": null})).unwrap(), json!({}));
        assert_eq!(
            body(&json!({"body": "{"})).unwrap_err().kind,
            ErrorKind::InvalidInput
        );
        let e = StepError::new(ErrorKind::NotFound, "push p9: no such push");
        assert_eq!(
            error(&e),
            json!({"statusCode": 404, "headers": {"Content-Type": "application/json"},
                   "body": r#"{"status":404,"error":"NotFound","message":"push p9: no such push"}"#})
        );
    }
}
