//! `vmpush`: publish staged VM images to public clouds. This binary only parses arguments
//! and calls the library; `main` prints an error's one-line `Display` and exits 1 (usage
//! errors exit 2, as clap's do).

mod flags;
mod local;
mod plan;
mod push;
mod report;
mod stack;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// Publish staged VM images (AMIs, Azure VHDs) to public clouds.
#[derive(Debug, Parser)]
#[command(name = "vmpush", version, about, args_override_self = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show what a push would do, without doing anything: every image, destination and name.
    Plan(Box<plan::Args>),
    /// Push staged images: write them as a drop, follow each destination, print the result.
    Push(Box<push::Args>),
    /// Show (and follow) a push: each destination's step, then its result.
    Status(push::StatusArgs),
    /// Run the local cloud stack (moto, cargo lambda watch, Azurite, fakes) on 127.0.0.1.
    Local(local::Args),
}

/// How a command failed.
#[derive(Debug)]
pub enum Failure {
    /// Bad command-line usage: exit 2 with clap's usage text.
    Usage(String),
    /// Bad input or a failing service: exit 1 with one line.
    Input(String),
}

impl From<vmpush_domain::Error> for Failure {
    fn from(e: vmpush_domain::Error) -> Self {
        Failure::Input(e.to_string())
    }
}

impl From<vmpush_cloud::push_api::ApiError> for Failure {
    fn from(e: vmpush_cloud::push_api::ApiError) -> Self {
        if e.is_usage() {
            Failure::Usage(e.to_string())
        } else {
            Failure::Input(e.to_string())
        }
    }
}

impl From<vmpush_domain::steps::StepError> for Failure {
    fn from(e: vmpush_domain::steps::StepError) -> Self {
        Failure::Input(e.message)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let debug = match &cli.command {
        Command::Plan(args) => args.pubtools.debug,
        Command::Push(args) => args.pubtools.debug,
        Command::Status(_) | Command::Local(_) => 0,
    };
    let filter = flags::log_filter(debug).unwrap_or("warn");
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("VMPUSH_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter)),
        )
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(debug > 0)
        .without_time()
        .init();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Plan(args) => plan::run(*args).await,
            Command::Push(args) => push::run(*args).await,
            Command::Status(args) => push::status(args).await,
            Command::Local(args) => local::run(args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(Failure::Usage(message)) => {
            Cli::command()
                .error(clap::error::ErrorKind::ArgumentConflict, message)
                .exit();
        }
        Err(Failure::Input(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
