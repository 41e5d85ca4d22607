//! The cloud resources the functions expect, created in moto after every start and reset, as
//! the SAM template creates them in AWS.

use std::process::Command;

use snafu::ensure;

use crate::error::{CommandSnafu, Result};
use crate::layout::Layout;
use crate::state::State;

/// The credentials secret (`VMPUSH_CREDENTIALS_SECRET`); it starts empty (`[]`).
pub const CREDENTIALS_SECRET: &str = "vmpush-credentials";

/// Creates the resources with the AWS CLI of the stack.
pub fn provision(layout: &Layout, state: &State) -> Result<()> {
    let log = layout.log("resources");
    let mut create = Command::new(layout.venv_bin("aws"));
    create
        .args([
            "secretsmanager",
            "create-secret",
            "--name",
            CREDENTIALS_SECRET,
            "--secret-string",
            "[]",
        ])
        .envs(state.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let code = crate::process::run(create, &log)?;
    ensure!(
        code.is_none(),
        CommandSnafu {
            what: format!("creating the secret {CREDENTIALS_SECRET}"),
            code,
            log,
        }
    );
    Ok(())
}
