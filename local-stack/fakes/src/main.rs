//! `vmpush-fakes`: serves the RHSM, StArMap, Marketplace Catalog and Partner Center fakes on
//! 127.0.0.1.
//! Prints one JSON line with the bound ports once every listener is up.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use vmpush_fakes::control::FaultConfig;
use vmpush_fakes::{marketplace, partner, rhsm, starmap, tls};

/// Fakes of RHSM, StArMap, the AWS Marketplace Catalog and Partner Center, for local runs and tests.
#[derive(Debug, Parser)]
#[command(name = "vmpush-fakes", version)]
struct Args {
    /// RHSM port (0: any free port).
    #[arg(long, default_value_t = 0)]
    rhsm_port: u16,
    /// StArMap port (0: any free port).
    #[arg(long, default_value_t = 0)]
    starmap_port: u16,
    /// Marketplace Catalog port (0: any free port).
    #[arg(long, default_value_t = 0)]
    marketplace_port: u16,
    /// Partner Center (token endpoint and Product Ingestion API) port (0: any free port).
    #[arg(long, default_value_t = 0)]
    partner_port: u16,
    /// Status calls a Partner Center configure job stays running for.
    #[arg(long, default_value_t = 2)]
    job_polls: u32,
    /// RHSM products: a JSON list of {"name", "providerShortName"} (default: RHEL, SAP, RHEL_HA...).
    #[arg(long)]
    rhsm_products: Option<PathBuf>,
    /// Folder of StArMap mappings (`<name>.yaml`, `<name>/<version>.yaml`).
    #[arg(long, default_value = ".")]
    starmap_dir: PathBuf,
    /// Marketplace entities: a JSON/YAML mapping id → {"EntityType", "DetailsDocument"}.
    #[arg(long)]
    marketplace_entities: Option<PathBuf>,
    /// DescribeChangeSet calls a change set stays open for.
    #[arg(long, default_value_t = 2)]
    changeset_polls: u32,
    /// Probability of an injected fault per request (0..1).
    #[arg(long, default_value_t = 0.0)]
    fault_rate: f64,
    /// Seed of the fault injection.
    #[arg(long, default_value_t = 0)]
    fault_seed: u64,
    /// Serve RHSM over mutual TLS with the CA and server certificate of this folder (generated,
    /// with a client certificate, when it has no ca.pem).
    #[arg(long)]
    rhsm_tls_dir: Option<PathBuf>,
    /// Also write the ports JSON to this file.
    #[arg(long)]
    ports_file: Option<PathBuf>,
}

fn read_yaml(path: &PathBuf) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_yaml_ng::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

async fn run(args: Args) -> Result<(), String> {
    let faults = FaultConfig {
        rate: args.fault_rate,
        seed: args.fault_seed,
        ..FaultConfig::default()
    };
    let products = match &args.rhsm_products {
        Some(p) => {
            serde_json::from_value(read_yaml(p)?).map_err(|e| format!("{}: {e}", p.display()))?
        }
        None => rhsm::default_products(),
    };
    let mut mp_config = marketplace::MarketplaceConfig {
        changeset_polls: args.changeset_polls,
        ..Default::default()
    };
    if let Some(p) = &args.marketplace_entities {
        let entities: Map<String, Value> =
            serde_json::from_value(read_yaml(p)?).map_err(|e| format!("{}: {e}", p.display()))?;
        mp_config.entities.extend(entities);
    }
    let bind = |port: u16| async move {
        TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))
            .await
            .map_err(|e| format!("cannot bind 127.0.0.1:{port}: {e}"))
    };
    let mut ports = Map::new();
    let mut tasks = Vec::new();
    let rhsm_router = rhsm::router(products, faults.clone());
    match &args.rhsm_tls_dir {
        Some(dir) => {
            let files = tls::ensure(dir)?;
            let config = tls::server_config(&files)?;
            let listener =
                std::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], args.rhsm_port)))
                    .map_err(|e| format!("cannot bind 127.0.0.1:{}: {e}", args.rhsm_port))?;
            ports.insert(
                "rhsm".into(),
                json!(listener.local_addr().map_err(|e| e.to_string())?.port()),
            );
            ports.insert("rhsm_tls".into(), json!({"ca": files.ca, "client_cert": files.client_cert, "client_key": files.client_key}));
            tasks.push(tokio::spawn(tls::serve(listener, rhsm_router, config)));
        }
        None => {
            let listener = bind(args.rhsm_port).await?;
            ports.insert(
                "rhsm".into(),
                json!(listener.local_addr().map_err(|e| e.to_string())?.port()),
            );
            tasks.push(tokio::spawn(async move {
                axum::serve(listener, rhsm_router).await
            }));
        }
    }
    let plain = [
        (
            "starmap",
            bind(args.starmap_port).await?,
            starmap::router(args.starmap_dir.clone(), faults.clone()),
        ),
        (
            "marketplace",
            bind(args.marketplace_port).await?,
            marketplace::router(mp_config, faults.clone()),
        ),
        (
            "partner",
            bind(args.partner_port).await?,
            partner::router(
                partner::PartnerConfig {
                    job_polls: args.job_polls,
                },
                faults,
            ),
        ),
    ];
    for (name, listener, router) in plain {
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        ports.insert(name.into(), json!(port));
        tasks.push(tokio::spawn(
            async move { axum::serve(listener, router).await },
        ));
    }
    let line = Value::Object(ports).to_string();
    if let Some(path) = &args.ports_file {
        std::fs::write(path, format!("{line}\n"))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    println!("{line}");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => Ok(()),
        _ = terminate() => Ok(()),
        result = first_failure(tasks) => result,
    }
}

async fn terminate() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut s) => {
            s.recv().await;
        }
        Err(_) => std::future::pending().await,
    }
}

/// Resolves when the first server stops (it only does on error).
async fn first_failure(
    tasks: Vec<tokio::task::JoinHandle<std::io::Result<()>>>,
) -> Result<(), String> {
    for task in tasks {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e.to_string()),
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
