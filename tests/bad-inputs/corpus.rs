//! The bad-input corpus runner, shared by `cli/tests/bad_inputs.rs` (in `make test`) and the
//! chaos harness (`tests/e2e/chaos.rs`): each case of `tests/bad-inputs/cases/` (written by
//! `generate.py`) is copied with the fixture into a temporary folder and run with `vmpush`,
//! killed after 10 s; it must exit 1 (bad input) or 2 (bad usage) with one line that names
//! the file and the field, in under 5 seconds, with no panic and no secret of the
//! credentials printed. The cases run `vmpush plan`, which has no side effects, so nothing is
//! ever uploaded.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The secrets of the fixture's credentials document.
const SECRETS: [&str; 2] = ["peer-image-secret", "peer-marketplace-secret"];

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Builds what git cannot hold at `path`.
fn make(path: &Path, what: &str) {
    if path.is_dir() {
        std::fs::remove_dir_all(path).unwrap();
    } else if path.symlink_metadata().is_ok() {
        std::fs::remove_file(path).unwrap();
    }
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    match what {
        "fifo" => {
            let made = Command::new("mkfifo").arg(path).status().unwrap();
            assert!(made.success());
        }
        "huge" => std::fs::write(path, "# padding\n".repeat(210_000)).unwrap(),
        "deep" => std::fs::write(
            path,
            format!("a: {}{}\n", "[".repeat(100_000), "]".repeat(100_000)),
        )
        .unwrap(),
        "escape-link" => std::os::unix::fs::symlink("/etc/passwd", path).unwrap(),
        "dir" => std::fs::create_dir(path).unwrap(),
        other => panic!("unknown make {other}"),
    }
}

/// The case's copy of the fixture, with its files and its builds.
fn prepare(root: &Path, case: &Path, spec: &Value, dir: &Path) {
    let fixture = root.join("tests/fixtures/peer-kit-1image");
    copy_tree(&fixture.join("staged"), &dir.join("stage"));
    for file in ["mapping.yaml", "credentials.json"] {
        std::fs::copy(fixture.join(file), dir.join(file)).unwrap();
    }
    let mut overlay = vec![case.to_path_buf()];
    while let Some(folder) = overlay.pop() {
        for entry in std::fs::read_dir(&folder).unwrap().flatten() {
            let path = entry.path();
            let rel = path.strip_prefix(case).unwrap();
            if path.is_dir() {
                overlay.push(path);
            } else if rel != Path::new("case.json") {
                std::fs::create_dir_all(dir.join(rel).parent().unwrap()).unwrap();
                std::fs::copy(&path, dir.join(rel)).unwrap();
            }
        }
    }
    for (path, what) in spec["make"].as_object().unwrap() {
        make(&dir.join(path), what.as_str().unwrap());
    }
}

/// Runs `vmpush` in `dir`, killed after `limit`: exit code, stdout, stderr, elapsed.
fn run(
    vmpush: &Path,
    dir: &Path,
    args: &[String],
    limit: Duration,
) -> (Option<i32>, String, String, Duration) {
    let started = Instant::now();
    let mut child = Command::new(vmpush)
        .args(args)
        .current_dir(dir)
        .env_remove("CLOUD_CREDENTIALS")
        .env_remove("COMMUNITY_PUSH_REQUIRE_BILLING_CODES")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    while child.try_wait().unwrap().is_none() && started.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        started.elapsed(),
    )
}

/// What is wrong with one case's outcome, if anything.
fn judge(
    spec: &Value,
    code: Option<i32>,
    stdout: &str,
    stderr: &str,
    took: Duration,
) -> Vec<String> {
    let expect = spec["expect"].as_str().unwrap();
    let mut wrong = Vec::new();
    if took >= Duration::from_secs(5) {
        wrong.push(format!("took {took:?}"));
    }
    if !matches!(code, Some(1 | 2)) {
        wrong.push(format!("exit {code:?}"));
    }
    if !stdout.is_empty() {
        wrong.push("printed a plan".into());
    }
    // bad input: one line; bad usage: clap's message, its first line the error
    let line = stderr.lines().next().unwrap_or_default();
    if code == Some(1) && stderr.lines().count() != 1 {
        wrong.push("more than one line".into());
    }
    if !line.starts_with("error: ") || !line.contains(expect) {
        wrong.push(format!("does not say {expect:?}"));
    }
    if stderr.contains("panicked") {
        wrong.push("panicked".into());
    }
    if SECRETS.iter().any(|s| stderr.contains(s)) {
        wrong.push("printed a secret".into());
    }
    wrong
}

/// The corpus's cases, in order.
pub fn cases(root: &Path) -> Vec<PathBuf> {
    let mut folders: Vec<PathBuf> = std::fs::read_dir(root.join("tests/bad-inputs/cases"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    folders.sort();
    folders
}

/// Runs one case with the `vmpush` binary at `vmpush` (`root`: the workspace); returns what
/// is wrong with its outcome (nothing: it failed clearly) and its first error line.
pub fn check(root: &Path, vmpush: &Path, case: &Path) -> (Vec<String>, String) {
    let spec: Value =
        serde_json::from_slice(&std::fs::read(case.join("case.json")).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    prepare(root, case, &spec, dir.path());
    let args: Vec<String> = spec["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    let (code, stdout, stderr, took) = run(vmpush, dir.path(), &args, Duration::from_secs(10));
    let wrong = judge(&spec, code, &stdout, &stderr, took);
    (wrong, stderr.lines().next().unwrap_or_default().to_string())
}
