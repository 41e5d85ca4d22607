//! What a running stack is: its services (PID, URL, log) and the environment clients use.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use snafu::ResultExt;

use crate::error::{IoSnafu, NotRunningSnafu, Result, StateSnafu};
use crate::layout::Layout;

/// One running service.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Service {
    /// `moto`, `fakes`, `azurite` or `lambda`.
    pub name: String,
    /// PID, also its process group id.
    pub pid: u32,
    /// Its base URLs, by role (`aws`, `rhsm`, `starmap`, `marketplace`, `blob`, `invoke`).
    pub urls: Vec<(String, String)>,
    /// Its log.
    pub log: PathBuf,
}

impl Service {
    /// The URL of a role.
    pub fn url(&self, role: &str) -> Option<&str> {
        self.urls
            .iter()
            .find(|(r, _)| r == role)
            .map(|(_, u)| u.as_str())
    }
}

/// The running stack.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct State {
    /// Services, in start order.
    pub services: Vec<Service>,
    /// Environment for clients (also written to `.local-stack/env`).
    pub env: Vec<(String, String)>,
    /// The options the stack was started with.
    #[serde(default)]
    pub options: String,
}

impl State {
    /// A service by name.
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name == name)
    }

    /// The value of an environment variable of the stack.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Reads the state of the stack at `layout`.
    pub fn load(layout: &Layout) -> Result<Self> {
        let path = layout.state_file();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return NotRunningSnafu { path }.fail();
            }
            Err(source) => {
                return Err(crate::Error::Io {
                    what: format!("read {}", path.display()),
                    source,
                });
            }
        };
        serde_json::from_str(&text).map_err(|e| {
            StateSnafu {
                path,
                message: e.to_string(),
            }
            .build()
        })
    }

    /// Writes the state and the env file.
    pub fn save(&self, layout: &Layout) -> Result<()> {
        write(
            &layout.state_file(),
            &serde_json::to_string_pretty(self).expect("state serialises"),
        )?;
        let exports: String = self
            .env
            .iter()
            .map(|(k, v)| format!("export {k}='{}'\n", v.replace('\'', "'\\''")))
            .collect();
        write(&layout.env_file(), &exports)
    }
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).context(IoSnafu {
        what: format!("write {}", path.display()),
    })
}
