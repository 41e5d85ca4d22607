//! The cloud resources the functions expect, created in moto after every start and reset, as
//! the SAM template creates them in AWS: the results bucket, the credentials secret, and the
//! notification topic with an SQS queue subscribed to it (what a subscriber receives).

use std::process::Command;

use snafu::ensure;

use crate::error::{CommandSnafu, Result};
use crate::layout::Layout;
use crate::state::State;
use crate::{ACCOUNT, REGION};

/// The credentials secret (`VMPUSH_CREDENTIALS_SECRET`); it starts empty (`[]`).
pub const CREDENTIALS_SECRET: &str = "vmpush-credentials";

/// The results bucket (`VMPUSH_RESULTS_BUCKET`).
pub const RESULTS_BUCKET: &str = "vmpush-results";

/// The notification topic, and the SQS queue subscribed to it.
pub const NOTIFICATIONS: &str = "vmpush-notifications";

/// The topic's ARN (`VMPUSH_TOPIC_ARN`).
pub fn topic_arn() -> String {
    format!("arn:aws:sns:{REGION}:{ACCOUNT}:{NOTIFICATIONS}")
}

/// Creates the resources with the AWS CLI of the stack.
pub fn provision(layout: &Layout, state: &State) -> Result<()> {
    let log = layout.log("resources");
    let queue_arn = format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{NOTIFICATIONS}");
    let topic = topic_arn();
    let calls: [&[&str]; 5] = [
        &["s3api", "create-bucket", "--bucket", RESULTS_BUCKET],
        &[
            "secretsmanager",
            "create-secret",
            "--name",
            CREDENTIALS_SECRET,
            "--secret-string",
            "[]",
        ],
        &["sns", "create-topic", "--name", NOTIFICATIONS],
        &["sqs", "create-queue", "--queue-name", NOTIFICATIONS],
        &[
            "sns",
            "subscribe",
            "--topic-arn",
            &topic,
            "--protocol",
            "sqs",
            "--notification-endpoint",
            &queue_arn,
        ],
    ];
    let endpoint = state
        .env
        .iter()
        .find(|(k, _)| k == "AWS_ENDPOINT_URL")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    for args in calls {
        let mut command = Command::new(layout.venv_bin("aws"));
        command
            .args(args)
            // the AWS CLI v1 ignores AWS_ENDPOINT_URL for SQS
            .args(["--endpoint-url", &endpoint])
            .envs(state.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let code = crate::process::run(command, &log)?;
        ensure!(
            code.is_none(),
            CommandSnafu {
                what: format!("aws {}", args.join(" ")),
                code,
                log: log.clone(),
            }
        );
    }
    Ok(())
}
