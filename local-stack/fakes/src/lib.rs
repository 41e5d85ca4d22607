//! Fakes of the services no emulator covers, each following the documented API of the real
//! one: RHSM's cloud-access endpoints (spec §5), the StArMap APIv2 query (spec §2.1) and the
//! AWS Marketplace Catalog API (rest-json), and Partner Center's Product Ingestion API with its
//! OAuth2 token endpoint. Every fake records the requests it serves
//! (`GET /_fake/requests`), can be reset (`POST /_fake/reset`) and can inject seeded faults
//! (`POST /_fake/faults`), so tests can read back exact payloads and prove retries work.

pub mod control;
pub mod marketplace;
pub mod partner;
pub mod rhsm;
pub mod starmap;
pub mod tls;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A JSON response with a status.
pub(crate) fn reply(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

/// A 400 with a message, for malformed requests.
pub(crate) fn bad_request(message: impl Into<String>) -> Response {
    reply(StatusCode::BAD_REQUEST, json!({"error": message.into()}))
}
