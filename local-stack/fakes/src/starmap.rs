//! The StArMap APIv2 query endpoint (spec §2.1): `GET /api/v2/query?name=&version=` answers
//! the list of query-response entities for a build name, 404 when there is none.
//!
//! Mappings are files in a folder: `<name>.yaml|.json` answer every version of `<name>`;
//! `<name>/<version>.yaml|.json` answer that version only and win over the former. Each file
//! holds a list of entities (the APIv2 response). Files are read per request, so tests can
//! add mappings while the fake runs.

use std::path::{Path, PathBuf};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Router, middleware};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::control::{self, Control, ErrorStyle, FaultConfig};
use crate::reply;

#[derive(Clone)]
struct Starmap {
    dir: PathBuf,
}

/// The StArMap fake's router over a folder of mappings.
pub fn router(dir: PathBuf, faults: FaultConfig) -> Router {
    let control = Control::new(ErrorStyle::Plain, faults);
    Router::new()
        .route("/api/v2/query", get(query))
        .with_state(Starmap { dir })
        .merge(control::routes(control.clone(), || {}))
        .layer(middleware::from_fn_with_state(control, control::record))
}

#[derive(Deserialize)]
struct QueryParams {
    name: Option<String>,
    version: Option<String>,
}

/// A safe file-name component (no separators, no dot-dot).
fn component(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains(['/', '\\'])
}

fn read_mapping(base: &Path) -> Option<Result<Value, String>> {
    for ext in ["yaml", "yml", "json"] {
        // Appended, not replaced: versions have dots (`9.5.yaml`).
        let mut path = base.as_os_str().to_owned();
        path.push(format!(".{ext}"));
        let path = PathBuf::from(path);
        if let Ok(text) = std::fs::read_to_string(&path) {
            let parsed: Result<Value, String> =
                serde_yaml_ng::from_str(&text).map_err(|e| format!("{}: {e}", path.display()));
            return Some(parsed);
        }
    }
    None
}

async fn query(State(starmap): State<Starmap>, Query(q): Query<QueryParams>) -> Response {
    let Some(name) = q.name.filter(|n| component(n)) else {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({"error": "the name parameter is required"}),
        );
    };
    let versioned = q
        .version
        .filter(|v| component(v))
        .and_then(|v| read_mapping(&starmap.dir.join(&name).join(v)));
    match versioned.or_else(|| read_mapping(&starmap.dir.join(&name))) {
        Some(Ok(value)) => reply(StatusCode::OK, value),
        Some(Err(message)) => reply(StatusCode::INTERNAL_SERVER_ERROR, json!({"error": message})),
        None => reply(StatusCode::NOT_FOUND, json!({})),
    }
}
