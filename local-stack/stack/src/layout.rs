//! Where the local stack keeps things: everything lives in `<workspace>/.local-stack/`
//! (ignored by git), so a clone stays clean and `rm -rf .local-stack` starts over.

use std::path::{Path, PathBuf};

/// The paths of a local stack rooted at a workspace.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The workspace root (holds `Cargo.toml` and `local-stack/`).
    pub root: PathBuf,
    /// Where a running stack keeps its state, env file and logs (`<root>/.local-stack`).
    pub dir: PathBuf,
    tools: PathBuf,
}

impl Layout {
    /// The layout of the workspace at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        Layout {
            dir: root.join(".local-stack"),
            tools: root.join(".local-stack/tools"),
            root,
        }
    }

    /// The same workspace and tools, with state kept in `dir`: a second, independent stack
    /// (the end-to-end tests use one so they never touch a developer's running stack).
    pub fn with_state_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = dir.into();
        self
    }

    /// Finds the workspace from `start` upwards (the folder holding `local-stack/moto_local.py`).
    pub fn discover(start: &Path) -> Option<Self> {
        start
            .ancestors()
            .find(|dir| {
                dir.join("local-stack/moto_local.py").is_file() && dir.join("Cargo.toml").is_file()
            })
            .map(Layout::new)
    }

    /// Installed tools.
    pub fn tools(&self) -> PathBuf {
        self.tools.clone()
    }

    /// The Python virtual environment (moto, cargo-lambda, ziglang, awscli).
    pub fn venv(&self) -> PathBuf {
        self.tools().join("venv")
    }

    /// A program of the virtual environment.
    pub fn venv_bin(&self, name: &str) -> PathBuf {
        self.venv().join("bin").join(name)
    }

    /// The npm prefix (Azurite).
    pub fn npm(&self) -> PathBuf {
        self.tools().join("npm")
    }

    /// Service logs.
    pub fn logs(&self) -> PathBuf {
        self.dir.join("logs")
    }

    /// The log of one service or step.
    pub fn log(&self, name: &str) -> PathBuf {
        self.logs().join(format!("{name}.log"))
    }

    /// What runs where (PIDs, ports).
    pub fn state_file(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    /// Shell `export` lines for clients.
    pub fn env_file(&self) -> PathBuf {
        self.dir.join("env")
    }

    /// The pubtools credentials documents of the stack's accounts (a JSON array; owner-only).
    pub fn credentials_file(&self) -> PathBuf {
        self.dir.join("credentials.json")
    }

    /// The StArMap fake's mapping folder (seeded from `local-stack/starmap/`).
    pub fn starmap_dir(&self) -> PathBuf {
        self.dir.join("starmap")
    }

    /// The moto launcher script.
    pub fn launcher(&self) -> PathBuf {
        self.root.join("local-stack/moto_local.py")
    }

    /// A workspace binary built in the dev profile.
    pub fn binary(&self, name: &str) -> PathBuf {
        self.profile_binary("dev", name)
    }

    /// A workspace binary built with a cargo profile (`dev`, `release` or a custom one).
    pub fn profile_binary(&self, profile: &str, name: &str) -> PathBuf {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| self.root.join("target"));
        let dir = match profile {
            "dev" | "test" => "debug",
            "bench" => "release",
            other => other,
        };
        target.join(dir).join(name)
    }
}
