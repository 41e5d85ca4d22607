//! Resolving a push: staged trees (the same parser as `vmpush plan`, over an S3 listing) →
//! StArMap → the workflow's plan → the RHSM pre-check, before any side effect → the work list
//! of uploads, imports and destinations. Nothing here writes anywhere.

use tracing::info;
use vmpush_domain::inputs::credentials::CredentialSet;
use vmpush_domain::inputs::push::{Push, StarmapMode};
use vmpush_domain::inputs::staged::read_staged;
use vmpush_domain::inputs::starmap::{Resolver, decode_entities};
use vmpush_domain::plan::worklist::{WorkList, work_list};
use vmpush_domain::plan::{PlanOptions, build_plan};
use vmpush_domain::ports::Rhsm;
use vmpush_domain::ports::StagedTrees;
use vmpush_domain::ports::StarmapServer;
use vmpush_domain::steps::StepError;
use vmpush_domain::steps::resolve_mapping::precheck;

/// What resolving needs besides the push.
pub struct Context<'a, T, R, S> {
    /// Staged trees.
    pub trees: &'a T,
    /// RHSM, when configured.
    pub rhsm: Option<&'a R>,
    /// The StArMap server for online and hybrid pushes.
    pub starmap: Option<S>,
    /// Credentials (`CLOUD_CREDENTIALS`), when given.
    pub credentials: Option<&'a CredentialSet>,
    /// `COMMUNITY_PUSH_REQUIRE_BILLING_CODES`.
    pub require_billing_codes: bool,
}

/// Resolves a push into its work list.
pub async fn handle<T: StagedTrees, R: Rhsm, S: StarmapServer>(
    push: &Push,
    context: Context<'_, T, R, S>,
) -> Result<WorkList, StepError> {
    let mut items = Vec::new();
    for source in &push.sources {
        let tree = context
            .trees
            .staged_tree(&source.bucket, &source.prefix)
            .await?;
        items.extend(read_staged(&tree)?.items);
    }
    let request = &push.request;
    let local = match &request.starmap.repo {
        Some(repo) => decode_entities("starmap.repo", &serde_json::Value::Array(repo.clone()))?,
        None => Vec::new(),
    };
    let server = match request.starmap.mode {
        StarmapMode::Offline => None,
        StarmapMode::Online | StarmapMode::Hybrid => context.starmap,
    };
    let mut resolver = Resolver::new(local, server);
    let mut options = PlanOptions {
        workflow: request.workflow,
        beta: request.beta,
        require_billing_codes: context.require_billing_codes,
        ..PlanOptions::default()
    };
    if let Some(prefix) = &request.container_prefix {
        options.container_prefix = prefix.clone();
    }
    let plan = build_plan(items, &mut resolver, context.credentials, &options).await?;
    if plan
        .items
        .iter()
        .flat_map(|i| &i.destinations)
        .any(|d| d.rhsm_product.is_some())
    {
        let rhsm = context.rhsm.ok_or_else(|| {
            StepError::invalid("RHSM URL not provided for the RHSM client (VMPUSH_RHSM_URL)")
        })?;
        precheck(&plan, &rhsm.image_groups().await?)?;
    }
    let list = work_list(&push.push_id, &plan, &push.sources)?;
    info!(push_id = %push.push_id, uploads = list.uploads.len(),
          destinations = list.leaves().count(), skipped = list.skipped.len(), "work list");
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use vmpush_domain::inputs::push::parse_request;
    use vmpush_domain::inputs::starmap::NoServer;
    use vmpush_domain::inputs::tree::MemoryTree;
    use vmpush_domain::steps::ErrorKind;

    const RESOURCES: &str = include_str!(
        "../../../tests/fixtures/peer-kit-1image/staged/starmap/CLOUD_IMAGES/rhel-ec2-9.0-10/resources.yaml"
    );
    const MAPPING: &str = include_str!("../../../tests/fixtures/peer-kit-1image/mapping.yaml");

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
        let list = handle(&push(None), context(Some(&groups))).await.unwrap();
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
        let err = handle(&push(Some("FEDORA")), context(Some(&groups)))
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput);
        assert!(err.message.starts_with("Pre-push verification of push items in metadata service failed: Product not in RHSM: FEDORA_HOURLY (provider AWS) for starmap/CLOUD_IMAGES/rhel-ec2-9.0-10/rhel-ec2-9.0-10.x86_64.raw.xz at us-east-1-hourly"), "{}", err.message);
        let err = handle(&push(None), context(None)).await.unwrap_err();
        assert_eq!(
            err.message,
            "RHSM URL not provided for the RHSM client (VMPUSH_RHSM_URL)"
        );
    }
}
