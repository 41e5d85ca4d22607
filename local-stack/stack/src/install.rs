//! First-use installation of the emulators into `.local-stack/tools`, from the package
//! registries, at pinned versions. Idempotent: a marker records what was installed.

use std::process::Command;

use nix::fcntl::{Flock, FlockArg};
use snafu::ResultExt;

use crate::error::{CommandSnafu, Error, IoSnafu, MissingToolSnafu, Result};
use crate::layout::Layout;
use crate::process;

/// Python packages: moto (pinned: the launcher patches its internals), cargo-lambda and the
/// zig it links with, the AWS CLI (for scripts and smoke tests), and cfn-lint (the SAM
/// template's check).
pub const PYTHON_PACKAGES: [&str; 5] = [
    "moto[server]==5.2.5",
    "cargo-lambda==1.9.2",
    "ziglang==0.17.0",
    "awscli",
    "cfn-lint==1.58.0",
];

/// npm packages: Azurite, the Azure Storage emulator, and asl-validator (the state machine's
/// check).
pub const NPM_PACKAGES: [&str; 2] = ["azurite@3.37.0", "asl-validator@4.0.0"];

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn marker(layout: &Layout) -> std::path::PathBuf {
    layout.tools().join("installed.json")
}

fn wanted() -> String {
    serde_json::json!({"python": PYTHON_PACKAGES, "npm": NPM_PACKAGES}).to_string()
}

/// Whether the tools are installed at the pinned versions.
pub fn installed(layout: &Layout) -> bool {
    std::fs::read_to_string(marker(layout)).is_ok_and(|m| m.trim() == wanted())
        && layout.venv_bin("python").is_file()
        && layout.venv_bin("cargo-lambda").is_file()
        && layout.npm().join("node_modules/.bin/azurite-blob").exists()
        && layout
            .npm()
            .join("node_modules/.bin/asl-validator")
            .exists()
        && layout.venv_bin("cfn-lint").is_file()
}

/// Installs what is missing; `progress` tells the user what happens (installs take a minute).
pub fn ensure(layout: &Layout, progress: &dyn Fn(&str)) -> Result<()> {
    if installed(layout) {
        return Ok(());
    }
    std::fs::create_dir_all(layout.tools()).context(IoSnafu {
        what: "create .local-stack/tools",
    })?;
    // Two stacks (or two tests) may install at once: one does, the other waits and reuses it.
    let lock_path = layout.tools().join(".install.lock");
    let lock_file = std::fs::File::create(&lock_path).context(IoSnafu {
        what: format!("create {}", lock_path.display()),
    })?;
    let _lock =
        Flock::lock(lock_file, FlockArg::LockExclusive).map_err(|(_, errno)| Error::Io {
            what: format!("lock {}", lock_path.display()),
            source: std::io::Error::from(errno),
        })?;
    if installed(layout) {
        return Ok(());
    }
    for (tool, hint) in [
        (
            "python3",
            "install Python 3 with venv (Debian: apt-get install python3-venv)",
        ),
        (
            "npm",
            "install Node.js and npm (Debian: apt-get install npm)",
        ),
        ("cargo", "install the Rust toolchain"),
    ] {
        if !have(tool) {
            return MissingToolSnafu { tool, hint }.fail();
        }
    }
    std::fs::create_dir_all(layout.logs()).context(IoSnafu {
        what: "create .local-stack/logs",
    })?;
    let log = layout.log("install");
    if !layout.venv_bin("python").is_file() {
        progress("creating the Python environment");
        let mut venv = Command::new("python3");
        venv.args(["-m", "venv"]).arg(layout.venv());
        if let Some(code) = process::run(venv, &log)? {
            return CommandSnafu {
                what: "python3 -m venv",
                code,
                log,
            }
            .fail();
        }
    }
    progress(&format!("installing {}", PYTHON_PACKAGES.join(", ")));
    let mut pip = Command::new(layout.venv_bin("pip"));
    pip.args(["install", "--disable-pip-version-check", "--quiet"])
        .args(PYTHON_PACKAGES);
    if let Some(code) = process::run(pip, &log)? {
        return CommandSnafu {
            what: "pip install",
            code,
            log,
        }
        .fail();
    }
    progress(&format!("installing {}", NPM_PACKAGES.join(", ")));
    let mut npm = Command::new("npm");
    npm.args([
        "install",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
        "--prefix",
    ])
    .arg(layout.npm())
    .args(NPM_PACKAGES);
    if let Some(code) = process::run(npm, &log)? {
        return CommandSnafu {
            what: "npm install",
            code,
            log,
        }
        .fail();
    }
    std::fs::write(marker(layout), wanted()).context(IoSnafu {
        what: "write the install marker",
    })
}
