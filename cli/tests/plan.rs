//! `vmpush plan` as a user runs it: arguments, exit codes, stdout and stderr.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn fixture(rel: &str) -> String {
    repo_root()
        .join("tests/fixtures")
        .join(rel)
        .display()
        .to_string()
}

fn vmpush(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vmpush"))
        .args(args)
        .env_remove("CLOUD_CREDENTIALS")
        .env_remove("COMMUNITY_PUSH_REQUIRE_BILLING_CODES")
        .output()
        .unwrap()
}

/// Serves `app` on a free loopback port from a thread of its own; its base URL.
fn serve_router(app: axum::Router) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    format!("http://{}", rx.recv().unwrap())
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn plan_json(o: &Output) -> Value {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The acceptance of the plan: 8 destinations, the peer's names, public exactly for hourly.
fn assert_peer_kit_plan(plan: &Value) {
    assert_eq!(plan["workflow"], "community");
    let items = plan["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0]["source"],
        "starmap/CLOUD_IMAGES/rhel-ec2-9.0-10/rhel-ec2-9.0-10.x86_64.raw.xz"
    );
    assert_eq!(items[0]["name"], "rhel-ec2-9.0-10.x86_64.raw.xz");
    let dests = items[0]["destinations"].as_array().unwrap();
    assert_eq!(dests.len(), 8);
    let mut seen = Vec::new();
    for region in ["us-east-1", "us-east-2", "us-west-1", "us-west-2"] {
        for (kind, billing, public, rhsm) in [
            ("hourly", "Hourly2", true, "RHEL_HOURLY"),
            ("access", "Access2", false, "RHEL"),
        ] {
            let d = dests
                .iter()
                .find(|d| d["destination"] == format!("{region}-{kind}").as_str())
                .unwrap_or_else(|| panic!("no {region}-{kind}"));
            assert_eq!(
                d["ami_name"],
                format!("RHEL-9.0.0_HVM_GA-20250101-x86_64-10-{billing}-GP3").as_str()
            );
            assert_eq!(d["region"], region);
            assert_eq!(d["billing_type"], kind);
            assert_eq!(d["public"], public);
            assert_eq!(d["rhsm_product"], rhsm);
            assert_eq!(d["account"], "aws-us-storage");
            assert_eq!(d["provider"], "AWS");
            assert_eq!(d["bucket"], format!("redhat-cloudimg-{region}").as_str());
            assert_eq!(d["volume"], "gp3");
            seen.push(d["destination"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(seen.len(), 8);
    assert_eq!(plan["skipped"], Value::Array(vec![]));
}

#[test]
fn plan_of_the_peer_kit_fixture() {
    let out = vmpush(&[
        "plan",
        "--offline",
        "--repo-file",
        &fixture("peer-kit-1image/mapping.yaml"),
        &format!("staged:{}", fixture("peer-kit-1image/staged")),
    ]);
    assert_peer_kit_plan(&plan_json(&out));
}

#[test]
fn plan_of_freshly_generated_peer_kit_input() {
    let kit = std::env::var("VMPUSH_PEER_KIT")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join("../shared/peer-kit"));
    let generator = kit.join("gen_staged.py");
    if !generator.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have the peer kit at {}",
            generator.display()
        );
        eprintln!("skipped: no peer kit at {}", generator.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new("python3")
        .arg(&generator)
        .args([
            "--out",
            &dir.path().display().to_string(),
            "--images",
            "1",
            "--image-mb",
            "1",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let creds = dir.path().join("credentials.json");
    let out = vmpush(&[
        "plan",
        "--offline",
        "--repo-file",
        &dir.path().join("mapping.yaml").display().to_string(),
        "--credentials",
        &creds.display().to_string(),
        &format!("staged:{}", dir.path().join("staged").display()),
    ]);
    let plan = plan_json(&out);
    assert_peer_kit_plan(&plan);
    assert_eq!(plan["items"][0]["size"].as_u64().map(|s| s > 0), Some(true));
}

#[test]
fn table_format_is_for_people() {
    let out = vmpush(&[
        "plan",
        "--offline",
        "--repo-file",
        &fixture("peer-kit-1image/mapping.yaml"),
        "--format",
        "table",
        &format!("staged:{}", fixture("peer-kit-1image/staged")),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("community workflow: 1 image(s), 8 destination(s)\n"),
        "{text}"
    );
    assert_eq!(
        text.matches("RHEL-9.0.0_HVM_GA-20250101-x86_64-10-Hourly2-GP3")
            .count(),
        4
    );
}

#[test]
fn usage_errors_exit_2() {
    let staged = format!("staged:{}", fixture("peer-kit-1image/staged"));
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["plan"], "required arguments were not provided"),
        (
            vec!["plan", "--offline", &staged],
            "Cannot use \"--offline\" without defining \"--repo\" mappings.",
        ),
        (
            vec!["plan", "--offline", "--repo", "{}", &staged],
            "Expected value to be a list, got: mapping",
        ),
        (
            vec!["plan", "koji:https://koji.example.com?vmi_build=x"],
            "unsupported source 'koji:https://koji.example.com?vmi_build=x'",
        ),
        (
            vec!["plan", "--workflow", "every", &staged],
            "invalid value 'every'",
        ),
    ];
    for (args, expected) in cases {
        let out = vmpush(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(expected),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

/// One line on stderr, naming the file and the field; nothing on stdout.
fn assert_input_error(out: &Output, expected: &str) {
    assert_eq!(out.status.code(), Some(1), "{}", stderr(out));
    assert!(out.stdout.is_empty());
    let err = stderr(out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(err.trim_end(), format!("error: {expected}"));
}

#[test]
fn invalid_input_exits_1_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let stage = dir.path().join("stage/d/CLOUD_IMAGES/b");
    std::fs::create_dir_all(&stage).unwrap();
    let good = std::fs::read_to_string(fixture(
        "peer-kit-1image/staged/starmap/CLOUD_IMAGES/rhel-ec2-9.0-10/resources.yaml",
    ))
    .unwrap();
    std::fs::write(
        stage.join("resources.yaml"),
        good.replace("version: \"9.0\"", "version: 9.0"),
    )
    .unwrap();
    std::fs::write(stage.join("rhel-ec2-9.0-10.x86_64.raw.xz"), "image").unwrap();
    let staged = format!("staged:{}", dir.path().join("stage").display());
    let repo_file = fixture("peer-kit-1image/mapping.yaml");
    let out = vmpush(&["plan", "--offline", "--repo-file", &repo_file, &staged]);
    assert_input_error(
        &out,
        &format!(
            "{}/stage/d/CLOUD_IMAGES/b/resources.yaml: build.version: expected string, got number (quote it so it stays text)",
            dir.path().display()
        ),
    );

    std::fs::write(stage.join("resources.yaml"), &good).unwrap();
    let out = vmpush(&[
        "plan",
        "--offline",
        "--repo",
        r#"[{"name": "rhel-ec2", "cloud": "aws", "workflow": "community", "mappings": {"aws-us-storage": {"destinations": [{"destination": "us-east-1-hourly"}]}}}]"#,
        &staged,
    ]);
    assert_input_error(
        &out,
        "--repo: [0].mappings.aws-us-storage.destinations[0].overwrite: required boolean is missing",
    );

    let creds =
        fixture("peer-kit-1image/credentials.json").replace("credentials.json", "missing.json");
    let na = std::fs::read_to_string(fixture("peer-kit-1image/credentials.json"))
        .unwrap()
        .replace("aws-us-storage", "aws-na");
    let na_file = dir.path().join("na.json");
    std::fs::write(&na_file, na).unwrap();
    let out = vmpush(&[
        "plan",
        "--offline",
        "--repo-file",
        &repo_file,
        "--credentials",
        &na_file.display().to_string(),
        &staged,
    ]);
    assert_input_error(
        &out,
        "credentials: aws-us-storage: The credentials for aws-us-storage were not found (given: aws-na)",
    );
    let out = vmpush(&[
        "plan",
        "--offline",
        "--repo-file",
        &repo_file,
        "--credentials",
        &creds,
        &staged,
    ]);
    assert_input_error(
        &out,
        "credentials element 1: (value): Invalid credentials: neither an existing file nor base64 JSON",
    );
}

/// Two builds whose respins differ only in text (both read as respin 0, as pubtools does)
/// would get one AMI name in one account and region: publish would take the second for the
/// first. The plan fails instead, naming both images, before anything is uploaded.
#[test]
fn two_images_under_one_ami_name_fail_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(fixture(
        "peer-kit-1image/staged/starmap/CLOUD_IMAGES/rhel-ec2-9.0-10/resources.yaml",
    ))
    .unwrap();
    for (build, respin, sum) in [("b1", "rc1", "aaaa"), ("b2", "rc2", "bbbb")] {
        let stage = dir.path().join("stage/d/CLOUD_IMAGES").join(build);
        std::fs::create_dir_all(&stage).unwrap();
        let metadata = good
            .replace("respin: \"10\"", &format!("respin: \"{respin}\""))
            .replace("sha256sum: 305e", &format!("sha256sum: {sum}"));
        std::fs::write(stage.join("resources.yaml"), metadata).unwrap();
        std::fs::write(stage.join("rhel-ec2-9.0-10.x86_64.raw.xz"), respin).unwrap();
    }
    let staged = format!("staged:{}", dir.path().join("stage").display());
    let repo_file = fixture("peer-kit-1image/mapping.yaml");
    let out = vmpush(&["plan", "--offline", "--repo-file", &repo_file, &staged]);
    let images = dir.path().join("stage/d/CLOUD_IMAGES");
    let image = |build: &str| format!("{}/{build}/rhel-ec2-9.0-10.x86_64.raw.xz", images.display());
    assert_input_error(
        &out,
        &format!(
            "{}: aws-us-storage.us-east-1-hourly.ami_name: 'RHEL-9.0.0_HVM_GA-20250101-x86_64-0-Hourly2-GP3' in us-east-1 is also the name planned for {} (destination us-east-1-hourly); one name is one image",
            image("b2"),
            image("b1")
        ),
    );
}

/// Regions, buckets and AMI names the clouds would refuse fail the plan with the image's file
/// and the destination's field, before anything is uploaded.
#[test]
fn names_the_clouds_refuse_fail_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let staged_dir = fixture("peer-kit-1image/staged");
    let staged = format!("staged:{staged_dir}");
    let image =
        format!("{staged_dir}/starmap/CLOUD_IMAGES/rhel-ec2-9.0-10/rhel-ec2-9.0-10.x86_64.raw.xz");
    let mapping = std::fs::read_to_string(fixture("peer-kit-1image/mapping.yaml")).unwrap();
    let plan_with = |mapping: String, extra: &[&str]| {
        let file = dir.path().join("mapping.yaml");
        std::fs::write(&file, mapping).unwrap();
        let file = file.display().to_string();
        let mut args = vec!["plan", "--offline", "--repo-file", &file];
        args.extend_from_slice(extra);
        args.push(&staged);
        vmpush(&args)
    };
    let cases = [
        (
            mapping.replace("destination: us-east-2-hourly", "destination: ../../etc-hourly"),
            vec![],
            "aws-us-storage.../../etc-hourly.region: '../../etc' is not an AWS region name (like us-east-1)".to_string(),
        ),
        (
            mapping.replace("destination: us-east-2-hourly", "destination: mars-east-1-hourly"),
            vec![],
            "aws-us-storage.mars-east-1-hourly.region: 'mars-east-1' is not an AWS region name (like us-east-1)".into(),
        ),
        (
            mapping.clone(),
            vec!["--container-prefix", "redhat/.."],
            "aws-us-storage.us-east-1-hourly.bucket: 'redhat/..-us-east-1': '/' is not allowed; S3 bucket names use a-z 0-9 . and -".into(),
        ),
    ];
    for (mapping, extra, expected) in cases {
        let out = plan_with(mapping, &extra);
        assert_input_error(&out, &format!("{image}: {expected}"));
    }
}

#[test]
fn credentials_come_from_the_environment_when_the_flag_is_empty() {
    let staged = format!("staged:{}", fixture("peer-kit-1image/staged"));
    let creds = fixture("peer-kit-1image/credentials.json");
    let na = creds.replace("credentials.json", "mapping.yaml");
    let out = Command::new(env!("CARGO_BIN_EXE_vmpush"))
        .args([
            "plan",
            "--offline",
            "--repo-file",
            &fixture("peer-kit-1image/mapping.yaml"),
            "--credentials",
            "",
            &staged,
        ])
        .env("CLOUD_CREDENTIALS", &creds)
        .output()
        .unwrap();
    assert_eq!(
        plan_json(&out)["items"][0]["destinations"]
            .as_array()
            .unwrap()
            .len(),
        8
    );
    let out = Command::new(env!("CARGO_BIN_EXE_vmpush"))
        .args([
            "plan",
            "--offline",
            "--repo-file",
            &fixture("peer-kit-1image/mapping.yaml"),
            &staged,
        ])
        .env("CLOUD_CREDENTIALS", &na)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "a YAML file is not credentials JSON: {}",
        stderr(&out)
    );
}

mod online {
    use super::*;
    use axum::Router;
    use axum::extract::Query;
    use axum::http::StatusCode;
    use axum::routing::get;
    use std::collections::HashMap;

    /// A StArMap server with the fixture's mapping for `rhel-ec2` version 9.0 only.
    fn serve() -> String {
        let mapping: Value = serde_json::to_value(serde_yaml_mapping(
            &std::fs::read_to_string(fixture("peer-kit-1image/mapping.yaml")).unwrap(),
        ))
        .unwrap();
        serve_router(Router::new().route(
            "/api/v2/query",
            get(move |Query(q): Query<HashMap<String, String>>| {
                let mapping = mapping.clone();
                async move {
                    if q.get("name").map(String::as_str) == Some("rhel-ec2")
                        && q.get("version").map(String::as_str) == Some("9.0")
                    {
                        (StatusCode::OK, mapping.to_string())
                    } else {
                        (StatusCode::NOT_FOUND, "{}".to_string())
                    }
                }
            }),
        ))
    }

    /// The fixture mapping as JSON (it is YAML; the plan command reads it the same way).
    fn serde_yaml_mapping(yaml: &str) -> Value {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    #[test]
    fn online_and_hybrid_modes_ask_the_server() {
        let url = serve();
        let staged = format!("staged:{}", fixture("peer-kit-1image/staged"));
        let out = vmpush(&["plan", "--starmap-url", &url, &staged]);
        assert_peer_kit_plan(&plan_json(&out));
        // hybrid: a local entity for another workflow does not hide the server's answer
        let other =
            r#"[{"name": "rhel-ec2", "cloud": "aws", "workflow": "stratosphere", "mappings": {}}]"#;
        let out = vmpush(&["plan", "--starmap-url", &url, "--repo", other, &staged]);
        assert_peer_kit_plan(&plan_json(&out));
        // offline with the same repo: no community mapping
        let out = vmpush(&["plan", "--offline", "--repo", other, &staged]);
        let plan = plan_json(&out);
        assert_eq!(
            plan["skipped"][0]["reason"],
            "No community mappings found for rhel-ec2 on cloud aws"
        );
    }
}

#[test]
fn the_combined_workflow_plans_the_product_version_and_the_community_amis() {
    let out = vmpush(&[
        "plan",
        "-w",
        "all",
        "--offline",
        "--repo-file",
        &fixture("peer-kit-1image/mapping-all.yaml"),
        &format!("staged:{}", fixture("peer-kit-1image/staged")),
    ]);
    let plan = plan_json(&out);
    assert_eq!(plan["workflow"], "all");
    let dests = plan["items"][0]["destinations"].as_array().unwrap();
    let first: Vec<(&str, &str)> = dests
        .iter()
        .take(3)
        .map(|d| {
            (
                d["account"].as_str().unwrap(),
                d["ami_name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        first,
        [
            (
                "aws-na",
                "Red Hat Enterprise Linux-9.0_HVM_GA-20250101-x86_64-10"
            ),
            (
                "aws-us-storage",
                "RHEL-9.0.0_HVM_GA-20250101-x86_64-10-Hourly2-GP3"
            ),
            (
                "aws-us-storage",
                "RHEL-9.0.0_HVM_GA-20250101-x86_64-10-Access2-GP3"
            ),
        ]
    );
    assert_eq!(dests.len(), 9);
    assert_eq!(
        dests[0]["marketplace"]["starmap_query"],
        "rhel-ec2/stratosphere/aws"
    );
    assert_eq!(
        plan["starmap"]["rhel-ec2/stratosphere/aws"]["mappings"]["aws-na"]["destinations"][0]["destination"],
        "d87bcebf-9cf4-47f5-9b5b-5470d4490f3d"
    );
    assert_eq!(plan["skipped"], Value::Array(vec![]));
    let table = vmpush(&[
        "plan",
        "-w",
        "all",
        "--format",
        "table",
        "--offline",
        "--repo-file",
        &fixture("peer-kit-1image/mapping-all.yaml"),
        &format!("staged:{}", fixture("peer-kit-1image/staged")),
    ]);
    assert!(
        String::from_utf8_lossy(&table.stdout)
            .starts_with("all workflow: 1 image(s), 9 destination(s)\n")
    );
}

#[test]
fn pubtools_flags_apply_or_say_in_one_line_why_not() {
    let staged = format!("staged:{}", fixture("peer-kit-1image/staged"));
    let repo = fixture("peer-kit-1image/mapping.yaml");
    let out = vmpush(&[
        "plan",
        "-dd",
        "--skip",
        "upload,publish",
        "--azure-allow-draft-push",
        "--rhsm-cert",
        "/nonexistent/cert.pem",
        "--rhsm-key",
        "/nonexistent/key.pem",
        "--offline",
        "--repo-file",
        &repo,
        &staged,
    ]);
    assert_peer_kit_plan(&plan_json(&out));
    let err = stderr(&out);
    for line in [
        "--skip upload,publish: accepted without effect: no step of a push can be skipped (pubtools-marketplacesvm ignores --skip too)",
        "--azure-allow-draft-push: applies to publishing only; the plan is the same without it",
        "--rhsm-cert/--rhsm-key (RHSM_CERT/RHSM_KEY): not applied: no --rhsm-url to check the plan against",
    ] {
        assert!(err.lines().any(|l| l == line), "{line} not in {err}");
    }
    // -d is counted (pubtools' levels); -dddd is as -ddd
    let out = vmpush(&["plan", "-dddd", "--offline", "--repo-file", &repo, &staged]);
    assert_peer_kit_plan(&plan_json(&out));
}

mod rhsm {
    use super::*;
    use axum::Router;
    use axum::routing::get;

    /// An RHSM server knowing `groups` (name, provider).
    fn serve(groups: &'static [(&'static str, &'static str)]) -> String {
        let body: Vec<Value> = groups
            .iter()
            .map(|(n, p)| serde_json::json!({"name": n, "providerShortName": p}))
            .collect();
        let answer = serde_json::json!({"body": body}).to_string();
        let app = Router::new().route(
            "/v1/internal/cloud_access_providers/amazon/provider_image_groups",
            get(move || {
                let answer = answer.clone();
                async move { answer }
            }),
        );
        format!("{}/", serve_router(app))
    }

    #[test]
    fn rhsm_url_runs_the_pre_check_of_the_plan() {
        let staged = format!("staged:{}", fixture("peer-kit-1image/staged"));
        let repo = fixture("peer-kit-1image/mapping.yaml");
        let url = serve(&[("RHEL", "AWS"), ("RHEL_HOURLY", "AWS")]);
        let out = vmpush(&[
            "plan",
            "--rhsm-url",
            &url,
            "--offline",
            "--repo-file",
            &repo,
            &staged,
        ]);
        assert_peer_kit_plan(&plan_json(&out));
        assert!(
            stderr(&out).contains(&format!(
                "RHSM pre-check at {url}: the image groups of all 8 RHSM destination(s) exist"
            )),
            "{}",
            stderr(&out)
        );
        // a group RHSM does not have fails the plan, naming it
        let url = serve(&[("RHEL", "AWS")]);
        let out = vmpush(&[
            "plan",
            "--rhsm-url",
            &url,
            "--offline",
            "--repo-file",
            &repo,
            &staged,
        ]);
        assert_eq!(out.status.code(), Some(1));
        let err = stderr(&out);
        assert!(
            err.starts_with("error: Pre-push verification of push items in metadata service failed: Product not in RHSM: RHEL_HOURLY (provider AWS) for starmap/CLOUD_IMAGES/rhel-ec2-9.0-10/rhel-ec2-9.0-10.x86_64.raw.xz at us-east-1-hourly"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}
