//! The AWS Marketplace Catalog adapter (`marketplace-catalog`, catalog `AWSMarketplace`):
//! product entities and change sets, for marketplace-version. The Catalog API lives in
//! `us-east-1` only; `AWS_ENDPOINT_URL_MARKETPLACE_CATALOG` points the client elsewhere (the
//! local stack's fake).

use std::collections::HashMap;

use aws_config::SdkConfig;
use aws_sdk_marketplacecatalog::Client;
use aws_sdk_marketplacecatalog::config::Region;
use aws_sdk_marketplacecatalog::types::{Change, Entity, Filter, Intent};
use aws_smithy_types::{Document, Number};
use serde_json::Value;
use snafu::{IntoError, ResultExt, Snafu};
use tracing::instrument;
use vmpush_domain::ports::{
    Catalog, ChangeRequest, ChangeSetState, ChangeSetSummary, DeliveryOption, Product,
    ProductVersion, Started,
};
use vmpush_domain::steps::{ErrorKind, StepError};

use crate::aws::{SdkFailure, SdkResultExt, step_error};

/// The only catalog.
const CATALOG: &str = "AWSMarketplace";

/// The region of the Catalog API.
pub const CATALOG_REGION: &str = "us-east-1";

/// A failed Catalog call, or an answer missing what it must hold.
#[derive(Debug, Snafu)]
enum Error {
    #[snafu(display("DescribeEntity {entity}: {source}"))]
    DescribeEntity { entity: String, source: SdkFailure },

    #[snafu(display("DescribeEntity {entity}: no DetailsDocument in the answer"))]
    NoDetails { entity: String },

    #[snafu(display("ListChangeSets EntityId={entity}: {source}"))]
    ListChangeSets { entity: String, source: SdkFailure },

    #[snafu(display("StartChangeSet {change_type} on {entity}: {source}"))]
    StartChangeSet {
        change_type: String,
        entity: String,
        source: SdkFailure,
    },

    #[snafu(display("StartChangeSet {change_type} on {entity}: {message}"))]
    BuildChange {
        change_type: String,
        entity: String,
        message: String,
    },

    #[snafu(display("StartChangeSet {change_type} on {entity}: no change set id"))]
    NoChangeSetId { change_type: String, entity: String },

    #[snafu(display("DescribeChangeSet {id}: {source}"))]
    DescribeChangeSet { id: String, source: SdkFailure },
}

impl From<Error> for StepError {
    fn from(error: Error) -> Self {
        step_error(&error, ErrorKind::Fatal)
    }
}

/// A Catalog client acting with `config`'s identity.
pub fn client(config: &SdkConfig) -> Client {
    let builder = aws_sdk_marketplacecatalog::config::Builder::from(config)
        .region(Region::new(CATALOG_REGION));
    Client::from_conf(builder.build())
}

/// The catalog of the client's seller account.
#[derive(Debug, Clone)]
pub struct MarketplaceCatalog {
    client: Client,
}

impl MarketplaceCatalog {
    /// Over `client`.
    pub fn new(client: Client) -> Self {
        MarketplaceCatalog { client }
    }
}

/// A JSON value as a Smithy document.
pub fn document(value: &Value) -> Document {
    match value {
        Value::Null => Document::Null,
        Value::Bool(b) => Document::Bool(*b),
        Value::Number(n) => Document::Number(match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Number::PosInt(u),
            (None, Some(i)) => Number::NegInt(i),
            _ => Number::Float(n.as_f64().unwrap_or_default()),
        }),
        Value::String(s) => Document::String(s.clone()),
        Value::Array(a) => Document::Array(a.iter().map(document).collect()),
        Value::Object(o) => Document::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), document(v)))
                .collect::<HashMap<_, _>>(),
        ),
    }
}

/// A Smithy document as a JSON value.
pub fn json(document: &Document) -> Value {
    match document {
        Document::Null => Value::Null,
        Document::Bool(b) => Value::Bool(*b),
        Document::Number(Number::PosInt(u)) => Value::from(*u),
        Document::Number(Number::NegInt(i)) => Value::from(*i),
        Document::Number(Number::Float(f)) => Value::from(*f),
        Document::String(s) => Value::String(s.clone()),
        Document::Array(a) => Value::Array(a.iter().map(json).collect()),
        Document::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), json(v))).collect()),
    }
}

/// The versions of an AMI product's `DetailsDocument`.
fn versions(details: &Value) -> Vec<ProductVersion> {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    details["Versions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| ProductVersion {
            id: text(&v["Id"]),
            title: text(&v["VersionTitle"]),
            created: v["CreationDate"].as_str().map(str::to_string),
            delivery_options: v["DeliveryOptions"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|o| DeliveryOption {
                    id: text(&o["Id"]),
                    visibility: text(&o["Visibility"]),
                })
                .collect(),
            amis: v["Sources"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|s| s["Type"] == "AmazonMachineImage")
                .filter_map(|s| s["Image"].as_str().map(str::to_string))
                .collect(),
        })
        .collect()
}

impl Catalog for MarketplaceCatalog {
    #[instrument(skip(self))]
    async fn product(&self, entity_id: &str) -> Result<Product, StepError> {
        let out = self
            .client
            .describe_entity()
            .catalog(CATALOG)
            .entity_id(entity_id)
            .send()
            .await
            .failure()
            .context(DescribeEntitySnafu { entity: entity_id })?;
        let details = match (out.details_document(), out.details()) {
            (Some(doc), _) => json(doc),
            (None, Some(text)) => serde_json::from_str(text).unwrap_or(Value::Null),
            (None, None) => return Err(NoDetailsSnafu { entity: entity_id }.build().into()),
        };
        Ok(Product {
            entity_type: out.entity_type().unwrap_or_default().to_string(),
            versions: versions(&details),
        })
    }

    #[instrument(skip(self))]
    async fn open_change_sets(&self, entity_id: &str) -> Result<Vec<ChangeSetSummary>, StepError> {
        let mut all = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let out = self
                .client
                .list_change_sets()
                .catalog(CATALOG)
                .filter_list(
                    Filter::builder()
                        .name("EntityId")
                        .value_list(entity_id)
                        .build(),
                )
                .filter_list(
                    Filter::builder()
                        .name("Status")
                        .value_list("PREPARING")
                        .value_list("APPLYING")
                        .build(),
                )
                .set_next_token(next.take())
                .send()
                .await
                .failure()
                .context(ListChangeSetsSnafu { entity: entity_id })?;
            all.extend(
                out.change_set_summary_list()
                    .iter()
                    .map(|c| ChangeSetSummary {
                        id: c.change_set_id().unwrap_or_default().to_string(),
                        name: c.change_set_name().map(str::to_string),
                        status: c.status().map_or("", |s| s.as_str()).to_string(),
                    }),
            );
            match out.next_token().filter(|t| !t.is_empty()) {
                Some(token) => next = Some(token.to_string()),
                None => return Ok(all),
            }
        }
    }

    #[instrument(skip(self, request), fields(change_type = %request.change_type, entity = %request.entity_id))]
    async fn start(&self, request: &ChangeRequest) -> Result<Started, StepError> {
        let context = |message: String| BuildChangeSnafu {
            change_type: &request.change_type,
            entity: &request.entity_id,
            message,
        };
        let entity = Entity::builder()
            .r#type(&request.entity_type)
            .identifier(&request.entity_id)
            .build()
            .map_err(|e| context(e.to_string()).build())?;
        let change = Change::builder()
            .change_type(&request.change_type)
            .entity(entity);
        let change = if request.details_as_string {
            change.details(request.details.to_string())
        } else {
            change.details_document(document(&request.details))
        };
        let change = change.build().map_err(|e| context(e.to_string()).build())?;
        let sent = self
            .client
            .start_change_set()
            .catalog(CATALOG)
            .change_set(change)
            .change_set_name(&request.name)
            .client_request_token(&request.token)
            .intent(Intent::from(request.intent.as_str()))
            .send()
            .await
            .failure();
        match sent {
            Ok(out) => out
                .change_set_id()
                .map(|id| Started::ChangeSet(id.to_string()))
                .ok_or_else(|| {
                    NoChangeSetIdSnafu {
                        change_type: &request.change_type,
                        entity: &request.entity_id,
                    }
                    .build()
                    .into()
                }),
            Err(failure) if failure.code() == "ResourceInUseException" => {
                Ok(Started::Locked(failure.to_string()))
            }
            Err(failure) => Err(StartChangeSetSnafu {
                change_type: &request.change_type,
                entity: &request.entity_id,
            }
            .into_error(failure)
            .into()),
        }
    }

    #[instrument(skip(self))]
    async fn change_set(&self, id: &str) -> Result<ChangeSetState, StepError> {
        let out = self
            .client
            .describe_change_set()
            .catalog(CATALOG)
            .change_set_id(id)
            .send()
            .await
            .failure()
            .context(DescribeChangeSetSnafu { id })?;
        Ok(ChangeSetState {
            status: out.status().map_or("", |s| s.as_str()).to_string(),
            failure_code: out.failure_code().map(|c| c.as_str().to_string()),
            failure_description: out.failure_description().map(str::to_string),
            errors: out
                .change_set()
                .iter()
                .flat_map(|c| c.error_detail_list())
                .map(|e| {
                    format!(
                        "{}: {}",
                        e.error_code().unwrap_or("error"),
                        e.error_message().unwrap_or_default()
                    )
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn documents_round_trip_and_versions_read_as_the_catalog_shows_them() {
        let value = json!({"a": [1, -2, 2.5, "x", null, true], "b": {"c": "d"}});
        assert_eq!(json(&document(&value)), value);
        let details = json!({"Versions": [{"Id": "v-1", "VersionTitle": "9.4 20240501-1",
            "CreationDate": "2024-05-01T00:00:00Z",
            "Sources": [{"Type": "AmazonMachineImage", "Image": "ami-1"}, {"Type": "Other", "Image": "x"}],
            "DeliveryOptions": [{"Id": "do-1", "Visibility": "Public"}]}]});
        assert_eq!(
            versions(&details),
            [ProductVersion {
                id: "v-1".into(),
                title: "9.4 20240501-1".into(),
                created: Some("2024-05-01T00:00:00Z".into()),
                delivery_options: vec![DeliveryOption {
                    id: "do-1".into(),
                    visibility: "Public".into()
                }],
                amis: vec!["ami-1".into()],
            }]
        );
    }
}
