//! `vmpush local`: the local cloud stack (moto, cargo lambda watch, Azurite, fakes) on
//! 127.0.0.1, one command up and one down.

use std::path::PathBuf;
use std::process::ExitCode;

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use vmpush_local::{Layout, Options};

use crate::Failure;

/// Arguments of `vmpush local`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,

    /// The vmpush workspace (default: found from the current directory upwards).
    #[arg(long, global = true)]
    root: Option<PathBuf>,

    /// Where the stack keeps its state (default: the workspace's `.local-stack`); a second,
    /// independent stack.
    #[arg(long, global = true, env = "VMPUSH_LOCAL_STACK")]
    state_dir: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Install what is missing, start every service, wait until each answers, write .local-stack/env.
    Up {
        /// DescribeImportSnapshotTasks calls before an import completes.
        #[arg(long, default_value_t = 2)]
        import_snapshot_polls: u32,
        /// DescribeChangeSet calls a Marketplace change set stays open for.
        #[arg(long, default_value_t = 2)]
        changeset_polls: u32,
        /// Serve RHSM over mutual TLS (exports RHSM_CERT, RHSM_KEY and VMPUSH_RHSM_CA; the
        /// functions read the pair from the secret VMPUSH_RHSM_CERT_SECRET names).
        #[arg(long)]
        rhsm_tls: bool,
        /// Build and run the binaries with this cargo profile (`perf`: release optimisations,
        /// for benchmarks).
        #[arg(long, default_value = "dev")]
        profile: String,
        /// Name the functions as CloudFormation names a SAM stack's
        /// (`vmpush-UploadFunction-3KX9Q2…`), as a deployed push sees them.
        #[arg(long)]
        cfn_function_names: bool,
        /// Invocations of one function that run at a time, each in a process of its own (as
        /// Lambda runs a Map's iterations).
        #[arg(long, default_value_t = vmpush_local::DEFAULT_CONCURRENCY)]
        concurrency: u32,
    },
    /// Stop exactly the processes `up` started.
    Down,
    /// Show what runs where.
    Status,
    /// Wipe emulator state (moto, fakes, Azurite) without restarting the stack.
    Reset,
    /// Print the stack's environment as shell `export` lines.
    Env,
}

fn layout(root: Option<PathBuf>) -> Result<Layout, Failure> {
    match root {
        Some(root) => Ok(Layout::new(root)),
        None => {
            let cwd = std::env::current_dir()
                .map_err(|e| Failure::Input(format!("current directory: {e}")))?;
            Layout::discover(&cwd).ok_or_else(|| {
                Failure::Usage("not inside a vmpush workspace (no local-stack/moto_local.py above); use --root".into())
            })
        }
    }
}

fn failure(e: vmpush_local::Error) -> Failure {
    Failure::Input(e.to_string())
}

/// Runs `vmpush local`.
pub async fn run(args: Args) -> Result<ExitCode, Failure> {
    let layout = layout(args.root)?;
    let layout = match args.state_dir {
        Some(dir) => layout.with_state_dir(dir),
        None => layout,
    };
    let progress = |m: &str| eprintln!("local stack: {m}");
    match args.action {
        Action::Up {
            import_snapshot_polls,
            changeset_polls,
            rhsm_tls,
            profile,
            cfn_function_names,
            concurrency,
        } => {
            let options = Options {
                import_snapshot_polls,
                changeset_polls,
                rhsm_tls,
                profile,
                cfn_function_names,
                concurrency,
            };
            let state = vmpush_local::up(&layout, &options, &progress)
                .await
                .map_err(failure)?;
            for s in &state.services {
                let urls: Vec<String> = s.urls.iter().map(|(r, u)| format!("{r}={u}")).collect();
                println!("{:<8} pid {:<7} {}", s.name, s.pid, urls.join(" "));
            }
            println!("source {}", layout.env_file().display());
        }
        Action::Down => {
            let stopped = vmpush_local::down(&layout).map_err(failure)?;
            if stopped.is_empty() {
                eprintln!("local stack: not running");
            }
            for (name, was_running) in stopped {
                println!(
                    "{name:<8} {}",
                    if was_running {
                        "stopped"
                    } else {
                        "was not running"
                    }
                );
            }
        }
        Action::Status => {
            let statuses = vmpush_local::status(&layout).map_err(failure)?;
            let mut table = Table::new();
            table
                .load_preset(UTF8_FULL_CONDENSED)
                .set_header(["Service", "PID", "Running", "URLs", "Log"]);
            for s in &statuses {
                let urls: Vec<String> = s
                    .service
                    .urls
                    .iter()
                    .map(|(r, u)| format!("{r}={u}"))
                    .collect();
                table.add_row([
                    s.service.name.clone(),
                    s.service.pid.to_string(),
                    if s.running { "yes".into() } else { "NO".into() },
                    urls.join("\n"),
                    s.service.log.display().to_string(),
                ]);
            }
            println!("{table}");
            if statuses.iter().any(|s| !s.running) {
                return Ok(ExitCode::from(1));
            }
        }
        Action::Reset => {
            vmpush_local::reset(&layout).await.map_err(failure)?;
            eprintln!("local stack: state wiped");
        }
        Action::Env => {
            let text = std::fs::read_to_string(layout.env_file()).map_err(|e| {
                Failure::Input(format!(
                    "{}: {e} (is the stack up?)",
                    layout.env_file().display()
                ))
            })?;
            print!("{text}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
