use serde_json::{Value, json};

use super::*;

const URL: &str = "https://acct.blob.core.windows.net/pubupload/rhel-9.4.vhd";

fn sas(sv: &str, sig: &str, sp: &str) -> String {
    format!("{URL}?se=2029-01-01T00%3A00%3A00Z&sp={sp}&sv={sv}&sr=b&sig={sig}")
}

fn target(overwrite: bool, legacy: bool, arch: &str) -> AzureTarget {
    serde_json::from_value(json!({
        "offer": "rhel-offer", "plan": "rhel-9", "disk_version": "9.4.2024050112",
        "generation": "V2", "sku_id": null, "support_legacy": legacy, "legacy_sku_id": null,
        "architecture": arch, "overwrite": overwrite, "check_base_sas_only": false,
        "modular_push": false,
    }))
    .expect("a target")
}

fn config(versions: Value) -> Value {
    json!({
        "$schema": "https://schema.mp.microsoft.com/schema/virtual-machine-plan-technical-configuration/2022-07-01",
        "product": "product/p-1", "plan": "plan/p-1/pl-1",
        "operatingSystem": {"family": "linux", "type": "redHat"},
        "skus": [{"imageType": "x64Gen2", "skuId": "rhel-9", "securityType": ["trusted"]}],
        "vmImageVersions": versions,
    })
}

fn version(number: &str, images: &[(&str, &str)]) -> Value {
    let images: Vec<Value> = images
        .iter()
        .map(|(t, uri)| json!({"imageType": t, "source": {"sourceType": "sasUri", "osDisk": {"uri": uri}, "dataDisks": []}}))
        .collect();
    json!({"versionNumber": number, "vmImages": images, "lifecycleState": "generallyAvailable"})
}

#[test]
fn sas_uris_are_the_same_disk_whatever_their_signature_dates_and_version() {
    assert!(is_sas_eq(
        &sas("2020-12-06", "a", "r"),
        &sas("2021-08-06", "b", "r"),
        false
    ));
    assert!(!is_sas_eq(
        &sas("2020-12-06", "a", "r"),
        &sas("2020-12-06", "a", "rw"),
        false
    ));
    assert!(is_sas_eq(
        &sas("2020-12-06", "a", "r"),
        &sas("2020-12-06", "a", "rw"),
        true
    ));
    let other = sas("2020-12-06", "a", "r").replace("rhel-9.4", "rhel-9.5");
    assert!(!is_sas_eq(&sas("2020-12-06", "a", "r"), &other, true));
}

#[test]
fn kinds_and_ids_come_from_schemas_and_resource_ids() {
    assert_eq!(kind(&config(json!([]))), TECH_CONFIG);
    assert_eq!(
        kind(&json!({"$schema": "https://schema.mp.microsoft.com/schema/plan/2022-07-01"})),
        "plan"
    );
    assert_eq!(durable_id("product/0f8c-11"), "0f8c-11");
}

#[test]
fn a_new_disk_version_is_appended_with_its_skus() {
    let old = config(json!([version(
        "9.3.2024010100",
        &[("x64Gen2", "https://old")]
    )]));
    let sas = sas("2020-12-06", "a", "r");
    let new = with_disk(&old, &target(false, true, "x64"), &sas);
    assert_eq!(
        new["vmImageVersions"],
        json!([
            version("9.3.2024010100", &[("x64Gen2", "https://old")]),
            version("9.4.2024050112", &[("x64Gen2", &sas), ("x64Gen1", &sas)]),
        ])
    );
    assert_eq!(
        new["skus"],
        json!([
            {"imageType": "x64Gen2", "skuId": "rhel-9", "securityType": ["trusted"]},
            {"imageType": "x64Gen1", "skuId": "rhel-9-gen1", "securityType": ["trusted"]},
        ])
    );
    assert_eq!(new["operatingSystem"], old["operatingSystem"]);
    assert!(has_disk(&new, &sas, false));
    assert!(!has_disk(&old, &sas, false));
}

#[test]
fn the_same_disk_version_gets_this_architectures_images_and_keeps_the_others() {
    let old = config(json!([version(
        "9.4.2024050112",
        &[
            ("x64Gen2", "https://x64-old"),
            ("arm64Gen2", "https://arm-old")
        ]
    )]));
    let sas = sas("2020-12-06", "a", "r");
    let new = with_disk(&old, &target(false, false, "arm64"), &sas);
    assert_eq!(
        new["vmImageVersions"],
        json!([version(
            "9.4.2024050112",
            &[("arm64Gen2", &sas), ("x64Gen2", "https://x64-old")]
        )])
    );
    let ids: Vec<&str> = new["skus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["skuId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["rhel-9", "rhel-9-arm64"]);
}

#[test]
fn overwrite_leaves_only_the_new_disk_version() {
    let old = config(json!([
        version("9.2.1", &[("x64Gen2", "https://a")]),
        version("9.3.1", &[("x64Gen1", "https://b")]),
    ]));
    let sas = sas("2020-12-06", "a", "r");
    let new = with_disk(&old, &target(true, false, "x64"), &sas);
    assert_eq!(
        new["vmImageVersions"],
        json!([version("9.4.2024050112", &[("x64Gen2", &sas)])])
    );
    assert_eq!(new["skus"].as_array().unwrap().len(), 1);
}

#[test]
fn changes_besides_technical_configurations_make_an_offer_busy() {
    let tree = |listing: &str, disk: &str| {
        json!({"resources": [
            {"$schema": "https://schema.mp.microsoft.com/schema/listing/2022-07-01", "id": "listing/p-1/l-1",
             "title": listing, "url": "https://ignored/1"},
            config(json!([version("1.0.0", &[("x64Gen2", disk)])])),
            {"$schema": "https://schema.mp.microsoft.com/schema/submission/2022-07-01", "id": "submission/p-1/1"},
        ]})
    };
    assert!(pending_changes(&tree("RHEL", "https://a"), &tree("RHEL", "https://b")).is_empty());
    let mut moved = tree("RHEL", "https://a");
    moved["resources"][0]["url"] = json!("https://elsewhere");
    assert!(pending_changes(&moved, &tree("RHEL", "https://a")).is_empty());
    assert_eq!(
        pending_changes(&tree("RHEL 9", "https://a"), &tree("RHEL", "https://a")),
        ["listing/p-1/l-1"]
    );
}

#[test]
fn signatures_are_redacted_wherever_they_are_quoted() {
    assert_eq!(
        redact_sas("cannot read https://a/b.vhd?sp=r&sig=abc%2F123&se=x, nor 'https://c?sig=zz'"),
        "cannot read https://a/b.vhd?sp=r&sig=REDACTED&se=x, nor 'https://c?sig=REDACTED'"
    );
    assert_eq!(redact_sas("no signature"), "no signature");
}
