//! `vmpush-resolve-mapping`: wiring only; the step is [`vmpush_domain::steps::resolve_mapping`],
//! its survey of what exists [`Ec2Surveys`] (each account's regions as that account).
//! Environment: `VMPUSH_RHSM_URL` (with the client certificate of
//! [`HttpRhsm::from_env`]), `VMPUSH_STARMAP_URL` (the StArMap server of requests naming none)
//! and `VMPUSH_STARMAP_ALLOWED_URLS` (others they may name, comma-separated),
//! `VMPUSH_CREDENTIALS_SECRET` or `CLOUD_CREDENTIALS`, `COMMUNITY_PUSH_REQUIRE_BILLING_CODES`,
//! `VMPUSH_RESULTS_BUCKET` (where the work list is stored, [`vmpush_domain::plan::stored`]).

use lambda_runtime::Error;
use vmpush_cloud::ec2::images::Ec2Surveys;
use vmpush_cloud::identity::Identities;
use vmpush_cloud::lambda::{env, required_env, serve};
use vmpush_cloud::rhsm::HttpRhsm;
use vmpush_cloud::s3::S3Objects;
use vmpush_cloud::secrets::CredentialSource;
use vmpush_cloud::starmap::{HttpStarmap, StarmapParams};
use vmpush_domain::inputs::push::StarmapServers;
use vmpush_domain::payloads::Push;
use vmpush_domain::plan::stored::store;
use vmpush_domain::steps::resolve_mapping::{Context, run};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let sdk = &vmpush_cloud::aws::sdk_config().await;
    let trees = &S3Objects::new(vmpush_cloud::s3::client(sdk));
    let results = &required_env("VMPUSH_RESULTS_BUCKET")?;
    let rhsm = &HttpRhsm::from_env(sdk).await;
    let credentials = &CredentialSource::from_env(sdk)?;
    let servers = &StarmapServers::new(
        env("VMPUSH_STARMAP_URL").as_deref(),
        env("VMPUSH_STARMAP_ALLOWED_URLS").as_deref(),
    );
    let require_billing_codes =
        env("COMMUNITY_PUSH_REQUIRE_BILLING_CODES").is_none_or(|v| v.eq_ignore_ascii_case("true"));
    serve("resolve-mapping", |push: Push, _| async move {
        let url = push.request.starmap.server_url(servers)?;
        let starmap = url.map(|u| HttpStarmap::new(u, StarmapParams::default()));
        let starmap = starmap.transpose()?;
        let (credentials, version) = credentials.pin_current().await?;
        let rhsm = rhsm.as_ref().map_err(Clone::clone)?.as_ref();
        let surveys = &Ec2Surveys::new(Identities::new(sdk, credentials.clone()));
        let credentials = credentials.as_ref();
        let context = Context {
            trees,
            rhsm,
            starmap,
            credentials,
            require_billing_codes,
            surveys: Some(surveys),
        };
        let mut list = run(&push, context).await?;
        list.credentials_version = version;
        store(trees, results, &list, &push.execution_name).await
    })
    .await
}
