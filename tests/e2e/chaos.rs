//! The chaos harness: nothing lost, nothing duplicated, nothing wrong reported. On one local
//! stack (RHSM over mutual TLS, the accounts' keys in the deployment's secret), combined pushes
//! (`-w all`) of 2 images × 3 regions × 2 billing types (12 community AMIs) and of the same 2
//! images as 2 new versions of one AWS Marketplace product through the real state machine:
//!
//! - **kill points**: every Task state of the ASL has its function killed before it runs and
//!   after it ran (its answer lost), by the launcher (`POST /_local/kills`); the push resumes
//!   by Step Functions' retry (`Lambda.ServiceException`) or, for the `rerun` points (an error
//!   the state machine does not retry), by running `vmpush push` again. Then every AMI,
//!   imported snapshot, copy, RHSM record (create), product version, change set and SNS
//!   notice is counted: exactly one of each, every destination PUSHED;
//! - **faults**: pushes under 10 % seeded throttling and 5xx on EC2, S3, SNS and RHSM: every
//!   destination PUSHED, with the faults injected and the task retries counted;
//! - **bad inputs**: the corpus of `tests/bad-inputs/` (see its `corpus.rs`);
//! - **secrets**: every log, output, execution history, result and notice of the harness
//!   grepped for every secret value used (the accounts' secret keys, RHSM's client key).
//!
//! It prints one table and the line `chaos: K kill points, D duplicates; faults: P/N pushed;
//! bad inputs: C/B clear; secrets: S`. `make chaos` runs it whole (`--ignored`) and writes
//! `bench/chaos.md`; `make test` runs a fast subset.

mod pushes;
mod staged;

#[path = "../bad-inputs/corpus.rs"]
mod corpus;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

use pushes::{
    everything_written, finished, keys_of, local_credentials, mapping_document, notices, secrets,
    staged_build, states, store_secret, stored_result, vmpush,
};
use serde_json::{Value, json};
use staged::{stage, workspace};
use vmpush_local::Options;
use vmpush_local::testing::TestStack;

/// The regions of the harness's pushes.
const REGIONS: [&str; 3] = ["us-east-1", "us-east-2", "us-west-1"];
/// The mapping's account.
const ACCOUNT: &str = "aws-us-storage";
/// The Marketplace account of the mapping's product.
const SELLER: &str = "aws-na";
/// The Marketplace fake's product.
const PRODUCT: &str = "d87bcebf-9cf4-47f5-9b5b-5470d4490f3d";
/// Destinations of one push: 2 images × 3 regions × 2 billing types, and 2 product versions.
const DESTINATIONS: usize = 14;

/// How a killed push resumes.
#[derive(Clone, Copy, PartialEq)]
enum Resume {
    /// Step Functions retries the task (`Lambda.ServiceException`).
    Retry,
    /// The task fails with an error the state machine does not retry; `vmpush push` runs
    /// again under a new push id.
    Rerun,
}

/// One kill point: a Task state of the ASL, and when its function dies.
struct Point {
    state: &'static str,
    function: &'static str,
    /// Fields the state's event holds (tells states of one function apart).
    matches: Value,
    /// `before` the function runs or `after` it ran.
    when: &'static str,
    resume: Resume,
}

/// Every Task state of `statemachine/push.asl.json`, with its function and what tells its
/// event from the other states' of that function.
fn task_states() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("ResolveMapping", "vmpush-resolve-mapping", json!({})),
        ("Upload", "vmpush-upload", json!({})),
        (
            "ImportSnapshot",
            "vmpush-import-snapshot",
            json!({"action": "start"}),
        ),
        (
            "ImportSnapshotCheck",
            "vmpush-import-snapshot",
            json!({"action": "check"}),
        ),
        (
            "CopyRegions",
            "vmpush-copy-regions",
            json!({"action": "start"}),
        ),
        (
            "CopyRegionsCheck",
            "vmpush-copy-regions",
            json!({"action": "check"}),
        ),
        ("Publish", "vmpush-publish", json!({"action": "share"})),
        ("RhsmUpdate", "vmpush-rhsm-update", json!({})),
        (
            "PublishRelease",
            "vmpush-publish",
            json!({"action": "release"}),
        ),
        (
            "Summarize",
            "vmpush-summarize",
            json!({"outcomes": {"$present": true}}),
        ),
        (
            "SummarizeFailure",
            "vmpush-summarize",
            json!({"failure": {"$present": true}}),
        ),
        ("SnsNotify", "vmpush-sns-notify", json!({})),
        (
            "MarketplaceVersion",
            "vmpush-marketplace-version",
            json!({"progress": {"$present": false}}),
        ),
        (
            "MarketplaceVersionCheck",
            "vmpush-marketplace-version",
            json!({"progress": {"$present": true}}),
        ),
    ]
}

/// The kill points: every Task state before and after (resumed by Step Functions' retry),
/// and the states whose lost answer a re-run must pick up; the fast subset has three.
fn points(fast: bool) -> Vec<Point> {
    let mut points = Vec::new();
    for (state, function, matches) in task_states() {
        for when in ["before", "after"] {
            points.push(Point {
                state,
                function,
                matches: matches.clone(),
                when,
                resume: Resume::Retry,
            });
        }
    }
    let reruns = [
        "ResolveMapping",
        "Upload",
        "ImportSnapshot",
        "CopyRegions",
        "Publish",
        "RhsmUpdate",
        "MarketplaceVersion",
    ];
    for (state, function, matches) in task_states() {
        if reruns.contains(&state) {
            points.push(Point {
                state,
                function,
                matches,
                when: "after",
                resume: Resume::Rerun,
            });
        }
    }
    if fast {
        points.retain(|p| {
            matches!(
                (p.state, p.when, p.resume),
                ("CopyRegions", "before", Resume::Retry)
                    | ("Publish", "after", Resume::Retry)
                    | ("RhsmUpdate", "after", Resume::Rerun)
                    | ("SummarizeFailure", "after", Resume::Retry)
                    | ("MarketplaceVersion", "after", Resume::Retry)
            )
        });
    }
    points
}

/// The harness's mapping: the peer kit's marketplace entity, then its community one in three
/// regions.
fn mapping() -> Value {
    let mut mapping = mapping_document();
    let destinations = &mut mapping[0]["mappings"][ACCOUNT]["destinations"];
    let kept: Vec<Value> = destinations
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| {
            let name = d["destination"].as_str().unwrap();
            REGIONS.iter().any(|r| name.starts_with(&format!("{r}-")))
        })
        .cloned()
        .collect();
    *destinations = Value::Array(kept);
    let text = std::fs::read_to_string(
        workspace().join("tests/fixtures/peer-kit-1image/mapping-marketplace.yaml"),
    )
    .unwrap();
    let mut both: Value = serde_yaml_ng::from_str(&text).unwrap();
    both.as_array_mut().unwrap().push(mapping[0].clone());
    both
}

/// The AMI names of push number `n`: builds `9.<n>` respins 1 and 2, hourly and access.
fn ami_names(n: usize) -> Vec<String> {
    let mut names = Vec::new();
    for respin in ["1", "2"] {
        for billing in ["Hourly2", "Access2"] {
            names.push(format!(
                "RHEL-9.{n}.0_HVM_GA-20250101-x86_64-{respin}-{billing}-GP3"
            ));
        }
    }
    names
}

/// The product versions of push number `n`: the version titles of its two builds.
fn version_titles(n: usize) -> Vec<String> {
    ["1", "2"]
        .map(|respin| format!("9.{n} 20250101-{respin}"))
        .to_vec()
}

/// What one push left, counted: (kind, item) → how many exist.
#[derive(Default)]
struct Census {
    counts: BTreeMap<(&'static str, String), usize>,
}

impl Census {
    fn add(&mut self, kind: &'static str, item: String, n: usize) {
        *self.counts.entry((kind, item)).or_default() += n;
    }

    /// Items with more than one.
    fn duplicates(&self) -> usize {
        self.counts.values().map(|n| n.saturating_sub(1)).sum()
    }

    /// Items with none.
    fn missing(&self) -> usize {
        self.counts.values().filter(|n| **n == 0).count()
    }

    /// How many items of `kind` exist.
    fn total(&self, kind: &str) -> usize {
        self.counts
            .iter()
            .filter(|((k, _), _)| *k == kind)
            .map(|(_, n)| n)
            .sum()
    }

    /// What is duplicated or missing, for the failure message.
    fn wrong(&self) -> Vec<String> {
        self.counts
            .iter()
            .filter(|(_, n)| **n != 1)
            .map(|((kind, item), n)| format!("{kind} {item}: {n}"))
            .collect()
    }
}

/// The harness: the stack, the account's keys, every output it saw, and its table.
struct Harness {
    stack: TestStack,
    documents: Vec<Value>,
    mapping: String,
    pushes: usize,
    outputs: String,
    table: String,
}

impl Harness {
    async fn up() -> Harness {
        let options = Options {
            rhsm_tls: true,
            ..Options::default()
        };
        let stack = TestStack::up(workspace(), &options).await;
        let documents = local_credentials(&stack);
        store_secret(&stack, &documents);
        let file = stack.scratch().join("chaos-mapping.yaml");
        std::fs::write(&file, serde_yaml_ng::to_string(&mapping()).unwrap()).unwrap();
        Harness {
            stack,
            documents,
            mapping: file.to_str().unwrap().to_string(),
            pushes: 0,
            outputs: String::new(),
            table: String::new(),
        }
    }

    fn keys(&self) -> (&str, &str) {
        keys_of(&self.documents, ACCOUNT)
    }

    /// Stages a new push's two builds; returns its number and its source argument.
    async fn staged(&mut self) -> (usize, String) {
        self.pushes += 1;
        let n = self.pushes;
        let dir = self.stack.scratch().join(format!("push-{n}"));
        let version = format!("9.{n}");
        staged_build(&dir, &version, "1", 2 * n as u64).await;
        staged_build(&dir, &version, "2", 2 * n as u64 + 1).await;
        (n, format!("staged:{}", dir.display()))
    }

    /// Runs `vmpush push` of `source` as `push_id`; returns its exit code and its result.
    fn push(&mut self, push_id: &str, source: &str) -> (i32, Value) {
        let (code, stdout, stderr) = vmpush(
            &self.stack,
            &[
                "push",
                "--local",
                "--offline",
                "--repo-file",
                &self.mapping,
                "-w",
                "all",
                "--push-id",
                push_id,
                source,
            ],
        );
        self.outputs.push_str(&stdout);
        self.outputs.push_str(&stderr);
        let result = serde_json::from_str(&stdout).unwrap_or(Value::Null);
        if result.is_null() {
            // it did not follow the push to its end: say why
            let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
            eprintln!("chaos: vmpush push {push_id}: exit {code}: {tail:?}");
        }
        (code, result)
    }

    /// How many destinations of `result` are PUSHED.
    fn pushed(result: &Value) -> usize {
        if result.is_null() {
            return 0;
        }
        states(result)
            .values()
            .filter(|(state, _)| state == "PUSHED")
            .count()
    }

    /// Counts what push `n` (run as `push_ids`) left: AMIs, imported snapshots, copies, RHSM
    /// creates, product versions, change sets and notices.
    async fn census(&self, n: usize, push_ids: &[&str]) -> Census {
        let mut census = Census::default();
        self.marketplace_census(n, &mut census).await;
        let keys = Some(self.keys());
        let names = ami_names(n);
        let mut roots = BTreeMap::new();
        let mut amis = Vec::new();
        for region in REGIONS {
            for name in &names {
                census.add("AMIs", format!("{name} {region}"), 0);
            }
            let images = self.stack.aws_as(
                keys,
                &[
                    "ec2",
                    "describe-images",
                    "--owners",
                    "self",
                    "--region",
                    region,
                ],
            );
            for image in images["Images"].as_array().unwrap() {
                let name = image["Name"].as_str().unwrap();
                if names.iter().any(|n| n == name) {
                    census.add("AMIs", format!("{name} {region}"), 1);
                    let root = image["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    roots.insert(root, region);
                    amis.push(image["ImageId"].as_str().unwrap().to_string());
                }
            }
        }
        // the snapshots of the AMIs' names, wherever they are, and every other snapshot of
        // those names (a second import or copy)
        let mut snapshots = Vec::new();
        for region in REGIONS {
            let listed = self.stack.aws_as(
                keys,
                &[
                    "ec2",
                    "describe-snapshots",
                    "--owner-ids",
                    "self",
                    "--region",
                    region,
                ],
            );
            for snapshot in listed["Snapshots"].as_array().unwrap() {
                snapshots.push((region, snapshot.clone()));
            }
        }
        let name_of = |s: &Value| {
            s["Tags"]
                .as_array()
                .and_then(|tags| tags.iter().find(|t| t["Key"] == "Name"))
                .and_then(|t| t["Value"].as_str())
                .unwrap_or_default()
                .to_string()
        };
        let ours: Vec<String> = snapshots
            .iter()
            .filter(|(_, s)| roots.contains_key(s["SnapshotId"].as_str().unwrap()))
            .map(|(_, s)| name_of(s))
            .collect();
        for (region, snapshot) in &snapshots {
            let name = name_of(snapshot);
            if !ours.contains(&name) {
                continue;
            }
            let copy = snapshot["Description"]
                .as_str()
                .is_some_and(|d| d.starts_with("vmpush copy of "));
            let kind = if copy { "copies" } else { "snapshots" };
            census.add(kind, format!("{name} {region}"), 1);
        }
        // RHSM: one create per AMI (a retry that re-read finds it and updates instead); a
        // create the fake refused as a fault (429, 503) was not applied, a second one it
        // refused as a conflict (409) counts
        let writes = self.stack.rhsm_writes().await;
        for ami in &amis {
            let creates = writes
                .iter()
                .filter(|w| {
                    w["method"] == "POST"
                        && w["path"].as_str().is_some_and(|p| p.ends_with("/amis"))
                        && w["body"]["amiID"] == *ami
                        && !matches!(w["status"].as_u64(), Some(429 | 503))
                })
                .count();
            census.add("RHSM records", ami.clone(), creates);
        }
        // one notice per push run
        for id in push_ids {
            census.add("SNS notices", (*id).to_string(), 0);
        }
        loop {
            let received = notices(&self.stack);
            if received.is_empty() {
                break;
            }
            for (_, message, _) in received {
                let id = message["push_id"].as_str().unwrap_or_default().to_string();
                if push_ids.contains(&id.as_str()) {
                    census.add("SNS notices", id, 1);
                }
            }
        }
        census
    }

    /// The Marketplace side of push `n`: its AMIs in the seller's account, one product version
    /// per title, one change set started per version (a retried call with the same token
    /// answers the same change set; another token would be a second one).
    async fn marketplace_census(&self, n: usize, census: &mut Census) {
        let images = self.stack.aws_as(
            Some(keys_of(&self.documents, SELLER)),
            &[
                "ec2",
                "describe-images",
                "--owners",
                "self",
                "--region",
                "us-east-1",
            ],
        );
        for respin in ["1", "2"] {
            let name = format!("Red Hat Enterprise Linux-9.{n}_HVM_GA-20250101-x86_64-{respin}");
            let found = images["Images"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|i| i["Name"] == name.as_str())
                .count();
            census.add("AMIs", format!("{name} us-east-1"), found);
        }
        let entity = self
            .stack
            .get_json(&format!(
                "{}/DescribeEntity?catalog=AWSMarketplace&entityId={PRODUCT}",
                self.stack.var("VMPUSH_MARKETPLACE_URL")
            ))
            .await;
        let started = self.stack.started_change_sets().await;
        for title in version_titles(n) {
            let versions = entity["DetailsDocument"]["Versions"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|v| v["VersionTitle"] == title.as_str())
                .count();
            census.add("versions", title.clone(), versions);
            let mut tokens: Vec<&str> = started
                .iter()
                .filter(|b| {
                    b["ChangeSet"][0]["DetailsDocument"]["Version"]["VersionTitle"]
                        == title.as_str()
                })
                .filter_map(|b| b["ClientRequestToken"].as_str())
                .collect();
            tokens.sort_unstable();
            tokens.dedup();
            census.add("change sets", title, tokens.len());
        }
    }

    /// How many invokes the launcher killed so far.
    async fn kills(&self) -> usize {
        let invocations = self.stack.invocations().await;
        invocations
            .iter()
            .filter(|i| !i["killed"].is_null())
            .count()
    }

    /// Runs one kill point; returns (fired, PUSHED, duplicates).
    async fn kill_point(&mut self, point: &Point) -> (bool, usize, usize) {
        let started = Instant::now();
        let killed = self.kills().await;
        let error = match point.resume {
            Resume::Retry => "Lambda.ServiceException",
            Resume::Rerun => "Killed",
        };
        self.stack
            .kills(
                &json!({"rules": [{"function": point.function, "match": point.matches,
                                      "when": point.when, "count": 1, "error": error}]}),
            )
            .await;
        self.stack.clear_rhsm_requests().await;
        if point.state == "SummarizeFailure" {
            return self.failure_point(point, killed, started).await;
        }
        let (n, source) = self.staged().await;
        let id = format!("chaos-{n}");
        let (_, mut result) = self.push(&id, &source);
        let mut ids = vec![id.clone()];
        if point.resume == Resume::Rerun {
            let again = format!("{id}-rerun");
            result = self.push(&again, &source).1;
            ids.push(again);
        }
        let fired = self.kills().await == killed + 1;
        self.stack.kills(&json!({"rules": []})).await;
        let pushed = Self::pushed(&result);
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let census = self.census(n, &ids).await;
        let resume = match point.resume {
            Resume::Retry => "retry",
            Resume::Rerun => "re-run",
        };
        let _ = writeln!(
            self.table,
            "| {} {} | {resume} | {} | {pushed}/{DESTINATIONS} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.0} |",
            point.state,
            point.when,
            if fired { "yes" } else { "NO" },
            census.total("AMIs"),
            census.total("snapshots"),
            census.total("copies"),
            census.total("RHSM records"),
            census.total("versions"),
            census.total("change sets"),
            census.total("SNS notices"),
            census.duplicates(),
            census.missing(),
            started.elapsed().as_secs_f64(),
        );
        let wrong = census.wrong();
        if !wrong.is_empty() {
            eprintln!("chaos: {} {}: {wrong:?}", point.state, point.when);
        }
        (
            fired,
            if census.missing() == 0 { pushed } else { 0 },
            census.duplicates(),
        )
    }

    /// A kill point of the failure path: a drop whose `push.yaml` is malformed ends FAILED
    /// with one result and one notice.
    async fn failure_point(
        &mut self,
        point: &Point,
        killed: usize,
        started: Instant,
    ) -> (bool, usize, usize) {
        self.pushes += 1;
        let id = format!("chaos-{}-bad", self.pushes);
        stage(
            &self.stack,
            &format!("drops/{id}/push.yaml"),
            b"workflow: every\n",
        );
        let execution = finished(&self.stack, &id).await;
        let fired = self.kills().await == killed + 1;
        self.stack.kills(&json!({"rules": []})).await;
        let result = stored_result(&self.stack, &id);
        let mut census = Census::default();
        census.add("SNS notices", id.clone(), 0);
        loop {
            let received = notices(&self.stack);
            if received.is_empty() {
                break;
            }
            for (_, message, _) in received {
                if message["push_id"] == id.as_str() {
                    census.add("SNS notices", id.clone(), 1);
                }
            }
        }
        // reported as it is: FAILED, with the reason
        let reported = execution["status"] == "FAILED"
            && result["state"] == "FAILED"
            && result["error"]
                .as_str()
                .is_some_and(|e| e.contains("push.yaml: workflow"));
        let _ = writeln!(
            self.table,
            "| {} {} | retry | {} | FAILED {} | - | - | - | - | - | - | {} | {} | {} | {:.0} |",
            point.state,
            point.when,
            if fired { "yes" } else { "NO" },
            if reported { "as reported" } else { "WRONG" },
            census.total("SNS notices"),
            census.duplicates(),
            census.missing(),
            started.elapsed().as_secs_f64(),
        );
        let ok = reported && census.missing() == 0;
        (
            fired,
            if ok { DESTINATIONS } else { 0 },
            census.duplicates(),
        )
    }

    /// One push under 10 % seeded faults; returns whether every destination is PUSHED, once.
    async fn faulted_push(&mut self, seed: u64) -> bool {
        let started = Instant::now();
        let (n, source) = self.staged().await;
        self.stack.clear_aws_requests().await;
        self.stack.clear_rhsm_requests().await;
        let invoked = self.stack.invocations().await.len();
        self.stack
            .aws_faults(
                &json!({"rate": 0.1, "seed": seed, "kinds": ["throttle", "5xx"],
                                "services": ["ec2", "s3", "sns"]}),
            )
            .await;
        self.stack
            .rhsm_faults(&json!({"rate": 0.1, "seed": seed, "kinds": ["throttle", "unavailable"]}))
            .await;
        let id = format!("chaos-{n}-faults");
        let (_, result) = self.push(&id, &source);
        self.stack.aws_faults(&json!({"rate": 0})).await;
        self.stack.rhsm_faults(&json!({"rate": 0})).await;
        let pushed = Self::pushed(&result);
        for d in result["destinations"].as_array().into_iter().flatten() {
            if d["state"] != "PUSHED" {
                eprintln!(
                    "chaos: seed {seed}: {} {}: {} ({})",
                    d["name"], d["region"], d["state"], d["error"]
                );
            }
        }
        let requests = self.stack.aws_requests().await;
        let injected = |service: &str| {
            requests
                .iter()
                .filter(|r| r["service"] == service && !r["fault"].is_null())
                .count()
        };
        let rhsm = self.stack.rhsm_requests().await;
        let rhsm_faults = rhsm
            .iter()
            .filter(|r| r["status"].as_u64().is_some_and(|s| s == 429 || s == 503))
            .count();
        let retries = self.stack.invocations().await[invoked..]
            .iter()
            .filter(|i| i["error"] == true)
            .count();
        let census = self.census(n, &[id.as_str()]).await;
        let wrong = census.wrong();
        if !wrong.is_empty() {
            eprintln!("chaos: seed {seed}: {wrong:?}");
        }
        let _ = writeln!(
            self.table,
            "| seed {seed} | {pushed}/{DESTINATIONS} | {} of {} | {} | {} | {} | {rhsm_faults} of {} | {retries} | {} | {:.0} |",
            requests.iter().filter(|r| !r["fault"].is_null()).count(),
            requests.len(),
            injected("ec2"),
            injected("s3"),
            injected("sns"),
            rhsm.len(),
            census.duplicates(),
            started.elapsed().as_secs_f64(),
        );
        pushed == DESTINATIONS && census.missing() == 0 && census.duplicates() == 0
    }
}

impl Harness {
    /// The bad push requests of `tests/bad-inputs/requests.json`, as API bodies (each answered
    /// in under 5 s), then as drops; returns, per case and mode, what is wrong (nothing: it
    /// failed clearly).
    async fn bad_requests(&mut self) -> Vec<(String, Vec<String>)> {
        let path = workspace().join("tests/bad-inputs/requests.json");
        let cases: Vec<Value> = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        self.stack.clear_aws_requests().await;
        let mut outcomes = Vec::new();
        for (i, case) in cases.iter().enumerate() {
            let modes = case["modes"].as_array().unwrap();
            if modes.iter().any(|m| m == "api") {
                let started = Instant::now();
                let event = json!({"resource": "/pushes", "path": "/pushes", "httpMethod": "POST",
                    "headers": {"Content-Type": "application/json"},
                    "requestContext": {"httpMethod": "POST", "resourcePath": "/pushes", "stage": "v1"},
                    "body": case["body"], "isBase64Encoded": false});
                let (error, answer) = self.stack.invoke("vmpush-start-push", &event);
                let took = started.elapsed();
                let body: Value = serde_json::from_str(answer["body"].as_str().unwrap_or("null"))
                    .unwrap_or_default();
                let message = body["message"].as_str().unwrap_or_default();
                self.outputs.push_str(message);
                let mut wrong = Vec::new();
                if error.is_some() || answer["statusCode"] != 400 {
                    wrong.push(format!("answered {error:?} {}", answer["statusCode"]));
                }
                if !message.contains(case["expect"].as_str().unwrap()) {
                    wrong.push(format!("said {message:?}"));
                }
                if message.lines().count() != 1 {
                    wrong.push("not one line".into());
                }
                if took.as_secs() >= 5 {
                    wrong.push(format!("took {took:?}"));
                }
                outcomes.push((format!("{} (api, {i})", case["what"]), wrong));
            }
        }
        let mut drops = Vec::new();
        for (i, case) in cases.iter().enumerate() {
            let modes = case["modes"].as_array().unwrap();
            if modes.iter().any(|m| m == "drop") {
                let id = format!("chaos-request-{i}");
                let body = case["body"].as_str().unwrap();
                stage(
                    &self.stack,
                    &format!("drops/{id}/push.yaml"),
                    body.as_bytes(),
                );
                drops.push((id, case));
            }
        }
        for (id, case) in drops {
            let execution = finished(&self.stack, &id).await;
            let result = stored_result(&self.stack, &id);
            let error = result["error"].as_str().unwrap_or_default();
            let mut wrong = Vec::new();
            if execution["status"] != "FAILED" || result["state"] != "FAILED" {
                wrong.push(format!("ended {} {}", execution["status"], result["state"]));
            }
            let file = format!("s3://vmpush-staging/drops/{id}/push.yaml: ");
            if !error.starts_with(&file) || !error.contains(case["expect"].as_str().unwrap()) {
                wrong.push(format!("said {error:?}"));
            }
            if error.lines().count() != 1 {
                wrong.push("not one line".into());
            }
            outcomes.push((format!("{} (drop)", case["what"]), wrong));
        }
        let uploaded = self
            .stack
            .aws_counts(&[
                "CreateMultipartUpload",
                "UploadPartCopy",
                "ImportSnapshot",
                "RegisterImage",
            ])
            .await;
        if uploaded.iter().any(|n| *n > 0) {
            outcomes.push((
                "bad push requests".into(),
                vec![format!("uploaded {uploaded:?}")],
            ));
        }
        outcomes
    }
}

/// Runs the harness (the fast subset or all of it); returns the summary line.
async fn chaos(fast: bool) -> String {
    let mut harness = Harness::up().await;
    let mut report = String::from(
        "| kill point | resumed by | killed | PUSHED | AMIs | snapshots | copies | RHSM creates | versions | change sets | SNS notices | duplicates | missing | s |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let points = points(fast);
    let (mut fired, mut duplicates, mut complete) = (0, 0, 0);
    for point in &points {
        let (f, pushed, d) = harness.kill_point(point).await;
        fired += usize::from(f);
        duplicates += d;
        complete += usize::from(f && pushed == DESTINATIONS);
    }
    report.push_str(&std::mem::take(&mut harness.table));
    report.push_str(
        "\n| faults (10 %) | PUSHED | injected (AWS) | EC2 | S3 | SNS | RHSM | task retries | duplicates | s |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    let seeds: &[u64] = if fast { &[1] } else { &[1, 2, 3, 4, 5] };
    let mut faulted = 0;
    for seed in seeds {
        faulted += usize::from(harness.faulted_push(*seed).await);
    }
    report.push_str(&harness.table);

    let root = workspace();
    let vmpush = harness.stack.layout.binary("vmpush");
    let mut judged = Vec::new();
    for case in &corpus::cases(root) {
        let (wrong, line) = corpus::check(root, &vmpush, case);
        harness.outputs.push_str(&line);
        judged.push((case.display().to_string(), wrong));
    }
    judged.extend(harness.bad_requests().await);
    let clear = judged.iter().filter(|(_, wrong)| wrong.is_empty()).count();
    for (case, wrong) in judged.iter().filter(|(_, wrong)| !wrong.is_empty()) {
        eprintln!("chaos: bad input {case}: {wrong:?}");
    }

    let mut written = everything_written(&harness.stack);
    written.push_str(&harness.outputs);
    let secrets = secrets(&harness.stack, &harness.documents);
    assert!(secrets.len() > 3, "the harness uses secrets");
    let leaked = secrets
        .iter()
        .filter(|s| written.contains(s.as_str()))
        .count();
    let _ = writeln!(
        report,
        "\nbad inputs: {clear} of {} clear ({} staged trees, mappings, credentials and flags against `vmpush plan`, the rest push requests as drops and as API bodies); secrets: {} values grepped for in {} bytes of logs, outputs, histories, results and notices, {leaked} found",
        judged.len(),
        corpus::cases(root).len(),
        secrets.len(),
        written.len(),
    );
    let summary = format!(
        "chaos: {} kill points, {duplicates} duplicates; faults: {faulted}/{} pushed; bad inputs: {clear}/{} clear; secrets: {leaked}",
        points.len(),
        seeds.len(),
        judged.len(),
    );
    println!("{report}\n{summary}");
    assert_eq!(fired, points.len(), "every kill point fired\n{report}");
    assert_eq!(
        complete,
        points.len(),
        "every killed push completed\n{report}"
    );
    assert_eq!(duplicates, 0, "{report}");
    assert_eq!(faulted, seeds.len(), "{report}");
    assert_eq!(clear, judged.len(), "{report}");
    assert_eq!(leaked, 0, "{report}");
    if !fast {
        let doc = format!(
            "# Chaos harness (`make chaos`)\n\n\
             Written by `tests/e2e/chaos.rs` on the local stack: combined pushes (`-w all`) of 2 \
             images × 3 regions × 2 billing types (12 community AMIs) and of the same images as 2 \
             versions of one AWS Marketplace product, killed at every Task state of the ASL before its function \
             runs and after it ran (its answer lost), resumed by Step Functions' retry or by \
             re-running `vmpush push`; pushes under 10 % seeded throttling and 5xx on EC2, S3, SNS \
             and RHSM; the bad-input corpus; every secret grepped for.\n\n{report}\n`{summary}`\n"
        );
        std::fs::write(root.join("bench/chaos.md"), doc).unwrap();
    }
    summary
}

/// The fast subset (`make test`): five kill points, one push under faults, the corpus, the
/// secrets.
#[tokio::test(flavor = "multi_thread")]
async fn chaos_fast_subset() {
    let summary = chaos(true).await;
    assert!(summary.starts_with("chaos: 5 kill points, 0 duplicates; faults: 1/1 pushed"));
}

/// All of it (`make chaos`): 35 kill points, five pushes under faults; writes
/// `bench/chaos.md`.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "long: run by `make chaos`"]
async fn chaos_all() {
    let summary = chaos(false).await;
    assert!(summary.starts_with("chaos: 35 kill points, 0 duplicates; faults: 5/5 pushed"));
}
