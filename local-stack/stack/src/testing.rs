//! Test support (feature `testing`): a stack of its own per test, in a temporary state
//! folder (sharing the installed tools), stopped when the test ends however it ends, and
//! helpers to drive it with the AWS CLI the stack installs.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{Layout, Options, State};

/// A running stack owned by a test; dropping it stops every process it started.
pub struct TestStack {
    /// Its layout (workspace tools, temporary state).
    pub layout: Layout,
    /// What runs where.
    pub state: State,
    _scratch: tempfile::TempDir,
}

impl TestStack {
    /// Starts a stack for the workspace at `root`.
    pub async fn up(root: &Path, options: &Options) -> TestStack {
        let scratch = tempfile::tempdir().expect("a temporary folder");
        let layout = Layout::new(root).with_state_dir(scratch.path().join("stack"));
        let state = crate::up(&layout, options, &|m| eprintln!("test stack: {m}"))
            .await
            .expect("the local stack starts");
        TestStack {
            layout,
            state,
            _scratch: scratch,
        }
    }

    /// A variable of the stack's environment.
    pub fn var(&self, name: &str) -> &str {
        self.state
            .var(name)
            .unwrap_or_else(|| panic!("the stack sets {name}"))
    }

    /// A scratch folder that lives as long as the stack.
    pub fn scratch(&self) -> &Path {
        self._scratch.path()
    }

    /// Runs the AWS CLI with the stack's environment.
    pub fn aws_run(&self, args: &[&str]) -> Output {
        self.aws_run_as(None, args)
    }

    /// Runs the AWS CLI with the stack's environment, signing with `keys` (access key id,
    /// secret) when given, else with the stack's own.
    fn aws_run_as(&self, keys: Option<(&str, &str)>, args: &[&str]) -> Output {
        let path = format!(
            "{}:{}",
            self.layout.venv().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut command = Command::new(self.layout.venv_bin("aws"));
        command
            .args(args)
            .args(["--output", "json"])
            .envs(self.state.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("PATH", path);
        if let Some((key, secret)) = keys {
            command
                .env("AWS_ACCESS_KEY_ID", key)
                .env("AWS_SECRET_ACCESS_KEY", secret);
        }
        command.output().expect("the AWS CLI runs")
    }

    /// Runs the AWS CLI, which must succeed; returns its JSON output (`null` when empty).
    pub fn aws(&self, args: &[&str]) -> Value {
        self.aws_as(None, args)
    }

    /// Runs the AWS CLI as the account of `keys` (access key id, secret; `None`: the stack's
    /// own), which must succeed; returns its JSON output (`null` when empty).
    pub fn aws_as(&self, keys: Option<(&str, &str)>, args: &[&str]) -> Value {
        let out = self.aws_run_as(keys, args);
        assert!(
            out.status.success(),
            "aws {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if out.stdout.iter().all(u8::is_ascii_whitespace) {
            return Value::Null;
        }
        serde_json::from_slice(&out.stdout).expect("the AWS CLI prints JSON")
    }

    /// An object's bytes, read with the AWS CLI.
    pub fn object(&self, bucket: &str, key: &str) -> Vec<u8> {
        let file = self
            .scratch()
            .join(format!("object-{}", key.replace('/', "_")));
        self.aws(&[
            "s3api",
            "get-object",
            "--bucket",
            bucket,
            "--key",
            key,
            file.to_str().expect("a UTF-8 path"),
        ]);
        std::fs::read(file).expect("the downloaded object")
    }

    /// The SNS envelopes the notification topic's SQS subscriber received since the last
    /// call (they are deleted from the queue).
    pub fn notifications(&self) -> Vec<Value> {
        // the AWS CLI v1 ignores AWS_ENDPOINT_URL for SQS
        let endpoint = self.var("AWS_ENDPOINT_URL");
        let sqs = |args: &[&str]| self.aws(&[&["sqs", "--endpoint-url", endpoint], args].concat());
        let queue = sqs(&["get-queue-url", "--queue-name", crate::NOTIFICATIONS]);
        let url = queue["QueueUrl"].as_str().expect("the queue's URL");
        let received = sqs(&[
            "receive-message",
            "--queue-url",
            url,
            "--max-number-of-messages",
            "10",
            "--wait-time-seconds",
            "2",
        ]);
        let messages = received["Messages"].as_array().cloned().unwrap_or_default();
        messages
            .iter()
            .map(|m| {
                sqs(&[
                    "delete-message",
                    "--queue-url",
                    url,
                    "--receipt-handle",
                    m["ReceiptHandle"].as_str().expect("a receipt handle"),
                ]);
                serde_json::from_str(m["Body"].as_str().expect("a body")).expect("an SNS envelope")
            })
            .collect()
    }

    /// A client for the stack's services (with RHSM's client certificate over mutual TLS).
    fn client(&self) -> reqwest::Client {
        crate::control_client(&self.state).expect("the stack's client")
    }

    /// GETs a JSON document from one of the stack's services.
    pub async fn get_json(&self, url: &str) -> Value {
        self.client()
            .get(url)
            .send()
            .await
            .expect("the stack answers")
            .json()
            .await
            .expect("JSON")
    }

    /// The name the function of a binary (`vmpush-upload`) is deployed under on this stack.
    pub fn function(&self, binary: &str) -> String {
        crate::deployed_name(binary, self.state.var(crate::FUNCTION_SUFFIX_VAR))
    }

    /// The ARN of the function of a binary, as the stack registered it (invokes reach the
    /// workspace binary through `cargo lambda watch`).
    pub fn function_arn(&self, binary: &str) -> String {
        let name = self.function(binary);
        let function = self.aws(&["lambda", "get-function", "--function-name", &name]);
        function["Configuration"]["FunctionArn"]
            .as_str()
            .expect("a function ARN")
            .to_string()
    }

    /// The AWS requests moto served since the last clear (service, region, action, status).
    pub async fn aws_requests(&self) -> Vec<Value> {
        let url = format!("{}/_local/requests", self.var("AWS_ENDPOINT_URL"));
        match self.get_json(&url).await {
            Value::Array(requests) => requests,
            other => panic!("{url}: {other}"),
        }
    }

    /// How many requests of each action moto served successfully since the last clear.
    pub async fn aws_counts(&self, actions: &[&str]) -> Vec<usize> {
        let requests = self.aws_requests().await;
        actions
            .iter()
            .map(|a| {
                requests
                    .iter()
                    .filter(|r| r["action"] == *a && r["status"].as_u64().is_some_and(|s| s < 300))
                    .count()
            })
            .collect()
    }

    /// Clears moto's request log.
    pub async fn clear_aws_requests(&self) {
        self.send(
            reqwest::Method::DELETE,
            &format!("{}/_local/requests", self.var("AWS_ENDPOINT_URL")),
            None,
        )
        .await;
    }

    /// Configures moto's fault injection (`{"rate": 0}` turns it off).
    pub async fn aws_faults(&self, faults: &Value) {
        self.send(
            reqwest::Method::POST,
            &format!("{}/_local/faults", self.var("AWS_ENDPOINT_URL")),
            Some(faults),
        )
        .await;
    }

    /// Configures the launcher's function kills (`{"rules": []}` turns them off).
    pub async fn kills(&self, kills: &Value) {
        self.send(
            reqwest::Method::POST,
            &format!("{}/_local/kills", self.var("AWS_ENDPOINT_URL")),
            Some(kills),
        )
        .await;
    }

    /// The function invokes the launcher forwarded since the last clear (function, payload,
    /// error, result; `killed` for the ones it killed).
    pub async fn invocations(&self) -> Vec<Value> {
        let url = format!("{}/_local/invocations", self.var("AWS_ENDPOINT_URL"));
        match self.get_json(&url).await {
            Value::Array(invocations) => invocations,
            other => panic!("{url}: {other}"),
        }
    }

    /// Configures the RHSM fake's fault injection (`{"rate": 0}` turns it off; `methods`
    /// limits it, e.g. to writes).
    pub async fn rhsm_faults(&self, faults: &Value) {
        self.send(
            reqwest::Method::POST,
            &format!("{}/_fake/faults", self.var("VMPUSH_RHSM_URL")),
            Some(faults),
        )
        .await;
    }

    /// The requests the RHSM fake received since the last clear (method, path, body, status).
    pub async fn rhsm_requests(&self) -> Vec<Value> {
        let url = format!("{}/_fake/requests", self.var("VMPUSH_RHSM_URL"));
        match self.get_json(&url).await {
            Value::Array(requests) => requests,
            other => panic!("{url}: {other}"),
        }
    }

    /// The requests the RHSM fake received that were not `GET`s.
    pub async fn rhsm_writes(&self) -> Vec<Value> {
        let mut requests = self.rhsm_requests().await;
        requests.retain(|r| r["method"] != "GET");
        requests
    }

    /// Clears the RHSM fake's request log.
    pub async fn clear_rhsm_requests(&self) {
        self.send(
            reqwest::Method::DELETE,
            &format!("{}/_fake/requests", self.var("VMPUSH_RHSM_URL")),
            None,
        )
        .await;
    }

    /// The requests the Marketplace Catalog fake received since its last reset (method, path,
    /// query, body, status, signer).
    pub async fn marketplace_requests(&self) -> Vec<Value> {
        let url = format!("{}/_fake/requests", self.var("VMPUSH_MARKETPLACE_URL"));
        match self.get_json(&url).await {
            Value::Array(requests) => requests,
            other => panic!("{url}: {other}"),
        }
    }

    /// The `StartChangeSet` bodies the Marketplace fake accepted since its last reset.
    pub async fn started_change_sets(&self) -> Vec<Value> {
        let mut requests = self.marketplace_requests().await;
        requests.retain(|r| r["path"] == "/StartChangeSet" && r["status"] == 200);
        requests.into_iter().map(|r| r["body"].clone()).collect()
    }

    /// Posts to one of the Marketplace fake's controls: `entities/<id>` (PUT), `lock`,
    /// `fail`, `reset` (see the fake).
    pub async fn marketplace_control(&self, control: &str, body: &Value) {
        let method = if control.starts_with("entities/") {
            reqwest::Method::PUT
        } else {
            reqwest::Method::POST
        };
        let url = format!("{}/_fake/{control}", self.var("VMPUSH_MARKETPLACE_URL"));
        self.send(method, &url, Some(body)).await;
    }

    /// The requests the Partner Center fake received since its last reset (SAS signatures
    /// redacted).
    pub async fn partner_requests(&self) -> Vec<Value> {
        let url = format!("{}/_fake/requests", self.var("VMPUSH_PARTNER_URL"));
        match self.get_json(&url).await {
            Value::Array(requests) => requests,
            other => panic!("{url}: {other}"),
        }
    }

    /// The bodies of the `POST /configure` calls Partner Center accepted since its last reset.
    pub async fn partner_configures(&self) -> Vec<Value> {
        let mut requests = self.partner_requests().await;
        requests.retain(|r| r["path"] == "/rp/product-ingestion/configure" && r["status"] == 202);
        requests.into_iter().map(|r| r["body"].clone()).collect()
    }

    /// Posts to one of the Partner Center fake's controls (`running`, `certification`,
    /// `draft-change`, `reset`), or with a `DELETE` of `requests` clears its log.
    pub async fn partner_control(&self, control: &str, body: &Value) {
        let url = format!("{}/_fake/{control}", self.var("VMPUSH_PARTNER_URL"));
        if control == "requests" {
            self.send(reqwest::Method::DELETE, &url, None).await;
        } else {
            self.send(reqwest::Method::POST, &url, Some(body)).await;
        }
    }

    async fn send(&self, method: reqwest::Method, url: &str, body: Option<&Value>) {
        let mut request = self.client().request(method.clone(), url);
        if let Some(body) = body {
            request = request.json(body);
        }
        let status = request.send().await.expect("the stack answers").status();
        assert!(status.is_success(), "{method} {url}: {status}");
    }

    /// Registers a workspace binary the stack does not register itself (a test function);
    /// returns its ARN.
    pub fn create_function(&self, name: &str) -> String {
        let zip = self.scratch().join(format!("{name}.zip"));
        let status = Command::new(self.layout.venv_bin("python"))
            .args(["-c", "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1], 'w'); z.writestr('bootstrap', 'x'); z.close()"])
            .arg(&zip)
            .status()
            .expect("python runs");
        assert!(status.success());
        let function = self.aws(&[
            "lambda",
            "create-function",
            "--function-name",
            name,
            "--runtime",
            "provided.al2023",
            "--role",
            &format!("arn:aws:iam::{}:role/vmpush-local", crate::ACCOUNT),
            "--handler",
            "bootstrap",
            "--timeout",
            "900",
            "--zip-file",
            &format!("fileb://{}", zip.display()),
        ]);
        function["FunctionArn"]
            .as_str()
            .expect("a function ARN")
            .to_string()
    }

    /// Invokes a function through moto (as Step Functions and S3 notifications do); returns
    /// the function error label, if any, and the payload it answered.
    pub fn invoke(&self, binary: &str, payload: &Value) -> (Option<String>, Value) {
        let out = self.scratch().join(format!("{binary}-out.json"));
        // from a file: a payload can be longer than one argument may be
        let event = self.scratch().join(format!("{binary}-event.json"));
        std::fs::write(&event, payload.to_string()).expect("the event is written");
        let function = self.function(binary);
        let result = self.aws(&[
            "lambda",
            "invoke",
            "--function-name",
            &function,
            "--payload",
            &format!("fileb://{}", event.display()),
            // no read timeout: the CLI would retry a long invoke, running the function twice
            "--cli-read-timeout",
            "0",
            out.to_str().expect("a UTF-8 path"),
        ]);
        let body =
            serde_json::from_slice(&std::fs::read(&out).expect("the invoke output")).expect("JSON");
        (result["FunctionError"].as_str().map(str::to_string), body)
    }

    /// Stops the stack; returns each service with whether it was running.
    pub fn down(self) -> Vec<(String, bool)> {
        crate::down(&self.layout).expect("the stack stops")
    }
}

impl Drop for TestStack {
    fn drop(&mut self) {
        let _ = crate::down(&self.layout);
    }
}

/// Polls `probe` until it returns `Some`, for at most `secs` seconds.
pub async fn eventually<T>(secs: u64, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {secs} s");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Whether any live process belongs to a process group.
pub fn group_alive(pgid: u32) -> bool {
    crate::process::group_alive(pgid)
}
