//! `vmpush-import-snapshot`: wiring only. Each invocation imports in the region of its input,
//! as its account (`start` gets or creates the import, `check` reports it); the step is
//! [`vmpush_domain::steps::import_snapshot`], the EC2 calls [`vmpush_cloud::ec2::Ec2Snapshots`].
//!
//! Environment: `VMPUSH_VMIMPORT_ROLE`, the VM Import service role of every account (default
//! `vmimport`), with `VMPUSH_CREDENTIALS_SECRET` or `CLOUD_CREDENTIALS` for the identities.

use lambda_runtime::Error;
use vmpush_cloud::ec2::{Ec2Snapshots, client};
use vmpush_cloud::identity::Identities;
use vmpush_cloud::lambda::{env, serve};
use vmpush_cloud::secrets::CredentialSource;
use vmpush_domain::payloads::ImportInput;
use vmpush_domain::steps::import_snapshot::run;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let sdk = &vmpush_cloud::aws::sdk_config().await;
    let credentials = &CredentialSource::from_env(sdk)?;
    let role = &env("VMPUSH_VMIMPORT_ROLE");
    serve("import-snapshot", |input: ImportInput, _| async move {
        let account = Identities::of(sdk, credentials, &input.account, &input.region).await?;
        let snapshots = Ec2Snapshots::new(client(&account, &input.region));
        run(&snapshots.with_import_role(role.clone()), &input).await
    })
    .await
}
