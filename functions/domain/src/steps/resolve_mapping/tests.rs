use super::*;
use crate::inputs::push::parse_request;
use crate::inputs::starmap::NoServer;
use crate::inputs::tree::MemoryTree;
use crate::steps::ErrorKind;
use serde_json::json;

const RESOURCES: &str = include_str!(
    "../../../../../tests/fixtures/peer-kit-1image/staged/starmap/CLOUD_IMAGES/rhel-ec2-9.0-10/resources.yaml"
);
const MAPPING: &str = include_str!("../../../../../tests/fixtures/peer-kit-1image/mapping.yaml");

struct Trees;

impl StagedTrees for Trees {
    async fn staged_tree(&self, bucket: &str, prefix: &str) -> Result<MemoryTree, StepError> {
        let dir = "starmap/CLOUD_IMAGES/rhel-ec2-9.0-10";
        Ok(MemoryTree::from_contents(
            format!("s3://{bucket}/{prefix}"),
            [
                (
                    format!("{dir}/resources.yaml").as_str(),
                    RESOURCES.as_bytes(),
                ),
                (
                    format!("{dir}/rhel-ec2-9.0-10.x86_64.raw.xz").as_str(),
                    b"xz".as_slice(),
                ),
            ],
        )?)
    }
}

struct Groups(Vec<(&'static str, &'static str)>);

impl Rhsm for Groups {
    async fn image_groups(&self) -> Result<Vec<(String, String)>, StepError> {
        Ok(self
            .0
            .iter()
            .map(|(n, p)| (n.to_string(), p.to_string()))
            .collect())
    }
}

fn push(product: Option<&str>) -> Push {
    let mut repo: serde_json::Value = serde_yaml_ng::from_str(MAPPING).unwrap();
    if let Some(p) = product {
        repo[0]["mappings"]["aws-us-storage"]["meta"]["release"]["product"] = json!(p);
    }
    let request = json!({"push_id": "p1", "sources": ["staged:s3://staging/drops/p1"], "starmap": {"mode": "offline", "repo": repo}});
    parse_request("push.json", request.to_string().as_bytes())
        .unwrap()
        .validate(None)
        .unwrap()
}

fn context<'a>(groups: Option<&'a Groups>) -> Context<'a, Trees, Groups, NoServer> {
    Context {
        trees: &Trees,
        rhsm: groups,
        starmap: None,
        credentials: None,
        require_billing_codes: true,
    }
}

#[tokio::test]
async fn peer_kit_push_becomes_one_upload_two_imports_eight_destinations() {
    let groups = Groups(vec![("RHEL", "AWS"), ("RHEL_HOURLY", "AWS")]);
    let list = run(&push(None), context(Some(&groups))).await.unwrap();
    assert_eq!(list.uploads.len(), 1);
    let u = &list.uploads[0];
    assert_eq!(
        (u.account.as_str(), u.region.as_str(), u.bucket.as_str()),
        ("aws-us-storage", "us-east-1", "redhat-cloudimg-us-east-1")
    );
    assert_eq!(
        u.source_key,
        "drops/p1/starmap/CLOUD_IMAGES/rhel-ec2-9.0-10/rhel-ec2-9.0-10.x86_64.raw.xz"
    );
    // import (billing codes) / copy region / destination billing types
    let tree: Vec<String> = u
        .imports
        .iter()
        .flat_map(|i| {
            i.copies.iter().map(|c| {
                let types: Vec<&str> = c
                    .destinations
                    .iter()
                    .map(|d| d.destination.billing_type.as_deref().unwrap_or(""))
                    .collect();
                format!(
                    "{}/{}/{}",
                    i.billing_codes.join(","),
                    c.region,
                    types.join(",")
                )
            })
        })
        .collect();
    assert_eq!(
        tree,
        [
            "bp-6fa54006/us-east-1/hourly",
            "bp-6fa54006/us-east-2/hourly",
            "bp-6fa54006/us-west-1/hourly",
            "bp-6fa54006/us-west-2/hourly",
            "bp-63a5400a/us-east-1/access",
            "bp-63a5400a/us-east-2/access",
            "bp-63a5400a/us-west-1/access",
            "bp-63a5400a/us-west-2/access",
        ]
    );
    assert_eq!(list.leaves().count(), 8);
}

#[tokio::test]
async fn a_product_missing_in_rhsm_fails_before_anything() {
    let groups = Groups(vec![("RHEL", "AWS"), ("RHEL_HOURLY", "AWS")]);
    let err = run(&push(Some("FEDORA")), context(Some(&groups)))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(err.message.starts_with("Pre-push verification of push items in metadata service failed: Product not in RHSM: FEDORA_HOURLY (provider AWS) for starmap/CLOUD_IMAGES/rhel-ec2-9.0-10/rhel-ec2-9.0-10.x86_64.raw.xz at us-east-1-hourly"), "{}", err.message);
    let err = run(&push(None), context(None)).await.unwrap_err();
    assert_eq!(
        err.message,
        "RHSM URL not provided for the RHSM client (VMPUSH_RHSM_URL)"
    );
}

/// A staged VHD, for the Azure guard.
struct VhdTrees;

impl StagedTrees for VhdTrees {
    async fn staged_tree(&self, bucket: &str, prefix: &str) -> Result<MemoryTree, StepError> {
        let dir = "starmap/CLOUD_IMAGES/rhel-azure-9.4-1";
        let resources = "api: v1\nresource: CloudImage\ndescription: RHEL for Azure\ntype: VHD\n\
                         build: {name: rhel-azure, version: \"9.4\", respin: \"1\"}\nrelease: {date: \"20240501\"}\n\
                         images:\n  - {path: rhel-azure-9.4-1.x86_64.vhd.xz, architecture: x86_64}\n";
        Ok(MemoryTree::from_contents(
            format!("s3://{bucket}/{prefix}"),
            [
                (
                    format!("{dir}/resources.yaml").as_str(),
                    resources.as_bytes(),
                ),
                (
                    format!("{dir}/rhel-azure-9.4-1.x86_64.vhd.xz").as_str(),
                    b"xz".as_slice(),
                ),
            ],
        )?)
    }
}

#[tokio::test]
async fn azure_destinations_become_an_upload_and_an_offer_queue() {
    let repo = json!([{"name": "rhel-azure", "cloud": "azure", "workflow": "stratosphere",
        "mappings": {"azure-na": {"destinations": [
            {"architecture": "x86_64", "destination": "rhel-offer/rhel-9", "overwrite": false,
             "restrict_version": false}]}}}]);
    let request = json!({"push_id": "p1", "sources": ["staged:s3://staging/drops/p1"],
        "workflow": "marketplace", "starmap": {"mode": "offline", "repo": repo}});
    let push = parse_request("push.json", request.to_string().as_bytes())
        .unwrap()
        .validate(None)
        .unwrap();
    let context = Context {
        trees: &VhdTrees,
        rhsm: None::<&Groups>,
        starmap: None::<NoServer>,
        credentials: None,
        require_billing_codes: true,
    };
    let list = run(&push, context).await.unwrap();
    assert!(list.uploads.is_empty());
    let upload = &list.azure_uploads[0];
    assert_eq!(
        (upload.container.as_str(), upload.blob.as_str()),
        ("pubupload", "rhel-azure-9.4-1.x86_64.vhd")
    );
    let offer = &list.azure_offers[0];
    assert_eq!(
        (offer.account.as_str(), offer.offer.as_str()),
        ("azure-na", "rhel-offer")
    );
    let d = &offer.destinations[0];
    assert_eq!(
        (d.upload.as_str(), d.blob.as_str()),
        (upload.id.as_str(), upload.blob.as_str())
    );
    assert_eq!(d.destination.azure.as_ref().unwrap().plan, "rhel-9");
}
