//! `vmpush push` and `vmpush status`: a staged tree becomes a drop (files first, `push.yaml`
//! last) in the stack's staging bucket, whose notification starts the push state machine (or,
//! with `--api`, the files are staged the same way and the push API is asked to start it);
//! then the push is followed destination by destination until its result document.
//! Exit 0 when every destination is PUSHED, 30 otherwise (as pubtools), 1 on errors.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use vmpush_domain::inputs::credentials::CredentialSet;
use vmpush_domain::inputs::push::{
    PushRequest, StarmapMode, StarmapSettings, parse_request, valid_push_id,
};
use vmpush_domain::inputs::starmap::read_repo_values;
use vmpush_domain::inputs::tree::read_small_file;
use vmpush_domain::ports::ObjectWriter;

use crate::Failure;
use crate::flags::PubtoolsFlags;
use crate::plan::{WorkflowArg, staged_dirs};
use crate::report::{Display, print_result};
use crate::stack::Stack;

/// The exit code of a push that ended with a destination not pushed (pubtools').
const NOT_PUSHED: u8 = 30;

/// How long a drop may wait for its execution to appear.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// Arguments of `vmpush push`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    stack: crate::stack::StackArgs,

    /// Push id (1-64 of A-Z a-z 0-9 . _ -); default `push-<unix time>`.
    #[arg(long)]
    push_id: Option<String>,

    /// Workflow.
    #[arg(long, short = 'w', value_enum, default_value = "community")]
    workflow: WorkflowArg,

    /// StArMap server (APIv2); the deployment's default when not given.
    #[arg(long)]
    starmap_url: Option<String>,

    /// Local StArMap mappings: a JSON list of query responses (wins over --repo-file).
    #[arg(long)]
    repo: Option<String>,

    /// Local StArMap mappings from a YAML or JSON file.
    #[arg(long)]
    repo_file: Option<PathBuf>,

    /// Use only --repo/--repo-file mappings; never ask the server.
    #[arg(long)]
    offline: bool,

    /// Upload, import and share with the accounts only: no RHSM, nothing public.
    #[arg(long)]
    pre_push: bool,

    /// Mark images as beta (release type `beta`).
    #[arg(long)]
    beta: bool,

    /// Prefix of the per-region upload buckets (`<prefix>-<region>`).
    #[arg(long)]
    container_prefix: Option<String>,

    /// Cloud credentials (pubtools' format: a comma list of JSON files and/or base64 JSON).
    /// They replace what the deployment's credentials secret holds, before the push starts;
    /// they never travel in the drop or the request.
    #[arg(long, env = "CLOUD_CREDENTIALS", hide_env_values = true)]
    credentials: Option<String>,

    /// Start the push and print its id; do not follow it.
    #[arg(long)]
    no_wait: bool,

    #[command(flatten)]
    pub pubtools: PubtoolsFlags,

    /// Sources: staged:DIR[,staged:DIR...].
    #[arg(required = true, value_name = "SOURCE")]
    sources: Vec<String>,
}

/// Arguments of `vmpush status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    stack: crate::stack::StackArgs,

    /// Print where the push stands now; do not follow it to its end.
    #[arg(long)]
    no_wait: bool,

    /// The push id.
    push_id: String,
}

/// The request `push.yaml` carries (JSON, which is YAML).
fn request(args: &Args, push_id: &str, sources: Vec<String>) -> Result<PushRequest, Failure> {
    let repo = match (&args.repo, &args.repo_file) {
        (Some(text), _) => Some(read_repo_values("--repo", text.as_bytes())?),
        (None, Some(path)) => {
            let label = path.display().to_string();
            let bytes = read_small_file(path)
                .map_err(|e| Failure::Input(format!("{label}: cannot read: {e}")))?;
            Some(read_repo_values(&label, &bytes)?)
        }
        (None, None) => None,
    };
    let mode = match (args.offline, repo.is_some()) {
        (true, false) => {
            return Err(Failure::Usage(
                "Cannot use \"--offline\" without defining \"--repo\" mappings.".into(),
            ));
        }
        (true, true) => StarmapMode::Offline,
        (false, true) => StarmapMode::Hybrid,
        (false, false) => StarmapMode::Online,
    };
    Ok(PushRequest {
        push_id: Some(push_id.to_string()),
        sources,
        workflow: args.workflow.into(),
        pre_push: args.pre_push,
        beta: args.beta,
        azure_allow_draft_push: args.pubtools.azure_draft(),
        starmap: StarmapSettings {
            mode,
            url: args.starmap_url.clone(),
            repo,
        },
        container_prefix: args.container_prefix.clone(),
        notify: None,
    })
}

/// Every file under `dir`, as (path, path relative to `dir` with `/`), sorted.
fn files(dir: &Path) -> Result<Vec<(PathBuf, String)>, Failure> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries = std::fs::read_dir(&current)
            .map_err(|e| Failure::Input(format!("{}: cannot read: {e}", current.display())))?;
        for entry in entries {
            let path = entry
                .map_err(|e| Failure::Input(format!("{}: cannot read: {e}", current.display())))?
                .path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path
                    .strip_prefix(dir)
                    .unwrap_or(&path)
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                found.push((path, relative));
            }
        }
    }
    found.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(found)
}

/// Runs `vmpush push`.
pub async fn run(args: Args) -> Result<ExitCode, Failure> {
    let dirs = staged_dirs(&args.sources)?;
    for note in args.pubtools.push_notes() {
        eprintln!("{note}");
    }
    let stack = Stack::connect(&args.stack).await?;
    let staging = stack.staging()?;
    if let Some(arg) = args.credentials.as_deref().filter(|a| !a.trim().is_empty()) {
        let credentials = CredentialSet::parse(arg, read_small_file)?;
        let (secret, changed) = stack.store_credentials(&credentials).await?;
        eprintln!(
            "credentials ({}): {} secret {secret}",
            credentials.aliases().join(", "),
            if changed { "stored in" } else { "already in" }
        );
    }
    let push_id = match &args.push_id {
        Some(id) if valid_push_id(id) => id.clone(),
        Some(id) => {
            return Err(Failure::Usage(format!(
                "--push-id '{id}' must be 1-64 characters of A-Z a-z 0-9 . _ - starting with a letter or digit"
            )));
        }
        None => format!(
            "push-{}",
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        ),
    };
    let drop = format!("drops/{push_id}");
    // one staged tree: the drop itself; several: one folder each, named in `sources`
    let prefixes: Vec<String> = if dirs.len() == 1 {
        vec![drop.clone()]
    } else {
        (0..dirs.len()).map(|i| format!("{drop}/{i}")).collect()
    };
    // a drop's own tree goes without saying; the API is always told where the trees are
    let sources = if dirs.len() == 1 && stack.api().is_none() {
        Vec::new()
    } else {
        prefixes
            .iter()
            .map(|p| format!("staged:s3://{}/{p}", staging.bucket))
            .collect()
    };
    let request = request(&args, &push_id, sources)?;
    let mut uploads = Vec::new();
    for (dir, prefix) in dirs.iter().zip(&prefixes) {
        for (path, relative) in files(dir)? {
            uploads.push((path, format!("{prefix}/{relative}")));
        }
    }
    let total: u64 = uploads
        .iter()
        .map(|(p, _)| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum();
    let display = Display::new();
    let bar = display.bytes(total, &format!("staged s3://{}/{drop}/", staging.bucket));
    for (path, key) in &uploads {
        staging
            .objects
            .put_file(&staging.bucket, key, path, &|n| bar.inc(n))
            .await?;
    }
    bar.finish();
    // the execution to follow: the one start-push names for this very push.yaml, or the one
    // the API started (or had started for the same request)
    let execution = match stack.api() {
        None => {
            let body =
                serde_json::to_vec_pretty(&request).map_err(|e| Failure::Input(e.to_string()))?;
            let key = format!("{drop}/push.yaml");
            let execution = parse_request(&key, &body)?
                .into_drop_push(&staging.bucket, &push_id, Some(&staging.bucket))?
                .execution_name;
            staging
                .objects
                .put(&staging.bucket, &key, body, "application/json")
                .await?;
            display.note(&format!("push {push_id}: request written, push.yaml last"));
            execution
        }
        Some(api) => {
            let answer = api.start(&request).await?;
            display.note(&format!(
                "push {push_id}: {} {}",
                if answer.started {
                    "started"
                } else {
                    "already started as"
                },
                answer.execution_name
            ));
            answer.execution_name
        }
    };
    if args.no_wait {
        println!("{push_id}");
        return Ok(ExitCode::SUCCESS);
    }
    let started = Instant::now();
    while stack.status(&push_id, Some(&execution)).await?.is_none() {
        if started.elapsed() > START_TIMEOUT {
            return Err(Failure::Input(format!(
                "push {push_id}: execution {execution} did not start within {} s; is s3://{} notifying start-push?",
                START_TIMEOUT.as_secs(),
                staging.bucket
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    follow(&stack, &push_id, Some(&execution), &display, true).await
}

/// Runs `vmpush status`.
pub async fn status(args: StatusArgs) -> Result<ExitCode, Failure> {
    let stack = Stack::connect(&args.stack).await?;
    follow(&stack, &args.push_id, None, &Display::new(), !args.no_wait).await
}

/// Shows each destination's progress until the push ends (or once, unless `wait`), then
/// prints the result. `execution` names the push's execution, when known.
async fn follow(
    stack: &Stack,
    push_id: &str,
    execution: Option<&str>,
    display: &Display,
    wait: bool,
) -> Result<ExitCode, Failure> {
    let status = loop {
        let status = stack
            .status(push_id, execution)
            .await?
            .ok_or_else(|| Failure::Input(format!("push {push_id}: no execution found")))?;
        display.destinations(&status.progress);
        if !status.running() || !wait {
            break status;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    display.finish();
    if status.running() {
        eprintln!("push {push_id} is running ({})", status.execution_arn);
        return Ok(ExitCode::SUCCESS);
    }
    let result = status.result.ok_or_else(|| {
        Failure::Input(format!(
            "push {push_id} ended {} ({}: {}) without a result document",
            status.status,
            status.error.unwrap_or_default(),
            status.cause.unwrap_or_default(),
        ))
    })?;
    print_result(&result);
    Ok(if result["state"] == "PUSHED" {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(NOT_PUSHED)
    })
}
