//! RHSM's cloud-access provider API as pubtools uses it (spec §5.2):
//!
//! - `GET  /v1/internal/cloud_access_providers/amazon/provider_image_groups` → `{"body": [...]}`
//! - `POST /v1/internal/cloud_access_providers/amazon/regions` `{"regionID", "providerShortname"}`
//! - `PUT  /v1/internal/cloud_access_providers/amazon/amis` (update; 404 when the AMI is unknown)
//! - `POST /v1/internal/cloud_access_providers/amazon/amis` (create, with `"region"`)
//! - `GET  /v1/internal/cloud_access_providers/amazon/amis?limit=&offset=` (paged)
//!
//! Bodies are checked field by field: a wrong key (`providerShortName` for
//! `providerShortname`), an unknown product, an architecture other than `x86_64`/`arm64` or an
//! AMI created in a region never registered is a 400, so client mistakes surface in tests.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::control::{self, Control, ErrorStyle, FaultConfig};
use crate::{bad_request, reply};

const BASE: &str = "/v1/internal/cloud_access_providers/amazon";

/// An RHSM image group (product).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Product {
    /// Image group name, e.g. `RHEL_HOURLY`.
    pub name: String,
    /// Provider: `AWS`, `ACN`, `AGOV`.
    #[serde(rename = "providerShortName")]
    pub provider_short_name: String,
}

/// The products a fresh fake knows (the peer kit's seed).
pub fn default_products() -> Vec<Product> {
    let p = |name: &str, provider: &str| Product {
        name: name.into(),
        provider_short_name: provider.into(),
    };
    let mut products: Vec<Product> = [
        "RHEL",
        "RHEL_HOURLY",
        "RHEL_HA",
        "RHEL_HA_HOURLY",
        "SAP",
        "SAP_HOURLY",
    ]
    .iter()
    .map(|n| p(n, "AWS"))
    .collect();
    for provider in ["ACN", "AGOV"] {
        products.push(p("RHEL", provider));
        products.push(p("RHEL_HOURLY", provider));
    }
    products
}

#[derive(Debug, Default)]
struct Store {
    products: Vec<Product>,
    regions: BTreeSet<(String, String)>,
    amis: BTreeMap<String, Map<String, Value>>,
}

#[derive(Clone)]
struct Rhsm {
    seed: Vec<Product>,
    store: Arc<Mutex<Store>>,
    control: Control,
}

impl Rhsm {
    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().expect("rhsm lock")
    }
}

/// The RHSM fake's router, seeded with `products`.
pub fn router(products: Vec<Product>, faults: FaultConfig) -> Router {
    let control = Control::new(ErrorStyle::Plain, faults);
    let state = Rhsm {
        seed: products.clone(),
        store: Arc::new(Mutex::new(Store {
            products,
            ..Store::default()
        })),
        control: control.clone(),
    };
    let reset_state = state.clone();
    let reset = move || {
        *reset_state.store() = Store {
            products: reset_state.seed.clone(),
            ..Store::default()
        };
    };
    Router::new()
        .route(&format!("{BASE}/provider_image_groups"), get(image_groups))
        .route(&format!("{BASE}/regions"), post(create_region))
        .route(
            &format!("{BASE}/amis"),
            get(list_amis).put(update_ami).post(create_ami),
        )
        .with_state(state)
        .merge(control::routes(control.clone(), reset))
        .layer(middleware::from_fn_with_state(control, control::record))
}

async fn image_groups(State(rhsm): State<Rhsm>) -> Json<Value> {
    Json(json!({"body": rhsm.store().products}))
}

/// A validation failure: the 400's message.
type Invalid = String;

fn string_field(body: &Map<String, Value>, key: &str) -> Result<String, Invalid> {
    match body.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(_) => Err(format!("{key} must be a non-empty string")),
        None => Err(format!("missing field {key}")),
    }
}

fn exact_keys(body: &Map<String, Value>, keys: &[&str]) -> Result<(), Invalid> {
    if let Some(k) = body.keys().find(|k| !keys.contains(&k.as_str())) {
        return Err(format!("unexpected field {k}"));
    }
    Ok(())
}

async fn create_region(State(rhsm): State<Rhsm>, Json(body): Json<Map<String, Value>>) -> Response {
    let check = || -> Result<(String, String), Invalid> {
        exact_keys(&body, &["regionID", "providerShortname"])?;
        Ok((
            string_field(&body, "regionID")?,
            string_field(&body, "providerShortname")?,
        ))
    };
    let (region, provider) = match check() {
        Ok(v) => v,
        Err(message) => return bad_request(message),
    };
    let mut store = rhsm.store();
    if !store
        .products
        .iter()
        .any(|p| p.provider_short_name == provider)
    {
        return bad_request(format!("unknown provider {provider}"));
    }
    store.regions.insert((region, provider));
    reply(StatusCode::OK, json!({}))
}

const AMI_KEYS: [&str; 7] = [
    "amiID",
    "arch",
    "product",
    "version",
    "variant",
    "description",
    "status",
];

fn check_ami(
    store: &Store,
    body: &Map<String, Value>,
    with_region: bool,
) -> Result<String, Invalid> {
    let mut keys = AMI_KEYS.to_vec();
    if with_region {
        keys.push("region");
    }
    exact_keys(body, &keys)?;
    for key in &keys {
        string_field(body, key)?;
    }
    let arch = string_field(body, "arch")?;
    if !["x86_64", "arm64"].contains(&arch.as_str()) {
        return Err(format!("arch {arch} is not x86_64 or arm64"));
    }
    let product = string_field(body, "product")?;
    if !store.products.iter().any(|p| p.name == product) {
        return Err(format!("unknown product {product}"));
    }
    if with_region {
        let region = string_field(body, "region")?;
        if !store.regions.iter().any(|(r, _)| *r == region) {
            return Err(format!("region {region} is not registered"));
        }
    }
    string_field(body, "amiID")
}

async fn update_ami(State(rhsm): State<Rhsm>, Json(body): Json<Map<String, Value>>) -> Response {
    let mut store = rhsm.store();
    let id = match check_ami(&store, &body, false) {
        Ok(id) => id,
        Err(message) => return bad_request(message),
    };
    let Some(existing) = store.amis.get_mut(&id) else {
        return rhsm.control.error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("image {id} not found"),
        );
    };
    for (k, v) in body {
        existing.insert(k, v);
    }
    reply(StatusCode::OK, Value::Object(existing.clone()))
}

async fn create_ami(State(rhsm): State<Rhsm>, Json(body): Json<Map<String, Value>>) -> Response {
    let mut store = rhsm.store();
    let id = match check_ami(&store, &body, true) {
        Ok(id) => id,
        Err(message) => return bad_request(message),
    };
    if store.amis.contains_key(&id) {
        return rhsm.control.error(
            StatusCode::CONFLICT,
            "Conflict",
            &format!("image {id} already exists"),
        );
    }
    store.amis.insert(id, body.clone());
    reply(StatusCode::OK, Value::Object(body))
}

#[derive(Deserialize)]
struct Page {
    limit: Option<usize>,
    offset: Option<usize>,
}

async fn list_amis(State(rhsm): State<Rhsm>, Query(page): Query<Page>) -> Json<Value> {
    let store = rhsm.store();
    let limit = page.limit.unwrap_or(1000);
    let offset = page.offset.unwrap_or(0);
    let body: Vec<&Map<String, Value>> = store.amis.values().skip(offset).take(limit).collect();
    Json(
        json!({"pagination": {"count": body.len(), "limit": limit, "offset": offset}, "body": body}),
    )
}
