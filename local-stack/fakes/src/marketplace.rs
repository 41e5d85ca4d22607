//! The AWS Marketplace Catalog API (rest-json), as the SDK's `marketplacecatalog` client calls
//! it once `AWS_ENDPOINT_URL_MARKETPLACE_CATALOG` points here:
//!
//! - `POST /StartChangeSet`: validated (`Catalog`, `ChangeSet[].ChangeType/Entity/Details|
//!   DetailsDocument`, `Intent`), idempotent on `ClientRequestToken`, and refused with
//!   `ResourceInUseException` (423) while another change set on one of its entities is open;
//! - `GET /DescribeChangeSet?catalog=&changeSetId=`: `PREPARING` → `APPLYING` → `SUCCEEDED` or
//!   `FAILED` (with `FailureCode` and per-change `ErrorDetailList`) over successive calls; each
//!   change with its `Details` as a JSON string and as `DetailsDocument`;
//! - `POST /ListChangeSets` with `EntityId`/`Status` filters; as change sets move on by
//!   themselves in AWS, listing an entity's change sets also moves its open ones one step;
//! - `GET /DescribeEntity?catalog=&entityId=`: `AmiProduct@1.0` entities whose `Versions` grow
//!   with applied `AddDeliveryOptions`, and change with `UpdateDeliveryOptions` and
//!   `RestrictDeliveryOptions`.
//!
//! A change fails (not the request) when its AMI id does not start with `ami-`, when its
//! version title already exists, or when a delivery option id is unknown. A token used again
//! with another request is refused (`ValidationException`), as an idempotency token is.
//!
//! Controls for tests (besides the shared `/_fake/*`):
//! - `POST /_fake/lock {"entity", "polls"}`: another seller's change set holds the entity for
//!   the next `polls` `ListChangeSets` or `StartChangeSet` calls naming it;
//! - `POST /_fake/fail {"entity", "code", "message"}`: the next change set on the entity
//!   fails with that error detail.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::{Json, Router, middleware};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::control::{self, Control, ErrorStyle, FaultConfig};
use crate::reply;

const ACCOUNT: &str = "123456789012";
const CATALOG: &str = "AWSMarketplace";

/// The product entity a fresh fake holds (the peer kit's marketplace destination).
pub const DEFAULT_ENTITY: &str = "d87bcebf-9cf4-47f5-9b5b-5470d4490f3d";

/// Settings of the Marketplace fake.
#[derive(Debug, Clone)]
pub struct MarketplaceConfig {
    /// `DescribeChangeSet` calls a change set stays open for (the first shows `PREPARING`,
    /// the others `APPLYING`); the next one shows the outcome.
    pub changeset_polls: u32,
    /// Entities at start: id → `{"EntityType", "DetailsDocument"}`.
    pub entities: Map<String, Value>,
}

impl Default for MarketplaceConfig {
    fn default() -> Self {
        let mut entities = Map::new();
        entities.insert(
            DEFAULT_ENTITY.into(),
            json!({"EntityType": "AmiProduct@1.0",
                   "DetailsDocument": {"Description": {"ProductTitle": "Example product"}, "Versions": []}}),
        );
        MarketplaceConfig {
            changeset_polls: 2,
            entities,
        }
    }
}

#[derive(Debug, Clone)]
struct ChangeSet {
    id: String,
    name: String,
    intent: String,
    token: Option<String>,
    changes: Vec<Value>,
    polls: u32,
    status: &'static str,
    start: String,
    end: Option<String>,
    errors: Vec<Vec<Value>>,
}

impl ChangeSet {
    fn open(&self) -> bool {
        matches!(self.status, "PREPARING" | "APPLYING")
    }

    fn entity_ids(&self) -> Vec<String> {
        self.changes
            .iter()
            .filter_map(|c| c["Entity"]["Identifier"].as_str().map(str::to_string))
            .collect()
    }

    fn arn(&self) -> String {
        format!(
            "arn:aws:aws-marketplace:us-east-1:{ACCOUNT}:{CATALOG}/ChangeSet/{}",
            self.id
        )
    }
}

#[derive(Debug, Default)]
struct Store {
    entities: Map<String, Value>,
    change_sets: BTreeMap<String, ChangeSet>,
    counter: u64,
    /// Entity → calls it stays locked for by someone else's change set.
    locks: BTreeMap<String, u32>,
    /// Entity → the error detail its next change set fails with.
    failures: BTreeMap<String, Value>,
}

impl Store {
    /// Whether `entity` is held by the test's foreign change set; counts the call.
    fn locked(&mut self, entity: &str) -> bool {
        match self.locks.get_mut(entity) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        }
    }
}

/// The id of the foreign change set a lock shows.
const LOCK_CHANGE_SET: &str = "cslocked0000000000000000";

#[derive(Clone)]
struct Marketplace {
    config: MarketplaceConfig,
    store: Arc<Mutex<Store>>,
    control: Control,
}

impl Marketplace {
    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().expect("marketplace lock")
    }

    fn fail(&self, status: StatusCode, kind: &str, message: impl AsRef<str>) -> Response {
        self.control.error(status, kind, message.as_ref())
    }

    /// The `ValidationException` for any catalog but `AWSMarketplace`.
    fn refuse_catalog(&self, catalog: Option<&str>) -> Option<Response> {
        (catalog != Some(CATALOG)).then(|| {
            self.fail(
                StatusCode::UNPROCESSABLE_ENTITY,
                "ValidationException",
                "Catalog must be AWSMarketplace",
            )
        })
    }
}

fn now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// The Marketplace fake's router.
pub fn router(config: MarketplaceConfig, faults: FaultConfig) -> Router {
    let control = Control::new(ErrorStyle::AwsJson, faults);
    let state = Marketplace {
        store: Arc::new(Mutex::new(Store {
            entities: config.entities.clone(),
            ..Store::default()
        })),
        config,
        control: control.clone(),
    };
    let reset_state = state.clone();
    let reset = move || {
        *reset_state.store() = Store {
            entities: reset_state.config.entities.clone(),
            ..Store::default()
        };
    };
    Router::new()
        .route("/StartChangeSet", post(start_change_set))
        .route("/DescribeChangeSet", get(describe_change_set))
        .route("/ListChangeSets", post(list_change_sets))
        .route("/DescribeEntity", get(describe_entity))
        .route("/_fake/entities/{id}", put(put_entity))
        .route("/_fake/lock", post(lock_entity))
        .route("/_fake/fail", post(fail_entity))
        .with_state(state)
        .merge(control::routes(control.clone(), reset))
        .layer(middleware::from_fn_with_state(control, control::record))
}

/// Checks one change of a `StartChangeSet` request; returns its entity id.
fn check_change(
    change: &Value,
    entities: &Map<String, Value>,
) -> Result<String, (StatusCode, &'static str, String)> {
    let invalid = |m: String| (StatusCode::UNPROCESSABLE_ENTITY, "ValidationException", m);
    let change_type = change["ChangeType"]
        .as_str()
        .ok_or_else(|| invalid("ChangeType is required".into()))?;
    let entity_type = change["Entity"]["Type"]
        .as_str()
        .ok_or_else(|| invalid("Entity.Type is required".into()))?;
    let id = change["Entity"]["Identifier"]
        .as_str()
        .ok_or_else(|| invalid("Entity.Identifier is required".into()))?;
    match (change.get("Details"), change.get("DetailsDocument")) {
        (Some(Value::String(s)), None) if serde_json::from_str::<Value>(s).is_ok() => {}
        (None, Some(Value::Object(_))) => {}
        _ => {
            return Err(invalid(format!(
                "{change_type}: exactly one of Details (a JSON string) or DetailsDocument (an object) is required"
            )));
        }
    }
    let entity = entities.get(id).ok_or_else(|| {
        (
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            format!("Entity {id} not found"),
        )
    })?;
    if entity["EntityType"].as_str() != Some(entity_type) {
        return Err(invalid(format!("Entity {id} is not of type {entity_type}")));
    }
    Ok(id.to_string())
}

async fn start_change_set(State(mp): State<Marketplace>, Json(body): Json<Value>) -> Response {
    if let Some(refused) = mp.refuse_catalog(body["Catalog"].as_str()) {
        return refused;
    }
    let intent = body["Intent"].as_str().unwrap_or("APPLY").to_string();
    if intent != "APPLY" && intent != "VALIDATE" {
        return mp.fail(
            StatusCode::UNPROCESSABLE_ENTITY,
            "ValidationException",
            "Intent must be VALIDATE or APPLY",
        );
    }
    let changes = match body["ChangeSet"].as_array() {
        Some(c) if !c.is_empty() => c.clone(),
        _ => {
            return mp.fail(
                StatusCode::UNPROCESSABLE_ENTITY,
                "ValidationException",
                "ChangeSet must be a non-empty list",
            );
        }
    };
    let token = body["ClientRequestToken"].as_str().map(str::to_string);
    let mut store = mp.store();
    if let Some(existing) = token.as_ref().and_then(|t| {
        store
            .change_sets
            .values()
            .find(|cs| cs.token.as_ref() == Some(t))
    }) {
        if existing.changes != changes || existing.intent != intent {
            let message = format!(
                "ClientRequestToken {} was already used with a different request (change set {})",
                token.as_deref().unwrap_or_default(),
                existing.id
            );
            return mp.fail(
                StatusCode::UNPROCESSABLE_ENTITY,
                "ValidationException",
                message,
            );
        }
        return reply(
            StatusCode::OK,
            json!({"ChangeSetId": existing.id, "ChangeSetArn": existing.arn()}),
        );
    }
    let mut ids = Vec::new();
    for change in &changes {
        match check_change(change, &store.entities) {
            Ok(id) => ids.push(id),
            Err((status, kind, message)) => return mp.fail(status, kind, message),
        }
    }
    let mut locking: Vec<String> = store
        .change_sets
        .values()
        .filter(|cs| cs.open() && cs.entity_ids().iter().any(|e| ids.contains(e)))
        .map(|cs| cs.id.clone())
        .collect();
    let held = ids.iter().filter(|e| store.locked(e)).count();
    if held > 0 {
        locking.push(LOCK_CHANGE_SET.into());
    }
    if !locking.is_empty() {
        return mp.fail(
            StatusCode::LOCKED,
            "ResourceInUseException",
            format!(
                "Requested change set has entities locked by change sets - {}",
                locking.join(", ")
            ),
        );
    }
    store.counter += 1;
    let id = format!("cs{:023}", store.counter);
    let cs = ChangeSet {
        id: id.clone(),
        name: body["ChangeSetName"].as_str().unwrap_or("").to_string(),
        intent,
        token,
        errors: vec![Vec::new(); changes.len()],
        changes,
        polls: 0,
        status: "PREPARING",
        start: now(),
        end: None,
    };
    let arn = cs.arn();
    store.change_sets.insert(id.clone(), cs);
    reply(
        StatusCode::OK,
        json!({"ChangeSetId": id, "ChangeSetArn": arn}),
    )
}

/// The `DetailsDocument` of a change, whichever form it was sent in.
fn details(change: &Value) -> Value {
    match (change.get("DetailsDocument"), change.get("Details")) {
        (Some(doc), _) => doc.clone(),
        (None, Some(Value::String(s))) => serde_json::from_str(s).unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

fn error(code: &str, message: String) -> Value {
    json!({"ErrorCode": code, "ErrorMessage": message})
}

/// Applies one change to an entity's details; an `Err` is the change's error detail.
fn apply(change: &Value, entity: &mut Value, counter: &mut u64) -> Result<(), Value> {
    let doc = details(change);
    let versions = entity["DetailsDocument"]["Versions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut next = |prefix: &str| {
        *counter += 1;
        format!("{prefix}-{:012}", *counter)
    };
    match change["ChangeType"].as_str().unwrap_or("") {
        "AddDeliveryOptions" | "UpdateDeliveryOptions" => {
            let title = doc["Version"]["VersionTitle"]
                .as_str()
                .unwrap_or("")
                .to_string();
            let option = &doc["DeliveryOptions"][0];
            let ami = &option["Details"]["AmiDeliveryOptionDetails"];
            let ami_id = ami["AmiSource"]["AmiId"].as_str().unwrap_or("");
            if !ami_id.starts_with("ami-") {
                return Err(error(
                    "INVALID_AMI_ID",
                    format!("AmiId '{ami_id}' is not a valid AMI id"),
                ));
            }
            let source_id = next("source");
            let source = json!({"Id": source_id, "Type": "AmazonMachineImage", "Image": ami_id,
                "OperatingSystem": {"Name": ami["AmiSource"]["OperatingSystemName"], "Version": ami["AmiSource"]["OperatingSystemVersion"],
                                    "Username": ami["AmiSource"]["UserName"], "ScanningPort": ami["AmiSource"]["ScanningPort"]}});
            let mut delivery = json!({"Type": "AmazonMachineImage", "SourceId": source_id, "Visibility": "Public",
                "Instructions": {"Usage": ami["UsageInstructions"]},
                "Recommendations": {"InstanceType": ami["RecommendedInstanceType"], "SecurityGroups": ami["SecurityGroups"]}});
            let mut versions = versions;
            if change["ChangeType"] == "AddDeliveryOptions" {
                if versions.iter().any(|v| v["VersionTitle"] == title.as_str()) {
                    return Err(error(
                        "INVALID_INPUT",
                        format!("Version title '{title}' already exists"),
                    ));
                }
                delivery["Id"] = json!(next("do"));
                versions.push(json!({"Id": next("version"), "VersionTitle": title, "ReleaseNotes": doc["Version"]["ReleaseNotes"],
                    "CreationDate": now(), "Sources": [source], "DeliveryOptions": [delivery]}));
            } else {
                let option_id = option["Id"].as_str().unwrap_or("");
                let Some(version) = versions.iter_mut().find(|v| {
                    v["DeliveryOptions"]
                        .as_array()
                        .is_some_and(|d| d.iter().any(|o| o["Id"] == option_id))
                }) else {
                    return Err(error(
                        "INVALID_INPUT",
                        format!("Delivery option '{option_id}' not found"),
                    ));
                };
                delivery["Id"] = json!(option_id);
                version["VersionTitle"] = json!(title);
                version["ReleaseNotes"] = doc["Version"]["ReleaseNotes"].clone();
                version["Sources"] = json!([source]);
                version["DeliveryOptions"] = json!([delivery]);
            }
            entity["DetailsDocument"]["Versions"] = Value::Array(versions);
        }
        "RestrictDeliveryOptions" => {
            let ids: Vec<&str> = doc["DeliveryOptionIds"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut versions = versions;
            for id in &ids {
                let option = versions
                    .iter_mut()
                    .flat_map(|v| v["DeliveryOptions"].as_array_mut().into_iter().flatten())
                    .find(|o| o["Id"] == *id);
                match option {
                    Some(o) => o["Visibility"] = json!("Restricted"),
                    None => {
                        return Err(error(
                            "INVALID_INPUT",
                            format!("Delivery option '{id}' not found"),
                        ));
                    }
                }
            }
            entity["DetailsDocument"]["Versions"] = Value::Array(versions);
        }
        _ => {}
    }
    Ok(())
}

/// Moves a change set one poll forward, applying it when it completes.
fn advance(store: &mut Store, id: &str, polls: u32) {
    let Store {
        entities,
        change_sets,
        counter,
        failures,
        ..
    } = store;
    let Some(cs) = change_sets.get_mut(id) else {
        return;
    };
    if !cs.open() {
        return;
    }
    cs.polls += 1;
    if cs.polls <= polls {
        cs.status = if cs.polls == 1 {
            "PREPARING"
        } else {
            "APPLYING"
        };
        return;
    }
    // Apply on copies: a change set is all or nothing.
    let mut staged: Map<String, Value> = entities.clone();
    let mut failed = false;
    for (i, change) in cs.changes.iter().enumerate() {
        let id = change["Entity"]["Identifier"].as_str().unwrap_or("");
        if let Some(detail) = failures.remove(id) {
            cs.errors[i].push(detail);
            failed = true;
            continue;
        }
        let Some(entity) = staged.get_mut(id) else {
            continue;
        };
        if let Err(detail) = apply(change, entity, counter) {
            cs.errors[i].push(detail);
            failed = true;
        }
    }
    if !failed && cs.intent == "APPLY" {
        *entities = staged;
    }
    cs.status = if failed { "FAILED" } else { "SUCCEEDED" };
    cs.end = Some(now());
}

#[derive(Deserialize)]
struct DescribeParams {
    catalog: Option<String>,
    #[serde(rename = "changeSetId")]
    change_set_id: Option<String>,
    #[serde(rename = "entityId")]
    entity_id: Option<String>,
}

async fn describe_change_set(
    State(mp): State<Marketplace>,
    Query(q): Query<DescribeParams>,
) -> Response {
    if let Some(refused) = mp.refuse_catalog(q.catalog.as_deref()) {
        return refused;
    }
    let id = q.change_set_id.unwrap_or_default();
    let mut store = mp.store();
    advance(&mut store, &id, mp.config.changeset_polls);
    let Some(cs) = store.change_sets.get(&id) else {
        return mp.fail(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            format!("Change set {id} not found"),
        );
    };
    let changes: Vec<Value> = cs
        .changes
        .iter()
        .zip(&cs.errors)
        .map(|(c, errors)| {
            // the API answers both forms of the details: the JSON string and the document
            let document = details(c);
            json!({"ChangeType": c["ChangeType"], "Entity": c["Entity"], "Details": document.to_string(),
                   "DetailsDocument": document, "ErrorDetailList": errors})
        })
        .collect();
    let mut out = json!({"ChangeSetId": cs.id, "ChangeSetArn": cs.arn(), "ChangeSetName": cs.name, "Intent": cs.intent,
        "StartTime": cs.start, "Status": cs.status, "ChangeSet": changes});
    if let Some(end) = &cs.end {
        out["EndTime"] = json!(end);
    }
    if cs.status == "FAILED" {
        out["FailureCode"] = json!("CLIENT_ERROR");
        out["FailureDescription"] = json!("One or more changes failed; see ErrorDetailList");
    }
    reply(StatusCode::OK, out)
}

async fn list_change_sets(State(mp): State<Marketplace>, Json(body): Json<Value>) -> Response {
    if let Some(refused) = mp.refuse_catalog(body["Catalog"].as_str()) {
        return refused;
    }
    let filters: Vec<(String, Vec<String>)> = body["FilterList"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            let values = f["ValueList"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            (f["Name"].as_str().unwrap_or("").to_string(), values)
        })
        .collect();
    let mut store = mp.store();
    let entity_filter: Vec<String> = filters
        .iter()
        .filter(|(name, _)| name == "EntityId")
        .flat_map(|(_, values)| values.clone())
        .collect();
    // in AWS change sets move on by themselves; here a look at an entity's change sets moves
    // its open ones one step, so a seller waiting for one it does not describe sees it end
    let open: Vec<String> = store
        .change_sets
        .values()
        .filter(|cs| matches!(cs.status, "PREPARING" | "APPLYING"))
        .filter(|cs| cs.entity_ids().iter().any(|e| entity_filter.contains(e)))
        .map(|cs| cs.id.clone())
        .collect();
    for id in open {
        advance(&mut store, &id, mp.config.changeset_polls);
    }
    let held: Vec<String> = entity_filter
        .into_iter()
        .filter(|e| store.locked(e))
        .collect();
    let status_ok = |status: &str| {
        filters
            .iter()
            .all(|(name, values)| name != "Status" || values.iter().any(|v| v == status))
    };
    let mut summaries: Vec<Value> = store
        .change_sets
        .values()
        .filter(|cs| {
            filters.iter().all(|(name, values)| match name.as_str() {
                "EntityId" => cs.entity_ids().iter().any(|e| values.contains(e)),
                "Status" => values.iter().any(|v| v == cs.status),
                "ChangeSetName" => values.contains(&cs.name),
                _ => true,
            })
        })
        .map(|cs| {
            json!({"ChangeSetId": cs.id, "ChangeSetArn": cs.arn(), "ChangeSetName": cs.name, "StartTime": cs.start,
                   "EndTime": cs.end, "Status": cs.status, "EntityIdList": cs.entity_ids()})
        })
        .collect();
    if !held.is_empty() && status_ok("APPLYING") {
        summaries.push(
            json!({"ChangeSetId": LOCK_CHANGE_SET, "ChangeSetName": "another seller's change",
            "Status": "APPLYING", "EntityIdList": held}),
        );
    }
    reply(StatusCode::OK, json!({"ChangeSetSummaryList": summaries}))
}

async fn describe_entity(
    State(mp): State<Marketplace>,
    Query(q): Query<DescribeParams>,
) -> Response {
    if let Some(refused) = mp.refuse_catalog(q.catalog.as_deref()) {
        return refused;
    }
    let id = q.entity_id.unwrap_or_default();
    let store = mp.store();
    let Some(entity) = store.entities.get(&id) else {
        return mp.fail(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            format!("Entity {id} not found"),
        );
    };
    let entity_type = entity["EntityType"].as_str().unwrap_or("AmiProduct@1.0");
    let kind = entity_type.split('@').next().unwrap_or(entity_type);
    let doc = entity["DetailsDocument"].clone();
    reply(
        StatusCode::OK,
        json!({"EntityType": entity_type, "EntityIdentifier": format!("{id}@1"),
               "EntityArn": format!("arn:aws:aws-marketplace:us-east-1:{ACCOUNT}:{CATALOG}/{kind}/{id}"),
               "LastModifiedDate": now(), "Details": doc.to_string(), "DetailsDocument": doc}),
    )
}

async fn put_entity(
    State(mp): State<Marketplace>,
    Path(id): Path<String>,
    Json(entity): Json<Value>,
) -> Response {
    if !entity["EntityType"].is_string() || !entity["DetailsDocument"].is_object() {
        return mp.fail(
            StatusCode::UNPROCESSABLE_ENTITY,
            "ValidationException",
            "EntityType (string) and DetailsDocument (object) are required",
        );
    }
    mp.store().entities.insert(id, entity);
    reply(StatusCode::NO_CONTENT, Value::Null)
}

#[derive(Deserialize)]
struct LockRequest {
    entity: String,
    polls: u32,
}

async fn lock_entity(State(mp): State<Marketplace>, Json(r): Json<LockRequest>) -> Response {
    mp.store().locks.insert(r.entity, r.polls);
    reply(StatusCode::NO_CONTENT, Value::Null)
}

#[derive(Deserialize)]
struct FailRequest {
    entity: String,
    code: String,
    message: String,
}

async fn fail_entity(State(mp): State<Marketplace>, Json(r): Json<FailRequest>) -> Response {
    mp.store()
        .failures
        .insert(r.entity, error(&r.code, r.message));
    reply(StatusCode::NO_CONTENT, Value::Null)
}
