//! The deployable definitions pass their linters, as CI runs them: `asl-validator` on the
//! state machine (the very file the SAM template and the local stack deploy), `cfn-lint` and
//! checkov on the SAM template. Both come from the package registries with the local stack's tools.

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

    for machine in ["push", "upload"] {
        let mut asl = Command::new(layout.npm().join("node_modules/.bin/asl-validator"));
        asl.arg("--json-path")
            .arg(root.join(format!("statemachine/{machine}.asl.json")));
        let report = checked(asl);
        eprintln!("asl-validator {machine}: {report}");
    }

    let mut cfn = Command::new(layout.venv_bin("cfn-lint"));
    cfn.arg(root.join("infra/template.yaml"));
    checked(cfn);
}

/// checkov, in a virtual environment of its own (it pins an older boto3 than moto's).
fn checkov(layout: &Layout) -> std::path::PathBuf {
    const VERSION: &str = "checkov==3.3.30";
    let venv = layout.tools().join("checkov");
    let marker = venv.join("vmpush-installed");
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(VERSION) {
        let mut make = Command::new("python3");
        make.args(["-m", "venv"]).arg(&venv);
        checked(make);
        let mut pip = Command::new(venv.join("bin/pip"));
        pip.args(["install", "--quiet", "--disable-pip-version-check", VERSION]);
        checked(pip);
        std::fs::write(&marker, VERSION).unwrap();
    }
    venv.join("bin/checkov")
}

/// checkov finds no failed check in the template: each check it would fail is met, or
/// skipped in the template with a one-line reason.
#[test]
fn the_template_passes_checkov_with_every_skip_explained() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let layout = Layout::new(root);
    let mut scan = Command::new(checkov(&layout));
    scan.args([
        "--framework",
        "cloudformation",
        "--skip-download",
        "-o",
        "json",
        "-f",
    ])
    .arg(root.join("infra/template.yaml"));
    let out = scan.output().expect("checkov runs");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "checkov's report: {e}: {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    let summary = &report["summary"];
    assert_eq!(
        summary["failed"], 0,
        "{}",
        report["results"]["failed_checks"]
    );
    assert!(summary["passed"].as_u64().unwrap() > 50, "{summary}");
    for skipped in report["results"]["skipped_checks"].as_array().unwrap() {
        let reason = skipped["check_result"]["suppress_comment"]
            .as_str()
            .unwrap_or_default();
        assert!(
            reason.len() > 20 && !reason.contains('\n'),
            "{} on {}: {reason:?}",
            skipped["check_id"],
            skipped["resource"]
        );
    }
}

/// The template as YAML values (CloudFormation's short tags kept as tagged values).
fn template() -> serde_yaml_ng::Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let text = std::fs::read_to_string(root.join("infra/template.yaml")).unwrap();
    serde_yaml_ng::from_str(&text).unwrap()
}

/// Every function's source: its `main.rs` and the adapters it links.
fn sources() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut text = String::new();
    let mut dirs = vec![root.join("functions")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                text.push_str(&std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    text
}

/// `!Ref <name>` as the YAML parser sees it.
fn reference(value: &serde_yaml_ng::Value) -> Option<String> {
    match value {
        serde_yaml_ng::Value::Tagged(tagged) if tagged.tag == "Ref" => {
            tagged.value.as_str().map(str::to_string)
        }
        _ => None,
    }
}

/// The IAM actions a value (a policy, however nested in `!If`) allows, with the resources
/// they name (`!Ref` targets, or the text).
fn allowed(value: &serde_yaml_ng::Value, out: &mut Vec<(String, String)>) {
    match value {
        serde_yaml_ng::Value::Mapping(map) => {
            if let (Some(action), Some(resource)) = (map.get("Action"), map.get("Resource")) {
                let resource = reference(resource).unwrap_or_else(|| format!("{resource:?}"));
                let actions = match action {
                    serde_yaml_ng::Value::Sequence(list) => list.clone(),
                    one => vec![one.clone()],
                };
                for a in actions {
                    out.push((a.as_str().unwrap_or_default().to_string(), resource.clone()));
                }
            }
            map.values().for_each(|v| allowed(v, out));
        }
        serde_yaml_ng::Value::Sequence(list) => list.iter().for_each(|v| allowed(v, out)),
        serde_yaml_ng::Value::Tagged(tagged) => allowed(&tagged.value, out),
        _ => {}
    }
}

/// What the template gives each function: the variables the code reads, from the parameters
/// that mean them, with the permissions to use them. Every variable it sets is one some
/// function reads, so no parameter sets a variable nobody reads.
#[test]
fn each_function_gets_the_settings_and_permissions_its_code_uses() {
    let template = template();
    let resources = &template["Resources"];
    let code = sources();
    let mut set = Vec::new();
    for (name, resource) in resources.as_mapping().unwrap() {
        let variables = &resource["Properties"]["Environment"]["Variables"];
        for (variable, _) in variables.as_mapping().into_iter().flatten() {
            let variable = variable.as_str().unwrap().to_string();
            assert!(
                code.contains(&format!("\"{variable}\"")),
                "{name:?} sets {variable}, which no function reads"
            );
            set.push(variable);
        }
    }
    assert!(set.contains(&"VMPUSH_STARMAP_URL".to_string()));

    let acting = [
        "ResolveMappingFunction",
        "UploadFunction",
        "ImportSnapshotFunction",
        "CopyRegionsFunction",
        "PublishFunction",
    ];
    for (function, variables) in [
        (
            "ResolveMappingFunction",
            &[
                ("VMPUSH_CREDENTIALS_SECRET", "CredentialsSecretArn"),
                ("VMPUSH_RHSM_URL", "RhsmUrl"),
                ("VMPUSH_RHSM_CERT_SECRET", "RhsmCertificateSecretArn"),
                ("VMPUSH_STARMAP_URL", "StarmapUrl"),
            ][..],
        ),
        (
            "UploadFunction",
            &[("VMPUSH_CREDENTIALS_SECRET", "CredentialsSecretArn")],
        ),
        (
            "AzureUploadFunction",
            &[("VMPUSH_CREDENTIALS_SECRET", "CredentialsSecretArn")],
        ),
        (
            "AzurePublishFunction",
            &[
                ("VMPUSH_CREDENTIALS_SECRET", "CredentialsSecretArn"),
                ("VMPUSH_AZURE_INGESTION_URL", "AzureIngestionUrl"),
                ("VMPUSH_AZURE_LOGIN_URL", "AzureLoginUrl"),
            ],
        ),
        (
            "ImportSnapshotFunction",
            &[
                ("VMPUSH_CREDENTIALS_SECRET", "CredentialsSecretArn"),
                ("VMPUSH_VMIMPORT_ROLE", "VmImportRoleName"),
            ],
        ),
        (
            "CopyRegionsFunction",
            &[("VMPUSH_CREDENTIALS_SECRET", "CredentialsSecretArn")],
        ),
        (
            "PublishFunction",
            &[("VMPUSH_CREDENTIALS_SECRET", "CredentialsSecretArn")],
        ),
        (
            "RhsmUpdateFunction",
            &[
                ("VMPUSH_RHSM_URL", "RhsmUrl"),
                ("VMPUSH_RHSM_CERT_SECRET", "RhsmCertificateSecretArn"),
            ],
        ),
    ] {
        let properties = &resources[function]["Properties"];
        for (variable, parameter) in variables {
            assert_eq!(
                reference(&properties["Environment"]["Variables"][*variable]).as_deref(),
                Some(*parameter),
                "{function} {variable}"
            );
        }
        let mut grants = Vec::new();
        allowed(&properties["Policies"], &mut grants);
        let grant = |action: &str, resource: &str| (action.to_string(), resource.to_string());
        for (_, parameter) in variables.iter().filter(|(_, p)| p.ends_with("SecretArn")) {
            assert!(
                grants.contains(&grant("secretsmanager:GetSecretValue", parameter)),
                "{function} reads {parameter}: {grants:?}"
            );
            assert!(
                grants.contains(&grant("kms:Decrypt", "SecretsKmsKeyArn")),
                "{function}"
            );
        }
        assert_eq!(
            grants.contains(&grant("sts:AssumeRole", "AssumeRoleArns")),
            acting.contains(&function),
            "{function} acts for accounts: {grants:?}"
        );
    }

    // VM Import's role: its documented trust, and imports may pass it
    let role = &resources["VmImportRole"]["Properties"];
    let trust = &role["AssumeRolePolicyDocument"]["Statement"][0];
    assert_eq!(
        trust["Principal"]["Service"].as_str(),
        Some("vmie.amazonaws.com")
    );
    assert_eq!(
        trust["Condition"]["StringEquals"]["sts:Externalid"].as_str(),
        Some("vmimport")
    );
    let mut grants = Vec::new();
    allowed(
        &resources["ImportSnapshotFunction"]["Properties"]["Policies"],
        &mut grants,
    );
    assert!(
        grants
            .iter()
            .any(|(a, r)| a == "iam:PassRole" && r.contains("VmImportRoleName")),
        "{grants:?}"
    );
}
