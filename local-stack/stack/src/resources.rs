//! The cloud resources of the SAM template, created in moto after every start and reset by
//! `local-stack/provision.py` (one boto3 process, get-or-create): the staging bucket notifying
//! start-push of `drops/*/push.yaml`, the results bucket, the credentials secret, the
//! notification topic with an SQS queue subscribed to it (what a subscriber receives), every
//! function (invokes reach `cargo lambda watch`), the push and upload-flow state machines from
//! the very `statemachine/push.asl.json` and `statemachine/upload.asl.json` the template
//! deploys, with local substitutions, and the push
//! API (`POST /pushes`, `GET /pushes/{id}`, IAM auth) served by the moto launcher, and the
//! stack's four accounts ([`ACCOUNTS`]: three storage accounts, one per partition, and the
//! Marketplace seller `aws-na`) with their credentials file.

use std::process::Command;

use serde_json::json;
use snafu::{ResultExt, ensure};

use crate::error::{CommandSnafu, IoSnafu, Result, StateSnafu};
use crate::layout::Layout;
use crate::state::State;
use crate::{ACCOUNT, REGION, STAGING_BUCKET, STATE_MACHINE_NAME, UPLOAD_STATE_MACHINE_NAME};

/// The stack's AWS accounts: alias, moto account id and home region, one per partition. Each
/// gets an IAM user whose key moto maps to the account; their pubtools credentials documents
/// are written to [`Layout::credentials_file`] (`VMPUSH_LOCAL_CREDENTIALS`).
pub const ACCOUNTS: [(&str, &str, &str); 4] = [
    ("aws-us-storage", "111111111111", "us-east-1"),
    ("aws-na", "444444444444", "us-east-1"),
    ("aws-us-gov-storage", "222222222222", "us-gov-west-1"),
    ("aws-china-storage", "333333333333", "cn-north-1"),
];

/// The credentials secret (`VMPUSH_CREDENTIALS_SECRET`); it starts empty (`[]`).
pub const CREDENTIALS_SECRET: &str = "vmpush-credentials";

/// With RHSM over mutual TLS, the secret holding the client certificate, key and CA the fake
/// generated (`VMPUSH_RHSM_CERT_SECRET`), as the template's `RhsmCertificateSecretArn` does.
pub const RHSM_CERT_SECRET: &str = "vmpush-rhsm-certificate";

/// The results bucket (`VMPUSH_RESULTS_BUCKET`).
pub const RESULTS_BUCKET: &str = "vmpush-results";

/// The notification topic, and the SQS queue subscribed to it.
pub const NOTIFICATIONS: &str = "vmpush-notifications";

/// The push API's id (its URL is [`api_url`]) and stage.
pub const API_ID: &str = "vmpushapi";

/// The push API's stage, as the template's.
pub const API_STAGE: &str = "v1";

/// The push API's base URL on moto at `endpoint` (`VMPUSH_LOCAL_API_URL`).
pub fn api_url(endpoint: &str) -> String {
    format!("{endpoint}/restapis/{API_ID}/{API_STAGE}/_user_request_")
}

/// The functions: binary (and function) name, and the stem of its ASL substitution
/// (`${<stem>FunctionArn}`).
pub const FUNCTIONS: [(&str, &str); 13] = [
    ("vmpush-start-push", "StartPush"),
    ("vmpush-push-status", "PushStatus"),
    ("vmpush-resolve-mapping", "ResolveMapping"),
    ("vmpush-upload", "Upload"),
    ("vmpush-azure-upload", "AzureUpload"),
    ("vmpush-azure-publish", "AzurePublish"),
    ("vmpush-import-snapshot", "ImportSnapshot"),
    ("vmpush-copy-regions", "CopyRegions"),
    ("vmpush-publish", "Publish"),
    ("vmpush-marketplace-version", "MarketplaceVersion"),
    ("vmpush-rhsm-update", "RhsmUpdate"),
    ("vmpush-summarize", "Summarize"),
    ("vmpush-sns-notify", "SnsNotify"),
];

/// The state machine's settings on the local stack (the template's parameters): short polls,
/// the same time budget of two hours for imports.
pub const SETTINGS: [(&str, &str); 11] = [
    ("ImportPollSeconds", "1"),
    ("ImportMaxPolls", "7200"),
    ("CopyPollSeconds", "1"),
    ("CopyMaxPolls", "7200"),
    ("MarketplacePollSeconds", "1"),
    ("MarketplaceMaxPolls", "600"),
    ("AzurePollSeconds", "1"),
    ("AzureMaxPolls", "600"),
    ("MapConcurrency", "8"),
    ("PublicSnapshot", "false"),
    ("NotifyPerFailure", "false"),
];

/// The topic's ARN (`VMPUSH_TOPIC_ARN`).
pub fn topic_arn() -> String {
    format!("arn:aws:sns:{REGION}:{ACCOUNT}:{NOTIFICATIONS}")
}

/// A function's ARN.
pub fn function_arn(name: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}")
}

/// The stack variable holding the suffix of CloudFormation-style function names, when the
/// stack was started with them ([`crate::Options::cfn_function_names`]).
pub const FUNCTION_SUFFIX_VAR: &str = "VMPUSH_FUNCTION_SUFFIX";

/// The name the function of `binary` is deployed under: the binary's own (`vmpush-upload`),
/// or, with a suffix, the name CloudFormation gives a SAM function of the stack `vmpush`
/// (`vmpush-UploadFunction-<suffix>`).
pub fn deployed_name(binary: &str, suffix: Option<&str>) -> String {
    let Some(suffix) = suffix else {
        return binary.to_string();
    };
    let stem = FUNCTIONS
        .iter()
        .find(|(b, _)| *b == binary)
        .map_or(binary, |(_, stem)| stem);
    format!("vmpush-{stem}Function-{suffix}")
}

/// A random suffix as CloudFormation appends to physical names (12 upper-case letters and
/// digits).
pub fn function_suffix() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    (0..12)
        .map(|_| char::from(ALPHABET[fastrand::usize(..ALPHABET.len())]))
        .collect()
}

/// The launcher's map from deployed function names to the binaries serving them.
pub fn forward_map(suffix: Option<&str>) -> String {
    let map: serde_json::Map<String, serde_json::Value> = FUNCTIONS
        .iter()
        .map(|(binary, _)| (deployed_name(binary, suffix), json!(binary)))
        .collect();
    serde_json::Value::Object(map).to_string()
}

/// Replaces every `${Name}` of an ASL definition; a placeholder left without a value is an
/// error naming it (as `DefinitionSubstitutions` would leave it unresolved).
pub fn substitute(definition: &str, values: &[(String, String)]) -> Result<String, String> {
    let mut text = definition.to_string();
    for (name, value) in values {
        text = text.replace(&format!("${{{name}}}"), value);
    }
    match text.find("${") {
        Some(at) => {
            let name: String = text[at + 2..].chars().take_while(|c| *c != '}').collect();
            Err(format!("no value for the substitution ${{{name}}}"))
        }
        None => Ok(text),
    }
}

/// The substitutions of the local stack: every function's ARN (under its deployed name), the
/// Step Functions integrations (in the `aws` partition), the results bucket, the upload-flow
/// state machine's ARN and [`SETTINGS`].
pub fn local_substitutions(suffix: Option<&str>) -> Vec<(String, String)> {
    let flow =
        format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{UPLOAD_STATE_MACHINE_NAME}");
    FUNCTIONS
        .iter()
        .map(|(name, stem)| {
            let arn = function_arn(&deployed_name(name, suffix));
            (format!("{stem}FunctionArn"), arn)
        })
        .chain([
            (
                "StartExecutionSyncIntegration".to_string(),
                "arn:aws:states:::states:startExecution.sync:2".to_string(),
            ),
            (
                "S3GetObjectIntegration".to_string(),
                "arn:aws:states:::aws-sdk:s3:getObject".to_string(),
            ),
            (
                "S3PutObjectIntegration".to_string(),
                "arn:aws:states:::aws-sdk:s3:putObject".to_string(),
            ),
            ("ResultsBucket".to_string(), RESULTS_BUCKET.to_string()),
            ("UploadStateMachineArn".to_string(), flow),
        ])
        .chain(SETTINGS.iter().map(|(k, v)| (k.to_string(), v.to_string())))
        .collect()
}

/// The definition of `statemachine/<file>`, substituted for the local stack.
fn definition(layout: &Layout, file: &str, suffix: Option<&str>) -> Result<String> {
    let path = layout.root.join("statemachine").join(file);
    let asl = std::fs::read_to_string(&path).context(IoSnafu {
        what: format!("read {}", path.display()),
    })?;
    substitute(&asl, &local_substitutions(suffix)).map_err(|message| {
        StateSnafu {
            path: path.clone(),
            message,
        }
        .build()
    })
}

/// The RHSM client certificate secret's value (`{"certificate", "key", "ca"}`, the files the
/// fake generated), when RHSM runs over mutual TLS.
fn rhsm_certificate(state: &State) -> Result<Option<String>> {
    let (Some(certificate), Some(key), Some(ca)) = (
        state.var("RHSM_CERT"),
        state.var("RHSM_KEY"),
        state.var("VMPUSH_RHSM_CA"),
    ) else {
        return Ok(None);
    };
    let read = |path: &str| {
        std::fs::read_to_string(path).context(IoSnafu {
            what: format!("read {path}"),
        })
    };
    let value = json!({"certificate": read(certificate)?, "key": read(key)?, "ca": read(ca)?});
    Ok(Some(value.to_string()))
}

/// Writes `bytes` to `path`, readable by its owner only (it may hold a key).
fn private_file(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let what = || format!("write {}", path.display());
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(bytes))
        .context(IoSnafu { what: what() })
}

/// Creates the resources (get-or-create).
pub fn provision(layout: &Layout, state: &State) -> Result<()> {
    let log = layout.log("resources");
    let suffix = state.var(FUNCTION_SUFFIX_VAR);
    let name = |binary: &str| deployed_name(binary, suffix);
    let push = definition(layout, "push.asl.json", suffix)?;
    let flow = definition(layout, "upload.asl.json", suffix)?;
    let endpoint = state.var("AWS_ENDPOINT_URL").unwrap_or_default();
    let mut secrets = vec![json!({"name": CREDENTIALS_SECRET, "value": "[]"})];
    if let Some(certificate) = rhsm_certificate(state)? {
        secrets.push(json!({"name": RHSM_CERT_SECRET, "value": certificate, "replace": true}));
    }
    let spec = json!({
        "endpoint": endpoint, "region": REGION, "account": ACCOUNT, "role": "vmpush-local",
        "buckets": [STAGING_BUCKET, RESULTS_BUCKET],
        "secrets": secrets,
        "topics": [{"name": NOTIFICATIONS, "sqs_subscriber": NOTIFICATIONS}],
        "functions": FUNCTIONS.iter().map(|(binary, _)| json!({"name": name(binary), "timeout": 900})).collect::<Vec<_>>(),
        "notifications": [{"bucket": STAGING_BUCKET, "function": name("vmpush-start-push"),
                           "prefix": "drops/", "suffix": "push.yaml"}],
        "state_machines": [{"name": UPLOAD_STATE_MACHINE_NAME, "definition": flow},
                           {"name": STATE_MACHINE_NAME, "definition": push}],
        "apis": [{"name": "vmpush-push-api", "id": API_ID, "stage": API_STAGE, "routes": [
            {"method": "POST", "path": "/pushes", "function": name("vmpush-start-push")},
            {"method": "GET", "path": "/pushes/{id}", "function": name("vmpush-push-status")},
        ]}],
        "accounts": ACCOUNTS.iter().map(|(alias, id, region)| json!({"alias": alias, "id": id, "region": region})).collect::<Vec<_>>(),
        "credentials_file": layout.credentials_file(),
    });
    let spec_file = layout.dir.join("provision.json");
    private_file(&spec_file, spec.to_string().as_bytes())?;
    let mut command = Command::new(layout.venv_bin("python"));
    command
        .arg(layout.root.join("local-stack/provision.py"))
        .arg(&spec_file);
    let code = crate::process::run(command, &log)?;
    ensure!(
        code.is_none(),
        CommandSnafu {
            what: "provision.py (the template's resources)",
            code,
            log,
        }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_definition_gets_every_substitution_or_names_the_missing_one() {
        let asl = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../statemachine/push.asl.json"),
        )
        .unwrap();
        let text = substitute(&asl, &local_substitutions(None)).unwrap();
        let definition: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            definition["States"]["ResolveMapping"]["Resource"],
            "arn:aws:lambda:us-east-1:123456789012:function:vmpush-resolve-mapping"
        );
        assert_eq!(
            definition["States"]["Settings"]["Parameters"]["import_max_polls.$"],
            "States.StringToJson('7200')"
        );
        let partial: Vec<_> = local_substitutions(None)
            .into_iter()
            .filter(|(k, _)| k != "SummarizeFunctionArn")
            .collect();
        assert_eq!(
            substitute(&asl, &partial).unwrap_err(),
            "no value for the substitution ${SummarizeFunctionArn}"
        );
        // the upload flow: its steps' functions, the results bucket, the partition
        let flow = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../statemachine/upload.asl.json"),
        )
        .unwrap();
        let flow: serde_json::Value =
            serde_json::from_str(&substitute(&flow, &local_substitutions(None)).unwrap()).unwrap();
        assert_eq!(
            flow["States"]["LoadWork"]["Resource"],
            "arn:aws:states:::aws-sdk:s3:getObject"
        );
        assert_eq!(
            flow["States"]["LoadWork"]["Parameters"]["Bucket"],
            RESULTS_BUCKET
        );
        assert_eq!(
            definition["States"]["Pushes"]["Branches"][0]["States"]["Uploads"]["ItemProcessor"]["States"]
                ["UploadFlow"]["Parameters"]["StateMachineArn"],
            "arn:aws:states:us-east-1:123456789012:stateMachine:vmpush-push-upload"
        );
    }

    #[test]
    fn cloudformation_style_names_map_back_to_their_binaries() {
        assert_eq!(deployed_name("vmpush-upload", None), "vmpush-upload");
        assert_eq!(
            deployed_name("vmpush-upload", Some("3KX9Q2AB12CD")),
            "vmpush-UploadFunction-3KX9Q2AB12CD"
        );
        let suffix = function_suffix();
        assert_eq!(suffix.len(), 12);
        assert!(
            suffix
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        );
        let map: serde_json::Value = serde_json::from_str(&forward_map(Some("S"))).unwrap();
        assert_eq!(
            map["vmpush-ImportSnapshotFunction-S"],
            "vmpush-import-snapshot"
        );
        assert_eq!(map.as_object().unwrap().len(), FUNCTIONS.len());
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../statemachine/push.asl.json"),
        )
        .unwrap();
        let definition: serde_json::Value =
            serde_json::from_str(&substitute(&text, &local_substitutions(Some("S"))).unwrap())
                .unwrap();
        assert_eq!(
            definition["States"]["ResolveMapping"]["Resource"],
            "arn:aws:lambda:us-east-1:123456789012:function:vmpush-ResolveMappingFunction-S"
        );
    }
}
