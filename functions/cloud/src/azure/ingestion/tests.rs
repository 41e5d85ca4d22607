use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode as Code;
use axum::response::IntoResponse;
use base64::Engine;
use serde_json::json;

use super::*;

/// Requests seen: method, path and query, authorization, body.
type Seen = Arc<Mutex<Vec<(String, String, String, String)>>>;

async fn answer(State(seen): State<Seen>, request: Request) -> impl IntoResponse {
    let (parts, body) = request.into_parts();
    let body: Bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or_default().to_string();
    let auth = parts
        .headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    seen.lock().unwrap().push((
        format!("{} {path}", parts.method),
        query.clone(),
        auth,
        String::from_utf8_lossy(&body).into_owned(),
    ));
    let reply = |code: Code, v: Value| (code, v.to_string());
    match path.as_str() {
        "/login/tenant-1/oauth2/token" => reply(
            Code::OK,
            json!({"token_type": "Bearer", "expires_in": 3599, "access_token": "tok-1"}),
        ),
        "/login/bad-tenant/oauth2/token" => reply(
            Code::UNAUTHORIZED,
            json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."}),
        ),
        "/api/product" if !query.contains("skip=") => reply(
            Code::OK,
            json!({"value": [{"id": "product/p-1", "identity": {"externalId": "a"}}],
                   "@nextLink": "https://elsewhere/rp/product-ingestion/product?$version=2022-07-01&skip=1"}),
        ),
        "/api/product" => reply(
            Code::OK,
            json!({"value": [{"id": "product/p-2", "identity": {"externalId": "b"}}]}),
        ),
        "/api/resource-tree/product/p-1" => reply(Code::OK, json!({"resources": []})),
        "/api/resource-tree/product/p-9" => reply(Code::NOT_FOUND, json!({"error": "none"})),
        "/api/configure" => reply(
            Code::ACCEPTED,
            json!({"jobId": "j-1", "jobStatus": "notStarted", "jobResult": "pending", "errors": []}),
        ),
        "/api/configure/j-1/status" => reply(Code::BAD_GATEWAY, json!({})),
        "/api/configure/j-2/status" => reply(
            Code::OK,
            json!({"jobId": "j-2", "jobStatus": "completed", "jobResult": "failed",
                   "errors": [{"code": "invalidResource", "message": "bad"}]}),
        ),
        _ => reply(Code::BAD_REQUEST, json!({"error": "unexpected"})),
    }
}

async fn serve() -> (Endpoints, Seen) {
    let seen = Seen::default();
    let app = Router::new().fallback(answer).with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let endpoints = Endpoints {
        login: format!("http://{addr}/login"),
        ingestion: format!("http://{addr}/api/"),
    };
    (endpoints, seen)
}

fn credentials(tenant: &str) -> CredentialSet {
    let doc = json!({"marketplace_account": "azure-na", "auth": {
        "AZURE_TENANT_ID": tenant, "AZURE_CLIENT_ID": "client-1",
        "AZURE_API_SECRET": "s3cr3t-value",
        "AZURE_STORAGE_CONNECTION_STRING": "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=a2V5;EndpointSuffix=core.windows.net",
    }});
    let encoded = base64::engine::general_purpose::STANDARD.encode(doc.to_string());
    CredentialSet::parse(&encoded, |_| Err(std::io::ErrorKind::NotFound.into())).unwrap()
}

#[tokio::test]
async fn calls_carry_the_token_and_version_and_pages_are_followed() {
    let (endpoints, seen) = serve().await;
    let set = credentials("tenant-1");
    let center = PartnerCenter::connect(Some(&set), "azure-na", &endpoints)
        .await
        .unwrap();
    assert!(!format!("{center:?}").contains("tok-1"));
    let products = center.products().await.unwrap();
    assert_eq!(products.len(), 2);
    assert_eq!(
        center.resource_tree("p-1", "draft").await.unwrap(),
        Some(json!({"resources": []}))
    );
    assert_eq!(center.resource_tree("p-9", "live").await.unwrap(), None);
    let job = center.configure(&json!({"resources": []})).await.unwrap();
    assert_eq!((job.job_id.as_str(), job.completed()), ("j-1", false));
    // A server error while polling is a pending job (cloudpub's rule).
    assert!(!center.job_status("j-1").await.unwrap().completed());
    let failed = center.job_status("j-2").await.unwrap();
    assert!(failed.completed() && !failed.succeeded());
    assert_eq!(failed.errors[0]["code"], "invalidResource");

    let seen = seen.lock().unwrap().clone();
    let (token, body) = (&seen[0], &seen[0].3);
    assert_eq!(token.0, "POST /login/tenant-1/oauth2/token");
    assert_eq!(
        body,
        "grant_type=client_credentials&client_id=client-1&client_secret=s3cr3t-value&resource=https%3A%2F%2Fgraph.microsoft.com"
    );
    for call in &seen[1..] {
        assert_eq!(call.2, "Bearer tok-1", "{call:?}");
        assert!(call.1.starts_with("%24version=2022-07-01"), "{call:?}");
    }
    let calls: Vec<(&str, &str)> = seen[1..]
        .iter()
        .map(|c| (c.0.as_str(), c.1.as_str()))
        .collect();
    assert_eq!(
        calls,
        [
            ("GET /api/product", "%24version=2022-07-01"),
            ("GET /api/product", "%24version=2022-07-01&skip=1"),
            (
                "GET /api/resource-tree/product/p-1",
                "%24version=2022-07-01&targetType=draft"
            ),
            (
                "GET /api/resource-tree/product/p-9",
                "%24version=2022-07-01&targetType=live"
            ),
            ("POST /api/configure", "%24version=2022-07-01"),
            ("GET /api/configure/j-1/status", "%24version=2022-07-01"),
            ("GET /api/configure/j-2/status", "%24version=2022-07-01"),
        ]
    );
}

#[tokio::test]
async fn a_refused_sign_in_names_the_account_and_never_the_secret() {
    let (endpoints, _) = serve().await;
    let set = credentials("bad-tenant");
    let err = PartnerCenter::connect(Some(&set), "azure-na", &endpoints)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Fatal);
    assert!(
        err.message
            .starts_with("Partner Center token of azure-na: HTTP 401 Unauthorized: "),
        "{}",
        err.message
    );
    assert!(!err.message.contains("s3cr3t"));
}
