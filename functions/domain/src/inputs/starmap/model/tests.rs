use super::*;
use serde_json::json;

const QRE5: &str = include_str!("../../../../../../tests/fixtures/starmap/valid_qre5.json");
const QRE5_META: &str =
    include_str!("../../../../../../tests/fixtures/starmap/valid_qre5_meta.json");

fn decode_one(v: Value) -> Result<Entity> {
    decode_entities("repo.yaml", &json!([v])).map(|mut e| e.remove(0))
}

fn dest(extra: Value) -> Value {
    let mut d =
        json!({"destination": "us-east-1-hourly", "overwrite": false, "restrict_version": false});
    d.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    d
}

fn entity_with(mapping: Value) -> Value {
    json!({"name": "rhel-ec2", "cloud": "aws", "workflow": "community", "mappings": {"aws-us-storage": mapping}})
}

#[test]
fn starmap_client_golden_meta_merge_qre5() {
    // GIVEN starmap-client's valid_qre5.json
    let entity = decode_one(serde_json::from_str(QRE5).unwrap()).unwrap();
    let expected: Map<String, Value> = serde_json::from_str(QRE5_META).unwrap();
    // THEN every destination's meta equals valid_qre5_meta.json for its mapping
    for mapping in &entity.mappings {
        for d in &mapping.destinations {
            assert_eq!(
                Value::Object(d.meta.clone()),
                expected[&mapping.account],
                "{}",
                d.destination
            );
        }
    }
    assert_eq!(entity.workflow, Workflow::Stratosphere);
    assert_eq!(
        entity
            .mappings
            .iter()
            .map(|m| m.account.as_str())
            .collect::<Vec<_>>(),
        ["test-marketplace", "another-marketplace"]
    );
}

#[test]
fn destination_provider_is_always_the_mappings() {
    let e = decode_one(entity_with(
        json!({"provider": "AGOV", "destinations": [dest(json!({"provider": "AWS"}))]}),
    ))
    .unwrap();
    assert_eq!(
        e.mappings[0].destinations[0].provider.as_deref(),
        Some("AGOV")
    );
    let e = decode_one(entity_with(
        json!({"destinations": [dest(json!({"provider": "AWS"}))]}),
    ))
    .unwrap();
    assert_eq!(e.mappings[0].destinations[0].provider, None);
}

#[test]
fn unknown_keys_are_ignored_and_optional_fields_default() {
    let e = decode_one(entity_with(
        json!({"destinations": [dest(json!({"stage_preview": true}))], "extra": 1}),
    ))
    .unwrap();
    let d = &e.mappings[0].destinations[0];
    assert_eq!(
        (
            d.architecture.clone(),
            d.tags.clone(),
            d.vhd_check_base_sas_only
        ),
        (None, None, None)
    );
    assert!(e.billing_code_config.is_empty());
    assert_eq!(e.meta, None);
}

/// Each bad mapping, with the exact message: the source and the field path.
#[test]
fn invalid_mappings_name_the_source_and_field() {
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"name": "x"}),
            "repo.yaml: (document): expected the root to be a list, got mapping",
        ),
        (
            json!([entity_with(
                json!({"destinations": [dest(json!({"overwrite": null}))]})
            )]),
            "repo.yaml: [0].mappings.aws-us-storage.destinations[0].overwrite: required boolean is missing",
        ),
        (
            json!([entity_with(
                json!({"destinations": [{"destination": "d", "overwrite": false}]})
            )]),
            "repo.yaml: [0].mappings.aws-us-storage.destinations[0].restrict_version: required boolean is missing",
        ),
        (
            json!([entity_with(
                json!({"destinations": [{"overwrite": false, "restrict_version": false}]})
            )]),
            "repo.yaml: [0].mappings.aws-us-storage.destinations[0].destination: required string is missing",
        ),
        (
            json!([entity_with(
                json!({"destinations": [dest(json!({"tags": 1}))]})
            )]),
            "repo.yaml: [0].mappings.aws-us-storage.destinations[0].tags: expected a mapping, got integer",
        ),
        (
            json!([entity_with(
                json!({"destinations": [dest(json!({"meta": null}))]})
            )]),
            "repo.yaml: [0].mappings.aws-us-storage.destinations[0].meta: expected a mapping, got null (omit the key instead)",
        ),
        (
            json!([entity_with(json!({"meta": null, "destinations": []}))]),
            "repo.yaml: [0].mappings.aws-us-storage.meta: expected a mapping, got null (omit the key instead)",
        ),
        (
            json!([entity_with(json!({"destinations": {"destination": "d"}}))]),
            "repo.yaml: [0].mappings.aws-us-storage.destinations: expected a list, got mapping",
        ),
        (
            json!([entity_with(json!(["not a mapping"]))]),
            "repo.yaml: [0].mappings.aws-us-storage: expected a mapping, got list",
        ),
        (
            json!([{"name": "x", "cloud": "aws", "workflow": "community", "meta": null, "mappings": {}}]),
            "repo.yaml: [0].meta: expected a mapping, got null (omit the key instead)",
        ),
        (
            json!([{"name": "x", "cloud": "aws", "workflow": "community", "billing-code-config": null, "mappings": {}}]),
            "repo.yaml: [0].billing-code-config: expected a mapping, got null (omit the key instead)",
        ),
        (
            json!([{"name": "x", "cloud": "aws", "workflow": "other", "mappings": {}}]),
            "repo.yaml: [0].workflow: 'other' is not a valid Workflow (community, stratosphere)",
        ),
        (
            json!([{"name": "x", "cloud": "aws", "workflow": "community", "mappings": {},
                 "billing-code-config": {"r": {"codes": ["a"], "image_name": "x", "image_types": ["weekly"]}}}]),
            "repo.yaml: [0].billing-code-config.r.image_types: 'weekly' is not one of: access, hourly, marketplace",
        ),
        (
            json!([{"name": "x", "cloud": "aws", "workflow": "community", "mappings": {},
                 "billing-code-config": {"r": {"codes": "a", "image_name": "x", "image_types": ["hourly"]}}}]),
            "repo.yaml: [0].billing-code-config.r.codes: expected a list, got string",
        ),
        (
            json!([{"cloud": "aws", "workflow": "community", "mappings": {}}]),
            "repo.yaml: [0].name: required string is missing",
        ),
        (
            json!([entity_with(
                json!({"destinations": [dest(json!({"restrict_major": "3"}))]})
            )]),
            "repo.yaml: [0].mappings.aws-us-storage.destinations[0].restrict_major: expected integer, got string",
        ),
    ];
    for (input, expected) in cases {
        let err = decode_entities("repo.yaml", &input)
            .expect_err(expected)
            .to_string();
        assert_eq!(err, expected);
    }
}
