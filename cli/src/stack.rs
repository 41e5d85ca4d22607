//! Where `vmpush push` and `vmpush status` send their calls: the local stack (`--local`,
//! which knows its own buckets and state machine) or a deployed SAM stack (its outputs given
//! as flags or environment, credentials from the usual AWS chain).

use vmpush_cloud::s3::S3Objects;
use vmpush_cloud::sfn::watch::PushWatch;
use vmpush_local::{Layout, State};

use crate::Failure;

/// Stack selection flags.
#[derive(Debug, clap::Args)]
pub struct StackArgs {
    /// Use the local stack (`vmpush local up`) instead of AWS.
    #[arg(long)]
    local: bool,

    /// The staging bucket (the SAM stack's `StagingBucket` output).
    #[arg(long, env = "VMPUSH_STAGING_BUCKET")]
    staging_bucket: Option<String>,

    /// The push state machine (the SAM stack's `StateMachineArn` output).
    #[arg(long, env = "VMPUSH_STATE_MACHINE_ARN")]
    state_machine: Option<String>,

    /// The results bucket (the SAM stack's `ResultsBucket` output).
    #[arg(long, env = "VMPUSH_RESULTS_BUCKET")]
    results_bucket: Option<String>,
}

/// The clients and names of a stack.
pub struct Stack {
    /// S3, for the drop.
    pub s3: aws_sdk_s3::Client,
    /// S3, for the result document.
    pub objects: S3Objects,
    /// The state machine's executions.
    pub watch: PushWatch,
    /// Where drops go.
    pub staging_bucket: String,
    /// Where results are.
    pub results_bucket: String,
}

impl Stack {
    /// Connects to the stack the flags select.
    pub async fn connect(args: &StackArgs) -> Result<Stack, Failure> {
        let (config, staging, machine, results) = if args.local {
            let state = local_state()?;
            let var = |name: &str| {
                state.var(name).map(str::to_string).ok_or_else(|| {
                    Failure::Input(format!("the local stack's environment has no {name}"))
                })
            };
            let config =
                vmpush_cloud::aws::emulator_config(&var("AWS_ENDPOINT_URL")?, &var("AWS_REGION")?)
                    .await;
            (
                config,
                var("VMPUSH_STAGING_BUCKET")?,
                var("VMPUSH_STATE_MACHINE_ARN")?,
                var("VMPUSH_RESULTS_BUCKET")?,
            )
        } else {
            let need = |value: &Option<String>, flag: &str, env: &str| {
                value.clone().ok_or_else(|| {
                    Failure::Usage(format!("{flag} (or {env}) is required without --local"))
                })
            };
            (
                vmpush_cloud::aws::sdk_config().await,
                need(
                    &args.staging_bucket,
                    "--staging-bucket",
                    "VMPUSH_STAGING_BUCKET",
                )?,
                need(
                    &args.state_machine,
                    "--state-machine",
                    "VMPUSH_STATE_MACHINE_ARN",
                )?,
                need(
                    &args.results_bucket,
                    "--results-bucket",
                    "VMPUSH_RESULTS_BUCKET",
                )?,
            )
        };
        let s3 = vmpush_cloud::s3::client(&config);
        Ok(Stack {
            objects: S3Objects::new(s3.clone()),
            s3,
            watch: PushWatch::new(&config, machine),
            staging_bucket: staging,
            results_bucket: results,
        })
    }
}

/// The running local stack: `VMPUSH_LOCAL_STACK` (set in the stack's own environment), else
/// the workspace's `.local-stack`.
fn local_state() -> Result<State, Failure> {
    let cwd = std::env::current_dir().map_err(|e| Failure::Input(e.to_string()))?;
    let layout = Layout::discover(&cwd).ok_or_else(|| {
        Failure::Input(
            "--local: run vmpush inside its workspace (the local stack lives there)".into(),
        )
    })?;
    let layout = match std::env::var_os("VMPUSH_LOCAL_STACK") {
        Some(dir) => layout.with_state_dir(dir),
        None => layout,
    };
    State::load(&layout)
        .map_err(|e| Failure::Input(format!("--local: {e}; start it with `vmpush local up`")))
}
