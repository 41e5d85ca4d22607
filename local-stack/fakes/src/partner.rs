//! Partner Center's Product Ingestion API (`/rp/product-ingestion`, `$version=2022-07-01`)
//! and the OAuth2 token endpoint its clients sign in at (`POST /<tenant>/oauth2/token`), as
//! Microsoft documents them:
//!
//! - the token endpoint takes a form with `grant_type=client_credentials`, `client_id`,
//!   `client_secret` and `resource=https://graph.microsoft.com`, and answers a bearer token
//!   every API call must carry;
//! - `GET /product` lists product summaries (`id`, `identity.externalId`, `type`), one per
//!   page with `@nextLink`; `GET /resource-tree/product/<id>?targetType=draft|preview|live`
//!   answers the product's resources at that target (404 when it has none);
//!   `GET /submission/<id>` its submissions (`target.targetType`, `status`, `result`);
//! - `POST /configure` (`$schema` `https://schema.mp.microsoft.com/schema/configure/2022-07-01`)
//!   starts a job; `GET /configure/<jobId>/status` shows it `running` for `job_polls` calls,
//!   then `completed` with `succeeded` or `failed` and its `errors`. A job applies its
//!   resources in order: a plan's technical configuration replaces the draft's (each disk
//!   version checked: `versionNumber` `a.b.c`, known image types, one SKU per image type, and
//!   each new disk URI read through its SAS, as Partner Center copies it); a submission moves
//!   the draft to preview or preview to live (the previous target's submission is required).
//!
//! The request log redacts SAS signatures (`sig=`). Controls (besides the shared `/_fake/*`):
//! - `POST /_fake/running {"offer", "polls"}`: a submission to preview is in progress for
//!   the next `polls` `GET /submission` calls on the offer;
//! - `POST /_fake/certification {"offer"}`: the offer's next submission to preview fails
//!   certification;
//! - `POST /_fake/draft-change {"offer"}`: someone else changes the offer's listing in draft;
//! - `GET /_fake/offers/<offer>`: the offer's trees and submissions.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::control::{self, Control, ErrorStyle, FaultConfig};
use crate::{bad_request, reply};

/// The API's version.
pub const VERSION: &str = "2022-07-01";

/// The schema of configure requests.
pub const CONFIGURE_SCHEMA: &str = "https://schema.mp.microsoft.com/schema/configure/2022-07-01";

/// The offer a fresh fake holds.
pub const DEFAULT_OFFER: &str = "vmpush-example-offer";

/// Its plans.
pub const DEFAULT_PLANS: [&str; 2] = ["rhel-9", "rhel-9-arm64"];

const SCHEMA: &str = "https://schema.mp.microsoft.com/schema";
const TECH_CONFIG: &str = "virtual-machine-plan-technical-configuration";
const IMAGE_TYPES: [&str; 4] = ["x64Gen1", "x64Gen2", "arm64Gen1", "arm64Gen2"];

/// Settings of the Partner Center fake.
#[derive(Debug, Clone)]
pub struct PartnerConfig {
    /// Status calls a configure job stays `running` for.
    pub job_polls: u32,
}

impl Default for PartnerConfig {
    fn default() -> Self {
        PartnerConfig { job_polls: 2 }
    }
}

#[derive(Debug, Clone)]
struct Offer {
    id: String,
    name: String,
    trees: BTreeMap<String, Vec<Value>>,
    submissions: Vec<Value>,
    running: u32,
    fail_certification: bool,
}

#[derive(Debug, Clone)]
struct Job {
    offer: String,
    resources: Vec<Value>,
    polls: u32,
    outcome: Option<Result<(), Vec<Value>>>,
}

#[derive(Debug, Default)]
struct Store {
    offers: Vec<Offer>,
    jobs: BTreeMap<String, Job>,
    tokens: Vec<String>,
    counter: u64,
}

#[derive(Clone)]
struct Partner {
    config: PartnerConfig,
    store: Arc<Mutex<Store>>,
    http: reqwest::Client,
}

impl Partner {
    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().expect("partner lock")
    }
}

fn resource(kind: &str, body: Value) -> Value {
    let mut r = json!({"$schema": format!("{SCHEMA}/{kind}/{VERSION}")});
    if let (Some(r), Some(body)) = (r.as_object_mut(), body.as_object()) {
        r.extend(body.clone());
    }
    r
}

fn kind(resource: &Value) -> &str {
    let schema = resource["$schema"].as_str().unwrap_or_default();
    let mut parts = schema.rsplit('/');
    parts.next();
    parts.next().unwrap_or_default()
}

/// The default offer: live, in preview and in draft alike, each plan with one x64 disk
/// version of an older image.
fn default_offer() -> Offer {
    let id = "0b1e5c4a-7d2f-4e6b-9a3c-5f8d2e1b7c90".to_string();
    let product = format!("product/{id}");
    let mut resources = vec![
        resource(
            "product",
            json!({"id": product, "identity": {"externalId": DEFAULT_OFFER}, "type": "azureVirtualMachine", "alias": "vmpush example"}),
        ),
        resource(
            "listing",
            json!({"id": format!("listing/{id}/main"), "product": product, "kind": "azureListing", "title": "Example RHEL"}),
        ),
    ];
    for (i, plan) in DEFAULT_PLANS.iter().enumerate() {
        let plan_id = format!("plan/{id}/{i:08}-0000-4000-8000-000000000000");
        let (image_type, sku) = if plan.ends_with("arm64") {
            ("arm64Gen2", format!("{plan}-arm64"))
        } else {
            ("x64Gen2", plan.to_string())
        };
        resources.push(resource(
            "plan",
            json!({"id": plan_id, "product": product, "identity": {"externalId": plan}, "alias": plan, "azureRegions": ["azureGlobal"]}),
        ));
        resources.push(resource(
            TECH_CONFIG,
            json!({"product": product, "plan": plan_id,
                   "operatingSystem": {"family": "linux", "type": "redHat", "friendlyName": "RHEL"},
                   "recommendedVmSizes": [], "openPorts": [], "vmProperties": {"supportsExtensions": true},
                   "skus": [{"imageType": image_type, "skuId": sku, "securityType": ["trusted"]}],
                   "vmImageVersions": [{"versionNumber": "9.3.2024010100", "lifecycleState": "generallyAvailable",
                       "vmImages": [{"imageType": image_type, "source": {"sourceType": "sasUri",
                           "osDisk": {"uri": "https://example.blob.core.windows.net/pubupload/rhel-9.3.vhd?sp=r&sr=b"},
                           "dataDisks": []}}]}]}),
        ));
    }
    let mut trees = BTreeMap::new();
    for target in ["draft", "preview", "live"] {
        trees.insert(target.to_string(), resources.clone());
    }
    let submission = |n: u32, target: &str| {
        resource(
            "submission",
            json!({"id": format!("submission/{id}/{n}"), "product": product, "target": {"targetType": target},
                   "lifecycleState": "generallyAvailable", "status": "completed", "result": "succeeded",
                   "created": "2024-01-01T00:00:00.0000000Z"}),
        )
    };
    Offer {
        id: id.clone(),
        name: DEFAULT_OFFER.into(),
        trees,
        submissions: vec![
            submission(1, "draft"),
            submission(2, "preview"),
            submission(2, "live"),
        ],
        running: 0,
        fail_certification: false,
    }
}

fn fresh() -> Store {
    Store {
        offers: vec![default_offer()],
        ..Store::default()
    }
}

/// The Partner Center fake's router (token endpoint and Product Ingestion API).
pub fn router(config: PartnerConfig, faults: FaultConfig) -> Router {
    let control = Control::new(ErrorStyle::Plain, faults);
    let state = Partner {
        config,
        store: Arc::new(Mutex::new(fresh())),
        http: reqwest::Client::new(),
    };
    let reset_state = state.clone();
    let reset = move || *reset_state.store() = fresh();
    let api = Router::new()
        .route("/product", get(products))
        .route("/resource-tree/product/{id}", get(resource_tree))
        .route("/submission/{id}", get(submissions))
        .route("/configure", post(configure))
        .route("/configure/{job}/status", get(job_status))
        .route_layer(middleware::from_fn_with_state(state.clone(), authorized));
    Router::new()
        .route("/{tenant}/oauth2/token", post(token))
        .nest("/rp/product-ingestion", api)
        .route("/_fake/running", post(set_running))
        .route("/_fake/certification", post(set_certification))
        .route("/_fake/draft-change", post(draft_change))
        .route("/_fake/offers/{offer}", get(offer_state))
        .with_state(state)
        .merge(control::routes(control.clone(), reset))
        .layer(middleware::from_fn_with_state(control, control::record))
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    resource: Option<String>,
}

async fn token(
    State(p): State<Partner>,
    Path(_tenant): Path<String>,
    Form(form): Form<TokenForm>,
) -> Response {
    let valid = form.grant_type.as_deref() == Some("client_credentials")
        && form.client_id.as_deref().is_some_and(|c| !c.is_empty())
        && form.client_secret.as_deref().is_some_and(|c| !c.is_empty())
        && form.resource.as_deref() == Some("https://graph.microsoft.com");
    if !valid {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_request", "error_description": "grant_type client_credentials, client_id, client_secret and resource are required"}),
        );
    }
    let mut store = p.store();
    store.counter += 1;
    let token = format!("fake-token-{}", store.counter);
    store.tokens.push(token.clone());
    reply(
        StatusCode::OK,
        json!({"token_type": "Bearer", "expires_in": "3599", "resource": "https://graph.microsoft.com", "access_token": token}),
    )
}

/// Refuses API calls without a token of ours or without `$version`.
async fn authorized(State(p): State<Partner>, request: Request, next: Next) -> Response {
    let bearer = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    if !bearer.is_some_and(|t| p.store().tokens.contains(&t)) {
        return reply(
            StatusCode::UNAUTHORIZED,
            json!({"error": {"code": "Unauthorized", "message": "a bearer token is required"}}),
        );
    }
    let query = request.uri().query().unwrap_or_default();
    if !query
        .split('&')
        .any(|p| p == format!("%24version={VERSION}") || p == format!("$version={VERSION}"))
    {
        return bad_request(format!("$version={VERSION} is required"));
    }
    next.run(request).await
}

#[derive(Deserialize)]
struct PageQuery {
    #[serde(rename = "$skipToken")]
    skip: Option<usize>,
    #[serde(rename = "targetType")]
    target: Option<String>,
}

async fn products(State(p): State<Partner>, Query(q): Query<PageQuery>) -> Response {
    let store = p.store();
    let at = q.skip.unwrap_or(0);
    let value: Vec<Value> = store
        .offers
        .iter()
        .skip(at)
        .take(1)
        .map(|o| {
            resource(
                "product",
                json!({"id": format!("product/{}", o.id), "identity": {"externalId": o.name}, "type": "azureVirtualMachine", "alias": o.name}),
            )
        })
        .collect();
    let mut page = json!({"value": value});
    if at + 1 < store.offers.len() {
        page["@nextLink"] = json!(format!(
            "https://graph.microsoft.com/rp/product-ingestion/product?$version={VERSION}&$skipToken={}",
            at + 1
        ));
    }
    reply(StatusCode::OK, page)
}

fn not_found(what: String) -> Response {
    reply(
        StatusCode::NOT_FOUND,
        json!({"error": {"code": "NotFound", "message": what}}),
    )
}

async fn resource_tree(
    State(p): State<Partner>,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Response {
    let target = q.target.unwrap_or_else(|| "draft".into());
    let store = p.store();
    let Some(offer) = store.offers.iter().find(|o| o.id == id) else {
        return not_found(format!("product {id}"));
    };
    let Some(resources) = offer.trees.get(&target) else {
        return not_found(format!("product {id} has no {target}"));
    };
    reply(
        StatusCode::OK,
        json!({"$schema": format!("{SCHEMA}/resource-tree/{VERSION}"), "root": format!("product/{id}"),
               "target": {"targetType": target}, "resources": resources}),
    )
}

async fn submissions(State(p): State<Partner>, Path(id): Path<String>) -> Response {
    let mut store = p.store();
    let Some(offer) = store.offers.iter_mut().find(|o| o.id == id) else {
        return not_found(format!("product {id}"));
    };
    let mut value = offer.submissions.clone();
    if offer.running > 0 {
        offer.running -= 1;
        for s in &mut value {
            if s["target"]["targetType"] == "preview" {
                s["status"] = json!("running");
                s["result"] = json!("pending");
            }
        }
    }
    reply(StatusCode::OK, json!({"value": value}))
}

async fn configure(State(p): State<Partner>, Json(body): Json<Value>) -> Response {
    if body["$schema"] != CONFIGURE_SCHEMA {
        return bad_request(format!("$schema must be {CONFIGURE_SCHEMA}"));
    }
    let resources = body["resources"].as_array().cloned().unwrap_or_default();
    if resources.is_empty() || resources.iter().any(|r| kind(r).is_empty()) {
        return bad_request("resources: a non-empty list of resources with their $schema");
    }
    let product = resources
        .iter()
        .find_map(|r| r["product"].as_str())
        .unwrap_or_default()
        .to_string();
    let mut store = p.store();
    let Some(offer) = store
        .offers
        .iter()
        .find(|o| format!("product/{}", o.id) == product)
        .map(|o| o.id.clone())
    else {
        return bad_request(format!(
            "no product {product:?} among the resources' products"
        ));
    };
    store.counter += 1;
    let id = format!(
        "{:08x}-5e7a-4c1d-9b2f-{:012x}",
        store.counter, store.counter
    );
    store.jobs.insert(
        id.clone(),
        Job {
            offer,
            resources,
            polls: p.config.job_polls,
            outcome: None,
        },
    );
    reply(
        StatusCode::ACCEPTED,
        json!({"$schema": format!("{SCHEMA}/configure-status/{VERSION}"), "jobId": id,
               "jobStatus": "notStarted", "jobResult": "pending", "errors": []}),
    )
}

async fn job_status(State(p): State<Partner>, Path(id): Path<String>) -> Response {
    let pending = {
        let mut store = p.store();
        let Some(job) = store.jobs.get_mut(&id) else {
            return not_found(format!("job {id}"));
        };
        if job.outcome.is_none() && job.polls > 0 {
            job.polls -= 1;
            None
        } else {
            Some(job.clone())
        }
    };
    let Some(job) = pending else {
        return status_of(&id, "running", "pending", &[]);
    };
    let outcome = match job.outcome {
        Some(outcome) => outcome,
        None => {
            let outcome = apply(&p, &job).await;
            if let Some(j) = p.store().jobs.get_mut(&id) {
                j.outcome = Some(outcome.clone());
            }
            outcome
        }
    };
    match outcome {
        Ok(()) => status_of(&id, "completed", "succeeded", &[]),
        Err(errors) => status_of(&id, "completed", "failed", &errors),
    }
}

fn status_of(id: &str, status: &str, result: &str, errors: &[Value]) -> Response {
    reply(
        StatusCode::OK,
        json!({"$schema": format!("{SCHEMA}/configure-status/{VERSION}"), "jobId": id,
               "jobStatus": status, "jobResult": result, "errors": errors}),
    )
}

fn error(code: &str, message: String, resource: &Value) -> Value {
    json!({"code": code, "message": message, "resourceId": resource["id"].as_str().or(resource["plan"].as_str())})
}

/// The disk URIs of a technical configuration.
fn uris(config: &Value) -> Vec<String> {
    config["vmImageVersions"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|v| v["vmImages"].as_array().into_iter().flatten())
        .filter_map(|i| i["source"]["osDisk"]["uri"].as_str().map(str::to_string))
        .collect()
}

/// What is wrong with a technical configuration, as Partner Center's validation says.
fn check_config(config: &Value) -> Vec<Value> {
    let mut errors = Vec::new();
    let versions = config["vmImageVersions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let skus: Vec<&str> = config["skus"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["imageType"].as_str())
        .collect();
    for v in &versions {
        let number = v["versionNumber"].as_str().unwrap_or_default();
        let parts: Vec<&str> = number.split('.').collect();
        if parts.len() != 3
            || parts
                .iter()
                .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            errors.push(error(
                "invalidVersionNumber",
                format!("versionNumber {number:?} is not a.b.c"),
                config,
            ));
        }
        for image in v["vmImages"].as_array().into_iter().flatten() {
            let t = image["imageType"].as_str().unwrap_or_default();
            if !IMAGE_TYPES.contains(&t) {
                errors.push(error(
                    "invalidImageType",
                    format!("imageType {t:?}"),
                    config,
                ));
            } else if !skus.contains(&t) {
                errors.push(error(
                    "missingSku",
                    format!("no SKU for imageType {t}"),
                    config,
                ));
            }
            if image["source"]["sourceType"] != "sasUri" {
                errors.push(error(
                    "invalidSource",
                    "source.sourceType must be sasUri".into(),
                    config,
                ));
            }
        }
    }
    errors
}

/// Applies a job's resources to its offer: `Ok` or the job's errors.
async fn apply(p: &Partner, job: &Job) -> Result<(), Vec<Value>> {
    let offer = p
        .store()
        .offers
        .iter()
        .find(|o| o.id == job.offer)
        .cloned()
        .ok_or_else(|| vec![json!({"code": "notFound", "message": "the product is gone"})])?;
    let known: Vec<String> = offer
        .trees
        .values()
        .flatten()
        .filter(|r| kind(r) == TECH_CONFIG)
        .flat_map(uris)
        .collect();
    let mut updated = offer.clone();
    for r in &job.resources {
        match kind(r) {
            TECH_CONFIG => {
                let mut errors = check_config(r);
                for uri in uris(r).into_iter().filter(|u| !known.contains(u)) {
                    if let Err(e) = readable(&p.http, &uri).await {
                        errors.push(error(
                            "invalidSasUri",
                            format!("the disk cannot be read through its SAS URI: {e}"),
                            r,
                        ));
                    }
                }
                if !errors.is_empty() {
                    return Err(errors);
                }
                let draft = updated.trees.entry("draft".into()).or_default();
                let Some(at) = draft
                    .iter()
                    .position(|x| kind(x) == TECH_CONFIG && x["plan"] == r["plan"])
                else {
                    return Err(vec![error("notFound", "no such plan".into(), r)]);
                };
                draft[at] = r.clone();
            }
            "submission" => {
                let to = r["target"]["targetType"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let from = match to.as_str() {
                    "preview" => "draft",
                    "live" => "preview",
                    _ => {
                        return Err(vec![error(
                            "invalidTarget",
                            format!("targetType {to:?}"),
                            r,
                        )]);
                    }
                };
                let previous = updated
                    .submissions
                    .iter()
                    .find(|s| s["target"]["targetType"] == from)
                    .and_then(|s| s["id"].as_str());
                if previous.is_none() || r["id"].as_str() != previous {
                    return Err(vec![error(
                        "invalidSubmission",
                        format!("the submission to {to} must be the {from} submission"),
                        r,
                    )]);
                }
                if to == "preview" && updated.fail_certification {
                    p.store()
                        .offers
                        .iter_mut()
                        .filter(|o| o.id == job.offer)
                        .for_each(|o| o.fail_certification = false);
                    return Err(vec![error(
                        "businessValidationError",
                        "Certification failed: the image does not boot (fake)".into(),
                        r,
                    )]);
                }
                let tree = updated.trees.get(from).cloned().unwrap_or_default();
                updated.trees.insert(to.clone(), tree);
                let mut submission = r.clone();
                let n = updated.submissions.len() + 1;
                submission["id"] = json!(format!("submission/{}/{n}", updated.id));
                submission["status"] = json!("completed");
                submission["result"] = json!("succeeded");
                updated
                    .submissions
                    .retain(|s| s["target"]["targetType"] != to.as_str());
                updated.submissions.push(submission);
            }
            "plan" | "product" | "listing" => {}
            other => {
                return Err(vec![error(
                    "unsupported",
                    format!("resource kind {other}"),
                    r,
                )]);
            }
        }
    }
    let mut store = p.store();
    if let Some(o) = store.offers.iter_mut().find(|o| o.id == job.offer) {
        let (running, certification) = (o.running, o.fail_certification);
        *o = updated;
        o.running = running;
        o.fail_certification = certification;
    }
    Ok(())
}

/// Reads the first page of a disk through its SAS URI, as Partner Center copies it.
async fn readable(http: &reqwest::Client, uri: &str) -> Result<(), String> {
    let answer = http
        .get(uri)
        .header("x-ms-range", "bytes=0-511")
        .header("x-ms-version", "2021-08-06")
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    if answer.status().is_success() {
        Ok(())
    } else {
        Err(format!("HTTP {}", answer.status()))
    }
}

#[derive(Deserialize)]
struct OfferControl {
    offer: String,
    #[serde(default)]
    polls: u32,
}

fn with_offer(p: &Partner, name: &str, change: impl FnOnce(&mut Offer)) -> Response {
    let mut store = p.store();
    match store.offers.iter_mut().find(|o| o.name == name) {
        Some(o) => {
            change(o);
            reply(StatusCode::NO_CONTENT, Value::Null)
        }
        None => not_found(format!("offer {name}")),
    }
}

async fn set_running(State(p): State<Partner>, Json(c): Json<OfferControl>) -> Response {
    with_offer(&p, &c.offer, |o| o.running = c.polls)
}

async fn set_certification(State(p): State<Partner>, Json(c): Json<OfferControl>) -> Response {
    with_offer(&p, &c.offer, |o| o.fail_certification = true)
}

async fn draft_change(State(p): State<Partner>, Json(c): Json<OfferControl>) -> Response {
    with_offer(&p, &c.offer, |o| {
        if let Some(draft) = o.trees.get_mut("draft") {
            for r in draft.iter_mut().filter(|r| kind(r) == "listing") {
                r["title"] = json!("Example RHEL (someone else's change)");
            }
        }
    })
}

async fn offer_state(State(p): State<Partner>, Path(name): Path<String>) -> Response {
    let store = p.store();
    match store.offers.iter().find(|o| o.name == name) {
        Some(o) => reply(
            StatusCode::OK,
            json!({"id": o.id, "trees": o.trees, "submissions": o.submissions}),
        ),
        None => not_found(format!("offer {name}")),
    }
}
