//! The deployable definitions pass their linters, as CI runs them: `asl-validator` on the
//! state machine (the very file the SAM template and the local stack deploy) and `cfn-lint` on
//! the SAM template. Both come from the package registries with the local stack's tools.

use std::path::Path;
use std::process::Command;

use vmpush_local::{Layout, install_tools};

fn checked(mut command: Command) -> String {
    let out = command.output().expect("the linter runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{command:?}:\n{text}");
    text
}

#[test]
fn the_state_machine_and_the_template_pass_their_linters() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let layout = Layout::new(root);
    install_tools(&layout, &|m| eprintln!("tools: {m}")).expect("the tools install");

    let mut asl = Command::new(layout.npm().join("node_modules/.bin/asl-validator"));
    asl.arg("--json-path")
        .arg(root.join("statemachine/push.asl.json"));
    let report = checked(asl);
    eprintln!("asl-validator: {report}");

    let mut cfn = Command::new(layout.venv_bin("cfn-lint"));
    cfn.arg(root.join("infra/template.yaml"));
    checked(cfn);
}
