//! The push API's HTTP edge: API Gateway's REST proxy requests and responses
//! (`aws_lambda_events`). `POST /pushes` (start-push) and `GET /pushes/{id}` (push-status)
//! answer with JSON bodies; errors with the OMPS-style body of their kind and its status.

pub use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::HeaderValue;
use aws_lambda_events::http::header::CONTENT_TYPE;
use base64::Engine;
use serde::Serialize;
use serde::de::DeserializeOwned;
use vmpush_domain::steps::StepError;

/// The request's JSON body as `T` (base64-encoded bodies decoded; an empty body is `{}`); an
/// error names the field.
pub fn json_body<T: DeserializeOwned>(request: &ApiGatewayProxyRequest) -> Result<T, StepError> {
    let text = request.body.as_deref().unwrap_or("");
    let bytes = if request.is_base64_encoded {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|e| StepError::invalid(format!("request body: not base64: {e}")))?
    } else {
        text.as_bytes().to_vec()
    };
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        &bytes
    };
    let mut json = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut json)
        .map_err(|e| StepError::invalid(super::located("request body", &e)))
}

/// A path parameter of the request.
pub fn path_parameter<'a>(request: &'a ApiGatewayProxyRequest, name: &str) -> Option<&'a str> {
    request.path_parameters.get(name).map(String::as_str)
}

/// The response: the status and JSON body of a success, or a failure's status and OMPS body.
pub fn respond<T: Serialize>(result: Result<(u16, T), StepError>) -> ApiGatewayProxyResponse {
    let (status, body) = match result {
        Ok((status, body)) => (
            status,
            serde_json::to_string(&body).expect("a response body serialises"),
        ),
        Err(e) => (e.kind.http_status(), e.body()),
    };
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = i64::from(status);
    response
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.body = Some(Body::Text(body));
    response
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use vmpush_domain::steps::ErrorKind;

    use super::*;

    fn request(event: Value) -> ApiGatewayProxyRequest {
        serde_json::from_value(event).unwrap()
    }

    #[test]
    fn bodies_parameters_and_responses() {
        let event = request(
            json!({"httpMethod": "POST", "requestContext": {"httpMethod": "POST"},
            "pathParameters": {"id": "p1"}, "headers": null, "multiValueHeaders": null,
            "queryStringParameters": null, "body": "eyJ3b3JrZmxvdyI6ICJjb21tdW5pdHkifQ==",
            "isBase64Encoded": true}),
        );
        assert_eq!(
            json_body::<Value>(&event).unwrap(),
            json!({"workflow": "community"})
        );
        assert_eq!(path_parameter(&event, "id"), Some("p1"));
        let empty = request(
            json!({"httpMethod": "POST", "requestContext": {"httpMethod": "POST"}, "body": null}),
        );
        assert_eq!(json_body::<Value>(&empty).unwrap(), json!({}));
        let broken = request(
            json!({"httpMethod": "POST", "requestContext": {"httpMethod": "POST"}, "body": "{"}),
        );
        assert_eq!(
            json_body::<Value>(&broken).unwrap_err().kind,
            ErrorKind::InvalidInput
        );
        let response = serde_json::to_value(respond::<Value>(Err(StepError::new(
            ErrorKind::NotFound,
            "push p9: no such push",
        ))))
        .unwrap();
        assert_eq!(response["statusCode"], 404);
        assert_eq!(response["headers"]["content-type"], "application/json");
        assert_eq!(
            serde_json::from_str::<Value>(response["body"].as_str().unwrap()).unwrap(),
            json!({"status": 404, "error": "NotFound", "message": "push p9: no such push"})
        );
        let ok = serde_json::to_value(respond(Ok((202, json!({"started": true}))))).unwrap();
        assert_eq!(
            (ok["statusCode"].as_i64(), ok["body"].as_str()),
            (Some(202), Some(r#"{"started":true}"#))
        );
    }
}
