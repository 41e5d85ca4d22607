//! `vmpush plan`: the side-effect-free plan of a push, with pubtools-marketplacesvm's flags.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::ValueEnum;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde_json::Value;
use vmpush_cloud::starmap::{HttpStarmap, StarmapParams};
use vmpush_domain::inputs::credentials::{CREDENTIALS_ENV, CredentialSet};
use vmpush_domain::inputs::staged::read_staged;
use vmpush_domain::inputs::starmap::{Entity, Resolver, decode_entities, read_repo};
use vmpush_domain::inputs::tree::{LocalTree, read_small_file};
use vmpush_domain::plan::{
    AmiPushOptions, Plan, PlanOptions, PlanWorkflow, build_plan, current_hour,
};

use crate::Failure;
use crate::flags::PubtoolsFlags;

/// Workflows, as `--workflow` names them.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum WorkflowArg {
    /// Community AMIs: storage accounts, billing codes, RHSM, public hourly images.
    Community,
    /// AWS Marketplace products and Azure offers.
    Marketplace,
    /// Both, over the same items, in one push (pubtools-marketplacesvm-push `-w all`).
    All,
}

impl From<WorkflowArg> for PlanWorkflow {
    fn from(arg: WorkflowArg) -> PlanWorkflow {
        match arg {
            WorkflowArg::Community => PlanWorkflow::Community,
            WorkflowArg::Marketplace => PlanWorkflow::Marketplace,
            WorkflowArg::All => PlanWorkflow::All,
        }
    }
}

/// Output formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    /// The plan as JSON, for programs.
    Json,
    /// A table, for people.
    Table,
}

/// Arguments of `vmpush plan`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Workflow to plan.
    #[arg(long, short = 'w', value_enum, default_value = "community")]
    workflow: WorkflowArg,

    /// StArMap server (APIv2).
    #[arg(long, default_value = "https://starmap.engineering.redhat.com")]
    starmap_url: String,

    /// Local StArMap mappings: a JSON list of query responses (wins over --repo-file).
    #[arg(long)]
    repo: Option<String>,

    /// Local StArMap mappings from a YAML or JSON file.
    #[arg(long)]
    repo_file: Option<PathBuf>,

    /// Use only --repo/--repo-file mappings; never ask the server.
    #[arg(long)]
    offline: bool,

    /// Mark images as beta (release type `beta`).
    #[arg(long)]
    beta: bool,

    /// Prefix of the per-region upload buckets (`<prefix>-<region>`).
    #[arg(long, default_value = "redhat-cloudimg")]
    container_prefix: String,

    /// Credentials: comma list of JSON files and/or base64 JSON documents.
    #[arg(long, env = CREDENTIALS_ENV, hide_env_values = true)]
    credentials: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    format: Format,

    /// AWS_IMAGES items: account alias the images go to.
    #[arg(long, default_value = "aws-us-storage")]
    ami_account: String,

    /// AWS_IMAGES items: RHSM provider short name (AWS, ACN, AGOV).
    #[arg(long, default_value = "AWS")]
    aws_provider_name: String,

    /// AWS_IMAGES items: accounts to share with, '{"<region>|default": {"<label>": "<id>"}}'.
    #[arg(long)]
    accounts: Option<String>,

    /// AWS_IMAGES items: snapshot accounts, '{"<region>|default": ["<id>"]}'.
    #[arg(long)]
    snapshot_account_ids: Option<String>,

    /// AWS_IMAGES items: allow public images (hourly, or public_image: true).
    #[arg(long)]
    allow_public_images: bool,

    #[command(flatten)]
    pub pubtools: PubtoolsFlags,

    /// Sources: staged:DIR[,staged:DIR...] (pushsource's `staged:DIR1,DIR2` works too).
    #[arg(required = true, value_name = "SOURCE")]
    sources: Vec<String>,
}

/// The staged directories of the source arguments.
pub fn staged_dirs(sources: &[String]) -> Result<Vec<PathBuf>, Failure> {
    let mut dirs = Vec::new();
    let mut in_staged = false;
    for element in sources
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if let Some(dir) = element.strip_prefix("staged:") {
            in_staged = true;
            dirs.push(PathBuf::from(dir));
        } else if in_staged && !element.contains(':') {
            dirs.push(PathBuf::from(element));
        } else {
            return Err(Failure::Usage(format!(
                "unsupported source '{element}': vmpush reads staged:DIR sources"
            )));
        }
    }
    Ok(dirs)
}

/// The local mappings of `--repo` / `--repo-file` (the former wins).
fn local_repo(args: &Args) -> Result<Option<Vec<Entity>>, Failure> {
    let not_a_list = |v: &Value| {
        Failure::Usage(format!(
            "Expected value to be a list, got: {}",
            match v {
                Value::Object(_) => "mapping",
                Value::String(_) => "string",
                Value::Null => "null",
                _ => "scalar",
            }
        ))
    };
    if let Some(repo) = &args.repo {
        let value: Value = serde_json::from_str(repo)
            .map_err(|e| Failure::Usage(format!("--repo is not valid JSON: {e}")))?;
        if !value.is_array() {
            return Err(not_a_list(&value));
        }
        return Ok(Some(decode_entities("--repo", &value)?));
    }
    let Some(path) = &args.repo_file else {
        return Ok(None);
    };
    let label = path.display().to_string();
    let bytes =
        read_small_file(path).map_err(|e| Failure::Input(format!("{label}: cannot read: {e}")))?;
    Ok(Some(read_repo(&label, &bytes)?))
}

fn json_flag(flag: &str, value: &Option<String>) -> Result<Option<Value>, Failure> {
    value
        .as_deref()
        .map(|s| {
            serde_json::from_str(s)
                .map_err(|e| Failure::Usage(format!("{flag} is not valid JSON: {e}")))
        })
        .transpose()
}

fn env_flag_true(name: &str, default: bool) -> bool {
    std::env::var(name).map_or(default, |v| v.eq_ignore_ascii_case("true"))
}

/// Runs `vmpush plan`.
pub async fn run(args: Args) -> Result<ExitCode, Failure> {
    let dirs = staged_dirs(&args.sources)?;
    let local = local_repo(&args)?;
    if args.offline && local.is_none() {
        return Err(Failure::Usage(
            "Cannot use \"--offline\" without defining \"--repo\" mappings.".into(),
        ));
    }
    let credentials = match args.credentials.as_deref() {
        Some("") => std::env::var(CREDENTIALS_ENV).ok(),
        other => other.map(str::to_string),
    };
    let credentials = credentials
        .filter(|c| !c.trim().is_empty())
        .map(|c| CredentialSet::parse(&c, read_small_file))
        .transpose()?;

    let mut items = Vec::new();
    let mut warnings = Vec::new();
    for dir in &dirs {
        let staged = read_staged(&LocalTree::open(dir)?)?;
        items.extend(staged.items);
        warnings.extend(staged.warnings);
    }

    let server = if args.offline {
        None
    } else {
        Some(HttpStarmap::new(
            &args.starmap_url,
            StarmapParams::default(),
        )?)
    };
    let mut resolver = Resolver::new(local.unwrap_or_default(), server);
    let options = PlanOptions {
        workflow: args.workflow.into(),
        beta: args.beta,
        container_prefix: args.container_prefix.clone(),
        require_billing_codes: env_flag_true("COMMUNITY_PUSH_REQUIRE_BILLING_CODES", true),
        upload_attributes: std::env::var("ALLOWED_ATTRS_TO_UPDATE_FOR_UPLOAD")
            .ok()
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            }),
        ami_push: AmiPushOptions {
            account: args.ami_account.clone(),
            rhsm_provider: args.aws_provider_name.clone(),
            accounts: json_flag("--accounts", &args.accounts)?,
            snapshot_account_ids: json_flag("--snapshot-account-ids", &args.snapshot_account_ids)?,
            allow_public_images: args.allow_public_images,
        },
        hour: current_hour(),
    };
    let mut plan = build_plan(items, &mut resolver, credentials.as_ref(), &options).await?;
    warnings.append(&mut plan.warnings);
    for note in args.pubtools.apply_to_plan(&plan).await? {
        eprintln!("{note}");
    }
    plan.warnings = warnings;

    match args.format {
        Format::Json => {
            let text = serde_json::to_string_pretty(&plan)
                .map_err(|e| Failure::Input(format!("cannot serialise the plan: {e}")))?;
            println!("{text}");
        }
        Format::Table => print!("{}", table(&plan)),
    }
    Ok(ExitCode::SUCCESS)
}

/// The plan as tables for people: destinations, then skips and warnings.
fn table(plan: &Plan) -> String {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_header([
        "Image",
        "Account",
        "Destination",
        "Image name",
        "Billing",
        "Public",
        "RHSM product",
    ]);
    for item in &plan.items {
        for d in &item.destinations {
            t.add_row([
                item.name.as_str(),
                d.account.as_str(),
                d.destination.as_str(),
                d.image_name.as_str(),
                d.billing_codes.as_ref().map_or("-", |b| b.name.as_str()),
                if d.public { "yes" } else { "no" },
                d.rhsm_product.as_deref().unwrap_or("-"),
            ]);
        }
    }
    let mut out = format!(
        "{} workflow: {} image(s), {} destination(s)\n{t}\n",
        plan.workflow.as_str(),
        plan.items.len(),
        plan.destination_count()
    );
    for s in &plan.skipped {
        out.push_str(&format!(
            "skipped {}{}: {}\n",
            s.source,
            s.destination
                .as_deref()
                .map(|d| format!(" → {d}"))
                .unwrap_or_default(),
            s.reason
        ));
    }
    for w in &plan.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    out
}
