use serde_json::{Value, json};

use super::*;
use crate::ports::memory::{MemoryExecutions as Machine, MemoryObjects as Objects};

fn created(records: &[(&str, &str)]) -> Vec<Created> {
    records
        .iter()
        .map(|(bucket, key)| Created {
            bucket: bucket.to_string(),
            key: key.to_string(),
        })
        .collect()
}

fn drop_with(request: &str) -> Objects {
    Objects::with("staging", "drops/rhel-9.4_1/push.yaml", request.as_bytes())
}

#[tokio::test]
async fn duplicate_events_for_one_drop_start_one_execution() {
    // GIVEN a drop whose push.yaml names only the workflow
    let objects = drop_with("workflow: community\nstarmap: {mode: online}\n");
    let machine = Machine::default();
    // WHEN its event arrives twice, in one batch and again later, with other keys around it
    let event = created(&[
        ("staging", "drops/rhel-9.4_1/push.yaml"),
        (
            "staging",
            "drops/rhel-9.4_1/starmap/CLOUD_IMAGES/x/resources.yaml",
        ),
        ("staging", "drops/rhel-9.4_1/push.yaml"),
    ]);
    let first = drops(&event, &objects, &machine, at(None)).await.unwrap();
    let second = drops(&event, &objects, &machine, at(None)).await.unwrap();
    // THEN one execution runs, the others attached to it
    let started = machine.started();
    assert_eq!(started.len(), 1);
    let (name, input) = &started[0];
    assert!(name.starts_with("rhel-9.4_1-"), "{name}");
    let input: Value = serde_json::from_str(input).unwrap();
    assert_eq!(input["push_id"], "rhel-9.4_1");
    assert_eq!(
        input["sources"],
        json!([{"bucket": "staging", "prefix": "drops/rhel-9.4_1"}])
    );
    assert_eq!(
        input["request"]["sources"],
        json!(["staged:s3://staging/drops/rhel-9.4_1"])
    );
    let flags: Vec<bool> = first
        .pushes
        .iter()
        .chain(&second.pushes)
        .map(|p| p.started)
        .collect();
    assert_eq!(flags, [true, false, false, false]);
    assert_eq!(second.pushes[0].status, 200);
    assert_eq!(
        first.pushes[0].execution_arn,
        second.pushes[0].execution_arn
    );
}

#[tokio::test]
async fn requests_start_once_and_bad_ones_start_nothing() {
    let machine = Machine::default();
    let parse = |v: Value| serde_json::from_value::<PushRequest>(v).unwrap();
    let good = json!({"push_id": "p1", "sources": ["staged:drops/p1"], "workflow": "marketplace", "pre_push": true});
    let first = request(parse(good.clone()), &machine, at(Some("staging")))
        .await
        .unwrap();
    assert_eq!((first.status, first.started), (202, true));
    let again = request(parse(good), &machine, at(Some("staging")))
        .await
        .unwrap();
    assert_eq!((again.status, again.started), (200, false));
    for (bad, message) in [
        (
            json!({"sources": ["staged:s3://b/p"], "starmap": {"mode": "offline"}}),
            "starmap.repo: the offline and hybrid modes need local mappings",
        ),
        (
            json!({"sources": []}),
            "sources: at least one staged: source is required",
        ),
        (
            json!({"sources": ["staged:s3://b/p"], "starmap": {"url": "http://169.254.169.254/latest"}}),
            "starmap.url: 'http://169.254.169.254/latest' is not a StArMap server of this deployment (its StarmapUrl or StarmapAllowedUrls)",
        ),
    ] {
        let err = request(parse(bad), &machine, at(None)).await.unwrap_err();
        assert_eq!(
            (err.kind, err.message.as_str()),
            (ErrorKind::InvalidInput, message)
        );
    }
    assert_eq!(machine.started().len(), 1);
}

#[tokio::test]
async fn a_bad_push_yaml_becomes_a_rejected_execution_naming_file_and_field() {
    let machine = Machine::default();
    for (yaml, message) in [
        (
            "push_id: other\n",
            "s3://staging/drops/rhel-9.4_1/push.yaml: push_id: 'other' differs from the drop's 'rhel-9.4_1'",
        ),
        (
            "starmap: {mode: offline}\n",
            "s3://staging/drops/rhel-9.4_1/push.yaml: starmap.repo: the offline and hybrid modes need local mappings",
        ),
        (
            "starmap: {url: 'https://starmap.attacker.example'}\n",
            "s3://staging/drops/rhel-9.4_1/push.yaml: starmap.url: 'https://starmap.attacker.example' is not a StArMap server of this deployment (its StarmapUrl or StarmapAllowedUrls)",
        ),
        (
            "workflow: [\n",
            "s3://staging/drops/rhel-9.4_1/push.yaml: workflow: invalid type: sequence, expected a YAML tag starting with '!' at line 1 column 11",
        ),
    ] {
        let out = drops(
            &created(&[("staging", "drops/rhel-9.4_1/push.yaml")]),
            &drop_with(yaml),
            &machine,
            at(None),
        )
        .await
        .unwrap();
        let push = &out.pushes[0];
        assert_eq!(
            (push.status, push.error.as_deref()),
            (400, Some(message)),
            "{yaml}"
        );
        let started = machine.started();
        let (name, input) = started.last().unwrap();
        assert_eq!(&push.execution_name, name);
        let input: Value = serde_json::from_str(input).unwrap();
        assert_eq!(
            (
                &input["push_id"],
                &input["sources"],
                &input["failure"]["Error"]
            ),
            (&json!("rhel-9.4_1"), &json!([]), &json!("InvalidInput"))
        );
        // the cause is the plain message, not a document inside a document
        assert_eq!(input["failure"]["Cause"], message);
    }
    assert_eq!(machine.started().len(), 4);
    // the same bad file again starts nothing new
    drops(
        &created(&[("staging", "drops/rhel-9.4_1/push.yaml")]),
        &drop_with("push_id: other\n"),
        &machine,
        at(None),
    )
    .await
    .unwrap();
    assert_eq!(machine.started().len(), 4);
}

#[test]
fn only_drop_requests_count() {
    assert_eq!(
        drop_push_id("drops/rhel-9.4/push.yaml").unwrap(),
        Some("rhel-9.4")
    );
    for key in [
        "drops/p-1/x/push.yaml",
        "other/p/push.yaml",
        "drops/p/push.yml",
    ] {
        assert_eq!(drop_push_id(key).unwrap(), None, "{key}");
    }
    for key in [
        "drops//push.yaml",
        "drops/../push.yaml",
        "drops/a b/push.yaml",
    ] {
        assert!(
            drop_push_id(key)
                .unwrap_err()
                .message
                .starts_with(&format!("{key}: ")),
            "{key}"
        );
    }
}

/// The deployment of the tests: staging bucket `staging` (or none), one StArMap server listed
/// besides the default.
fn at(staging_bucket: Option<&'static str>) -> crate::steps::start_push::Deployment<'static> {
    static SERVERS: std::sync::LazyLock<crate::inputs::push::StarmapServers> =
        std::sync::LazyLock::new(|| {
            crate::inputs::push::StarmapServers::new(None, Some("https://starmap.example.com"))
        });
    crate::steps::start_push::Deployment {
        staging_bucket,
        starmap: &SERVERS,
    }
}
