//! The local cloud stack: moto (with vmpush's launcher), `cargo lambda watch`, Azurite and
//! vmpush's fakes, on free 127.0.0.1 ports, started and stopped by PID. `vmpush local` and the
//! end-to-end tests both go through [`up`], [`down`], [`status`] and [`reset`].

mod error;
mod install;
mod layout;
mod process;
mod resources;
mod state;
#[cfg(feature = "testing")]
pub mod testing;

use std::process::Command;
use std::time::{Duration, Instant};

use snafu::ResultExt;

pub use error::{Error, Result};
pub use install::{NPM_PACKAGES, PYTHON_PACKAGES, ensure as install_tools};
pub use layout::Layout;
pub use resources::{
    CREDENTIALS_SECRET, FUNCTION_SUFFIX_VAR, FUNCTIONS, NOTIFICATIONS, RESULTS_BUCKET, SETTINGS,
    deployed_name, function_arn, local_substitutions, substitute, topic_arn,
};
pub use state::{Service, State};

use error::{CommandSnafu, ControlSnafu, IoSnafu, NotReadySnafu};

/// The Azurite development account (public, documented by Microsoft).
pub const AZURITE_ACCOUNT: &str = "devstoreaccount1";
/// The Azurite development account key (public, documented by Microsoft).
pub const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// The name of the push state machine, as the SAM template and `vmpush local` create it.
pub const STATE_MACHINE_NAME: &str = "vmpush-push";
/// The name of the upload-flow state machine (`statemachine/upload.asl.json`): the push one's,
/// `-upload` appended, as the template names it.
pub const UPLOAD_STATE_MACHINE_NAME: &str = "vmpush-push-upload";
/// The staging bucket of the local stack.
pub const STAGING_BUCKET: &str = "vmpush-staging";
/// moto's account.
pub const ACCOUNT: &str = "123456789012";

/// The stack's default region.
pub const REGION: &str = "us-east-1";

/// How long a stopping service gets before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Settings of a stack.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// `DescribeImportSnapshotTasks` calls before an import completes.
    pub import_snapshot_polls: u32,
    /// `DescribeChangeSet` calls a Marketplace change set stays open for.
    pub changeset_polls: u32,
    /// Serve RHSM over mutual TLS (a CA and client certificate are generated in
    /// `<state>/rhsm-tls`; `RHSM_CERT`, `RHSM_KEY` and `VMPUSH_RHSM_CA` point at them, and the
    /// functions read them from the secret `VMPUSH_RHSM_CERT_SECRET` names).
    pub rhsm_tls: bool,
    /// The cargo profile the binaries are built and run with (`dev`; the benchmarks use
    /// `perf`, release optimisations).
    pub profile: String,
    /// Name the functions as CloudFormation names a SAM stack's (`vmpush-UploadFunction-
    /// 3KX9Q2…`) instead of after their binaries, as a deployed push sees them.
    pub cfn_function_names: bool,
    /// Invocations of one function that run at a time (`cargo lambda watch --concurrency`):
    /// Lambda runs a Map's iterations in instances of their own, so the local stack does not
    /// queue them behind one process either.
    pub concurrency: u32,
}

/// Invocations of one function at a time, by default: enough that a Map's iterations do not
/// wait for one another on a 2-core machine (each instance is a process of its own).
pub const DEFAULT_CONCURRENCY: u32 = 4;

impl Default for Options {
    fn default() -> Self {
        Options {
            import_snapshot_polls: 2,
            changeset_polls: 2,
            rhsm_tls: false,
            profile: "dev".into(),
            cfn_function_names: false,
            concurrency: DEFAULT_CONCURRENCY,
        }
    }
}

/// A service's readiness probe: the URL, and whether any HTTP answer counts.
struct Probe {
    url: String,
    any_status: bool,
    timeout: Duration,
}

/// Starts the stack (installing tools on first use); a no-op returning the running state when
/// it already runs and answers.
pub async fn up(layout: &Layout, options: &Options, progress: &dyn Fn(&str)) -> Result<State> {
    if let Ok(state) = State::load(layout) {
        let same_options = state.options == format!("{options:?}");
        if same_options && healthy(&state).await {
            progress("the local stack is already running");
            return Ok(state);
        }
        progress(if same_options {
            "restarting a local stack that is partly down"
        } else {
            "restarting the local stack with new options"
        });
        down(layout)?;
    }
    for dir in [layout.dir.clone(), layout.logs()] {
        std::fs::create_dir_all(&dir).context(IoSnafu {
            what: format!("create {}", dir.display()),
        })?;
    }
    install::ensure(layout, progress)?;
    progress("building the workspace binaries (functions and fakes)");
    let mut build = Command::new("cargo");
    build
        .current_dir(&layout.root)
        .args(["build", "--workspace", "--bins", "--locked", "--profile"])
        .arg(&options.profile);
    let log = layout.log("build");
    if let Some(code) = process::run(build, &log)? {
        return CommandSnafu {
            what: "cargo build",
            code,
            log,
        }
        .fail();
    }
    seed_starmap(layout)?;
    let mut started = Vec::new();
    let ready = async {
        let state = start_all(layout, options, progress, &mut started).await?;
        resources::provision(layout, &state)?;
        state.save(layout)?;
        Ok::<State, Error>(state)
    }
    .await;
    match ready {
        Ok(state) => {
            progress(&format!(
                "ready; environment in {}",
                layout.env_file().display()
            ));
            Ok(state)
        }
        // nothing is left running when the stack cannot be made ready
        Err(e) => {
            for pid in started {
                process::stop_group(pid, STOP_GRACE);
            }
            Err(e)
        }
    }
}

fn seed_starmap(layout: &Layout) -> Result<()> {
    let dir = layout.starmap_dir();
    std::fs::create_dir_all(&dir).context(IoSnafu {
        what: format!("create {}", dir.display()),
    })?;
    let seeds = layout.root.join("local-stack/starmap");
    let Ok(entries) = std::fs::read_dir(&seeds) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let target = dir.join(entry.file_name());
        if entry.path().is_file() && !target.exists() {
            std::fs::copy(entry.path(), &target).context(IoSnafu {
                what: format!("copy {}", entry.path().display()),
            })?;
        }
    }
    Ok(())
}

/// With RHSM over mutual TLS, pubtools' variables naming the files of the fake's client
/// certificate, key and CA: the stack's environment (the CLI, the tests) has them, the
/// functions do not.
const TLS_FILES: [(&str, &str); 3] = [
    ("RHSM_CERT", "client.pem"),
    ("RHSM_KEY", "client.key"),
    ("VMPUSH_RHSM_CA", "ca.pem"),
];

async fn start_all(
    layout: &Layout,
    options: &Options,
    progress: &dyn Fn(&str),
    started: &mut Vec<u32>,
) -> Result<State> {
    let url = |port: u16| format!("http://127.0.0.1:{port}");
    let [aws, invoke, rhsm, starmap, marketplace, blob, partner] = process::free_ports::<7>()?;
    let connection_string = format!(
        "DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};BlobEndpoint={}/{AZURITE_ACCOUNT};",
        url(blob)
    );
    let tls_dir = layout.dir.join("rhsm-tls");
    let rhsm_url = if options.rhsm_tls {
        format!("https://127.0.0.1:{rhsm}")
    } else {
        url(rhsm)
    };
    let mut env: Vec<(String, String)> = [
        ("AWS_ENDPOINT_URL", url(aws)),
        ("AWS_ENDPOINT_URL_MARKETPLACE_CATALOG", url(marketplace)),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_REGION", REGION.into()),
        ("AWS_DEFAULT_REGION", REGION.into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("VMPUSH_RHSM_URL", rhsm_url.clone()),
        ("VMPUSH_STARMAP_URL", url(starmap)),
        ("VMPUSH_MARKETPLACE_URL", url(marketplace)),
        ("VMPUSH_PARTNER_URL", url(partner)),
        ("VMPUSH_AZURE_LOGIN_URL", url(partner)),
        (
            "VMPUSH_AZURE_INGESTION_URL",
            format!("{}/rp/product-ingestion", url(partner)),
        ),
        ("VMPUSH_LAMBDA_URL", url(invoke)),
        (
            "VMPUSH_AZURITE_URL",
            format!("{}/{AZURITE_ACCOUNT}", url(blob)),
        ),
        ("AZURE_STORAGE_CONNECTION_STRING", connection_string),
        ("VMPUSH_LOCAL_STACK", layout.dir.display().to_string()),
        (
            "VMPUSH_STATE_MACHINE_ARN",
            format!("arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:{STATE_MACHINE_NAME}"),
        ),
        ("VMPUSH_STAGING_BUCKET", STAGING_BUCKET.into()),
        (
            "VMPUSH_CREDENTIALS_SECRET",
            resources::CREDENTIALS_SECRET.into(),
        ),
        ("VMPUSH_TOPIC_ARN", resources::topic_arn()),
        ("VMPUSH_RESULTS_BUCKET", resources::RESULTS_BUCKET.into()),
        ("VMPUSH_LOCAL_API_URL", resources::api_url(&url(aws))),
        (
            "VMPUSH_LOCAL_CREDENTIALS",
            layout.credentials_file().display().to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let suffix = options.cfn_function_names.then(resources::function_suffix);
    if let Some(suffix) = &suffix {
        env.push((resources::FUNCTION_SUFFIX_VAR.into(), suffix.clone()));
    }
    if options.rhsm_tls {
        for (key, file) in TLS_FILES {
            env.push((key.into(), tls_dir.join(file).display().to_string()));
        }
        env.push((
            "VMPUSH_RHSM_CERT_SECRET".into(),
            resources::RHSM_CERT_SECRET.into(),
        ));
    }

    let mut services = Vec::new();
    let mut launch = |name: &str, command: Command, urls: Vec<(&str, String)>, probe: Probe| {
        let log = layout.log(name);
        let pid = process::spawn(command, &log)?;
        started.push(pid);
        services.push((
            Service {
                name: name.into(),
                pid,
                urls: urls.into_iter().map(|(r, u)| (r.to_string(), u)).collect(),
                log,
            },
            probe,
        ));
        Ok::<(), Error>(())
    };

    let mut fakes = Command::new(layout.profile_binary(&options.profile, "vmpush-fakes"));
    fakes
        .args([
            "--rhsm-port",
            &rhsm.to_string(),
            "--starmap-port",
            &starmap.to_string(),
        ])
        .args(["--marketplace-port", &marketplace.to_string()])
        .args(["--partner-port", &partner.to_string()])
        .args(["--changeset-polls", &options.changeset_polls.to_string()])
        .arg("--starmap-dir")
        .arg(layout.starmap_dir());
    if options.rhsm_tls {
        fakes.arg("--rhsm-tls-dir").arg(&tls_dir);
    }
    launch(
        "fakes",
        fakes,
        vec![
            ("rhsm", rhsm_url),
            ("starmap", url(starmap)),
            ("marketplace", url(marketplace)),
            ("partner", url(partner)),
        ],
        Probe {
            url: format!("{}/_fake/requests", url(starmap)),
            any_status: false,
            timeout: Duration::from_secs(30),
        },
    )?;

    let mut moto = Command::new(layout.venv_bin("python"));
    moto.arg(layout.launcher())
        .args(["--port", &aws.to_string(), "--log"])
        .arg(layout.logs().join("aws-requests.jsonl"))
        .env("LAMBDA_FORWARD_URL", url(invoke))
        .env(
            "LAMBDA_FORWARD_MAP",
            resources::forward_map(suffix.as_deref()),
        )
        .env(
            "IMPORT_SNAPSHOT_POLLS",
            options.import_snapshot_polls.to_string(),
        )
        // the stack's own keys (its environment's, and the SDK's test credentials that
        // `emulator_config` signs with); any other must be an account's IAM key
        .env("MOTO_KNOWN_ACCESS_KEYS", "test,ANOTREAL");
    launch(
        "moto",
        moto,
        vec![("aws", url(aws))],
        Probe {
            url: format!("{}/_local/health", url(aws)),
            any_status: false,
            timeout: Duration::from_secs(60),
        },
    )?;

    let (azurite_command, blob_url, azurite_probe) = azurite(layout, blob);
    launch(
        "azurite",
        azurite_command,
        vec![("blob", blob_url)],
        azurite_probe,
    )?;

    let path = format!(
        "{}:{}",
        layout.venv().join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut lambda = Command::new(layout.venv_bin("cargo-lambda"));
    lambda
        .current_dir(&layout.root)
        .args([
            "lambda",
            "watch",
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
            &invoke.to_string(),
            // Lambda's own limit: long steps (uploads) are cut by their deadline, not here
            "--timeout",
            "900",
            "--concurrency",
            &options.concurrency.max(1).to_string(),
        ])
        // the functions read the client certificate from its secret, as deployed
        .envs(
            env.iter()
                .filter(|(k, _)| TLS_FILES.iter().all(|(var, _)| var != k))
                .map(|(k, v)| (k.as_str(), v.as_str())),
        )
        .env("PATH", path);
    if options.profile != "dev" {
        lambda.args(["--profile", &options.profile]);
    }
    launch(
        "lambda",
        lambda,
        vec![("invoke", url(invoke))],
        Probe {
            url: format!("{}/2015-03-31/functions/none/invocations", url(invoke)),
            any_status: true,
            timeout: Duration::from_secs(120),
        },
    )?;

    let client = http_client();
    for (service, probe) in &services {
        progress(&format!(
            "waiting for {} (pid {})",
            service.name, service.pid
        ));
        wait_ready(&client, service, probe).await?;
    }
    Ok(State {
        services: services.into_iter().map(|(s, _)| s).collect(),
        env,
        options: format!("{options:?}"),
    })
}

/// Azurite's blob service on `port`: its command, its URL and how to know it answers.
fn azurite(layout: &Layout, port: u16) -> (Command, String, Probe) {
    let url = format!("http://127.0.0.1:{port}/{AZURITE_ACCOUNT}");
    let mut command = Command::new(layout.npm().join("node_modules/.bin/azurite-blob"));
    command.args([
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        &port.to_string(),
        "--inMemoryPersistence",
    ]);
    let probe = Probe {
        url: format!("{url}?comp=list"),
        any_status: true,
        timeout: Duration::from_secs(60),
    };
    (command, url, probe)
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .no_proxy()
        .build()
        .expect("an HTTP client builds")
}

/// A client for the stack's control endpoints: with the RHSM CA and client certificate when
/// RHSM runs over mutual TLS.
pub(crate) fn control_client(state: &State) -> Result<reqwest::Client> {
    let (Some(ca), Some(cert), Some(key)) = (
        state.var("VMPUSH_RHSM_CA"),
        state.var("RHSM_CERT"),
        state.var("RHSM_KEY"),
    ) else {
        return Ok(http_client());
    };
    let read = |path: &str| {
        std::fs::read(path).context(IoSnafu {
            what: format!("read {path}"),
        })
    };
    let tls = |e: reqwest::Error| Error::Control {
        service: "fakes".into(),
        message: format!("RHSM client certificate: {e}"),
    };
    let mut identity = read(cert)?;
    identity.extend(read(key)?);
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .no_proxy()
        .add_root_certificate(reqwest::Certificate::from_pem(&read(ca)?).map_err(tls)?)
        .identity(reqwest::Identity::from_pem(&identity).map_err(tls)?)
        .build()
        .map_err(tls)
}

async fn wait_ready(client: &reqwest::Client, service: &Service, probe: &Probe) -> Result<()> {
    let deadline = Instant::now() + probe.timeout;
    loop {
        if !process::alive(service.pid) {
            return NotReadySnafu {
                service: &service.name,
                url: &probe.url,
                seconds: 0u64,
                log: &service.log,
            }
            .fail();
        }
        if let Ok(r) = client.get(&probe.url).send().await
            && (probe.any_status || r.status().is_success())
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return NotReadySnafu {
                service: &service.name,
                url: &probe.url,
                seconds: probe.timeout.as_secs(),
                log: &service.log,
            }
            .fail();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Whether every service of a state runs and answers.
async fn healthy(state: &State) -> bool {
    state.services.iter().all(|s| process::alive(s.pid)) && {
        let client = http_client();
        let mut ok = true;
        for s in &state.services {
            let probe = match s.name.as_str() {
                "moto" => s.url("aws").map(|u| format!("{u}/_local/health")),
                "fakes" => s.url("starmap").map(|u| format!("{u}/_fake/requests")),
                _ => s.urls.first().map(|(_, u)| u.clone()),
            };
            ok &= match probe {
                Some(url) => client.get(url).send().await.is_ok(),
                None => false,
            };
        }
        ok
    }
}

/// Stops every service the state file records (by process group) and removes the state.
/// Returns each service with whether it was still running.
pub fn down(layout: &Layout) -> Result<Vec<(String, bool)>> {
    let state = match State::load(layout) {
        Ok(state) => state,
        Err(Error::NotRunning { .. }) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let stopped = state
        .services
        .iter()
        .rev()
        .map(|s| (s.name.clone(), process::stop_group(s.pid, STOP_GRACE)))
        .collect();
    for path in [layout.state_file(), layout.env_file()] {
        if path.exists() {
            std::fs::remove_file(&path).context(IoSnafu {
                what: format!("remove {}", path.display()),
            })?;
        }
    }
    Ok(stopped)
}

/// One service as `vmpush local status` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceStatus {
    /// The service.
    pub service: Service,
    /// Whether its process (group) runs.
    pub running: bool,
}

/// What runs where.
pub fn status(layout: &Layout) -> Result<Vec<ServiceStatus>> {
    Ok(State::load(layout)?
        .services
        .into_iter()
        .map(|service| ServiceStatus {
            running: process::group_alive(service.pid),
            service,
        })
        .collect())
}

/// Wipes emulator state between tests: moto and the launcher's tables, every fake, and
/// Azurite (restarted on the same port, as it keeps its data in memory).
pub async fn reset(layout: &Layout) -> Result<State> {
    let mut state = State::load(layout)?;
    let client = control_client(&state)?;
    let post = |service: &str, url: String| {
        let client = client.clone();
        let service = service.to_string();
        async move {
            match client.post(&url).send().await {
                Ok(r) if r.status().is_success() => Ok(()),
                Ok(r) => ControlSnafu {
                    service,
                    message: format!("POST {url} answered {}", r.status()),
                }
                .fail(),
                Err(e) => ControlSnafu {
                    service,
                    message: format!("POST {url}: {e}"),
                }
                .fail(),
            }
        }
    };
    let urls: Vec<(String, String)> = state
        .services
        .iter()
        .flat_map(|s| match s.name.as_str() {
            "moto" => s
                .url("aws")
                .map(|u| vec![(s.name.clone(), format!("{u}/_local/reset"))])
                .unwrap_or_default(),
            "fakes" => s
                .urls
                .iter()
                .map(|(_, u)| (s.name.clone(), format!("{u}/_fake/reset")))
                .collect(),
            _ => Vec::new(),
        })
        .collect();
    for (service, url) in urls {
        post(&service, url).await?;
    }
    if let Some(index) = state.services.iter().position(|s| s.name == "azurite") {
        let old = state.services[index].clone();
        process::stop_group(old.pid, STOP_GRACE);
        let port = old
            .url("blob")
            .and_then(|u| u.strip_prefix("http://127.0.0.1:"))
            .and_then(|rest| rest.split('/').next())
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| Error::State {
                path: layout.state_file(),
                message: "the azurite service has no blob URL on 127.0.0.1".into(),
            })?;
        let (command, _, probe) = azurite(layout, port);
        let pid = process::spawn(command, &old.log)?;
        let service = Service { pid, ..old };
        wait_ready(&client, &service, &probe).await?;
        state.services[index] = service;
        state.save(layout)?;
    }
    resources::provision(layout, &state)?;
    Ok(state)
}
