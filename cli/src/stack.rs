//! Where `vmpush push` and `vmpush status` send their calls: the local stack (`--local`,
//! which knows its own buckets and state machine) or a deployed SAM stack (its outputs given
//! as flags or environment, credentials from the usual AWS chain); pushes start with a drop
//! and are followed through the state machine, or both go through the push API (`--api`).

use std::collections::HashMap;
use std::sync::Mutex;

use vmpush_cloud::push_api::PushApi;
use vmpush_cloud::s3::S3Objects;
use vmpush_cloud::secrets::SecretCredentials;
use vmpush_cloud::sfn::watch::PushWatch;
use vmpush_domain::inputs::credentials::CredentialSet;
use vmpush_domain::payloads::PushStatus;
use vmpush_domain::ports::ExecutionHistory;
use vmpush_domain::steps::ErrorKind;
use vmpush_domain::steps::push_status;
use vmpush_local::{Layout, State};

use crate::Failure;

/// Stack selection flags.
#[derive(Debug, clap::Args)]
pub struct StackArgs {
    /// Use the local stack (`vmpush local up`) instead of AWS.
    #[arg(long)]
    local: bool,

    /// Start and follow pushes through the push API at URL (the SAM stack's `ApiUrl` output;
    /// IAM auth, requests signed with your AWS credentials) instead of a drop.
    #[arg(long, env = "VMPUSH_API_URL", value_name = "URL")]
    api: Option<String>,

    /// The staging bucket (the SAM stack's `StagingBucket` output).
    #[arg(long, env = "VMPUSH_STAGING_BUCKET")]
    staging_bucket: Option<String>,

    /// The push state machine (the SAM stack's `StateMachineArn` output).
    #[arg(long, env = "VMPUSH_STATE_MACHINE_ARN")]
    state_machine: Option<String>,

    /// The results bucket (the SAM stack's `ResultsBucket` output).
    #[arg(long, env = "VMPUSH_RESULTS_BUCKET")]
    results_bucket: Option<String>,

    /// The deployment's credentials secret (the template's `CredentialsSecretArn`), which
    /// `--credentials` replaces.
    #[arg(long, env = "VMPUSH_CREDENTIALS_SECRET")]
    credentials_secret: Option<String>,
}

/// Where staged trees are written.
pub struct Staging {
    /// S3, for the files and `push.yaml`.
    pub objects: S3Objects,
    /// The staging bucket.
    pub bucket: String,
}

/// How a push is followed.
enum Follow {
    /// Through the state machine's executions and the results bucket.
    Executions {
        watch: PushWatch,
        objects: S3Objects,
        results_bucket: String,
        /// The execution found for a push id, so it is listed once.
        found: Mutex<HashMap<String, String>>,
    },
    /// Through the push API.
    Api(PushApi),
}

/// The clients and names of a stack.
pub struct Stack {
    staging: Option<Staging>,
    follow: Follow,
    secret: Option<(SecretCredentials, String)>,
}

impl Stack {
    /// Connects to the stack the flags select.
    pub async fn connect(args: &StackArgs) -> Result<Stack, Failure> {
        let need = |value: &Option<String>, flag: &str, env: &str| {
            value.clone().ok_or_else(|| {
                Failure::Usage(format!("{flag} (or {env}) is required without --local"))
            })
        };
        let (config, staging, machine, results, secret) = if args.local {
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
                Some(var("VMPUSH_STAGING_BUCKET")?),
                Ok(var("VMPUSH_STATE_MACHINE_ARN")?),
                Ok(var("VMPUSH_RESULTS_BUCKET")?),
                Some(var("VMPUSH_CREDENTIALS_SECRET")?),
            )
        } else {
            (
                vmpush_cloud::aws::sdk_config().await,
                args.staging_bucket.clone(),
                need(
                    &args.state_machine,
                    "--state-machine",
                    "VMPUSH_STATE_MACHINE_ARN",
                ),
                need(
                    &args.results_bucket,
                    "--results-bucket",
                    "VMPUSH_RESULTS_BUCKET",
                ),
                args.credentials_secret.clone(),
            )
        };
        let s3 = vmpush_cloud::s3::client(&config);
        let follow = match &args.api {
            Some(url) => Follow::Api(PushApi::new(url, &config)?),
            None => Follow::Executions {
                watch: PushWatch::new(&config, machine?),
                objects: S3Objects::new(s3.clone()),
                results_bucket: results?,
                found: Mutex::default(),
            },
        };
        Ok(Stack {
            staging: staging.map(|bucket| Staging {
                objects: S3Objects::new(s3),
                bucket,
            }),
            follow,
            secret: secret.map(|name| (SecretCredentials::new(&config), name)),
        })
    }

    /// Makes the deployment's secret hold `credentials` (validated first); the secret's name
    /// and whether it changed.
    pub async fn store_credentials(
        &self,
        credentials: &CredentialSet,
    ) -> Result<(&str, bool), Failure> {
        credentials.validate()?;
        let (secrets, name) = self.secret.as_ref().ok_or_else(|| {
            Failure::Usage(
                "--credentials-secret (or VMPUSH_CREDENTIALS_SECRET) is required with --credentials"
                    .into(),
            )
        })?;
        Ok((name, secrets.store(name, credentials).await?))
    }

    /// Where staged trees go.
    pub fn staging(&self) -> Result<&Staging, Failure> {
        self.staging.as_ref().ok_or_else(|| {
            Failure::Usage(
                "--staging-bucket (or VMPUSH_STAGING_BUCKET) is required to upload staged trees"
                    .into(),
            )
        })
    }

    /// The push API, when pushes go through it.
    pub fn api(&self) -> Option<&PushApi> {
        match &self.follow {
            Follow::Api(api) => Some(api),
            Follow::Executions { .. } => None,
        }
    }

    /// Where a push stands: its execution `execution` when named (as a drop names it), else
    /// its latest; `None` until it started.
    pub async fn status(
        &self,
        push_id: &str,
        execution: Option<&str>,
    ) -> Result<Option<PushStatus>, Failure> {
        match &self.follow {
            Follow::Api(api) => Ok(api.status(push_id).await?),
            Follow::Executions {
                watch,
                objects,
                results_bucket,
                found,
            } => {
                let known = match execution {
                    Some(name) => Some(watch.execution_arn(name)),
                    None => found.lock().ok().and_then(|f| f.get(push_id).cloned()),
                };
                let arn = match known {
                    Some(arn) => arn,
                    None => match watch.find(push_id).await? {
                        Some(arn) => {
                            if let Ok(mut f) = found.lock() {
                                f.insert(push_id.to_string(), arn.clone());
                            }
                            arn
                        }
                        None => return Ok(None),
                    },
                };
                match push_status::report(watch, objects, results_bucket, push_id, &arn).await {
                    Ok(status) => Ok(Some(status)),
                    Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e.into()),
                }
            }
        }
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
