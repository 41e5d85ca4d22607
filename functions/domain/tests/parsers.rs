//! Property tests over every parser of untrusted input: staged metadata (CLOUD_IMAGES
//! `resources.yaml`, AWS_IMAGES `staged.yaml`), StArMap mappings, credentials documents and
//! push requests. Whatever the bytes (random, or a valid document with a span replaced), a
//! parser never panics, and an error is one line that starts with the file it is about.
//! (S3 events and API bodies are the cloud crate's: `vmpush-cloud`'s `lambda` tests.)

use proptest::prelude::*;
use vmpush_domain::inputs::credentials::CredentialSet;
use vmpush_domain::inputs::push::parse_request;
use vmpush_domain::inputs::staged::read_staged;
use vmpush_domain::inputs::starmap::read_repo;
use vmpush_domain::inputs::tree::MemoryTree;

const RESOURCES: &str = "api: v1\nresource: CloudImage\ndescription: \"RHEL 9.4 for EC2\"\n\
    boot_mode: hybrid\ntype: AMI\nbuild: {name: rhel-ec2, version: \"9.4\", respin: \"1\"}\n\
    release: {date: \"20240501\", variant: BaseOS, type: ga}\nimages:\n  - path: rhel.x86_64.raw.xz\n    \
    architecture: x86_64\n    sha256sum: 305e5ece35fde47c2f8470f651141cb3b4052bf9183524f47c9a60260efa8d5b\n";

const STAGED: &str = "header: {version: \"0.2\"}\npayload:\n  files:\n  - relative_path: d/AWS_IMAGES/rhel.raw\n    \
    sha256sum: 305e5ece35fde47c2f8470f651141cb3b4052bf9183524f47c9a60260efa8d5b\n    attributes:\n      \
    description: d\n      region: us-east-1\n      type: hourly\n      virtualization: hvm\n      \
    volume: gp3\n      root_device: /dev/sda1\n      boot_mode: hybrid\n      \
    release: {product: RHEL, version: \"9.4\", arch: x86_64, respin: 1, date: \"20240501\"}\n";

const MAPPING: &str = "- name: rhel-ec2\n  workflow: community\n  cloud: aws\n  billing-code-config: {}\n  \
    mappings:\n    aws-us-storage:\n      provider: AWS\n      meta: {description: d}\n      destinations:\n      \
    - destination: us-east-1-hourly\n        overwrite: false\n        restrict_version: false\n";

const CREDENTIALS: &str = r#"[{"marketplace_account": "aws-us-storage", "auth": {"AWS_IMAGE_ACCESS_KEY": "AKIA0000", "AWS_IMAGE_SECRET_ACCESS": "s3cr3t", "AWS_REGION": "us-east-1", "AWS_S3_BUCKET": "b", "AWS_GROUPS": [], "AWS_SNAPSHOT_ACCOUNTS": []}}]"#;

const REQUEST: &str = "push_id: p1\nsources: [\"staged:s3://b/drops/p1\"]\nworkflow: community\n\
    starmap: {mode: online}\n";

/// A valid document with one span replaced by arbitrary text.
fn mutated(valid: &'static str) -> impl Strategy<Value = Vec<u8>> {
    (
        0..valid.len(),
        0..32usize,
        proptest::collection::vec(any::<u8>(), 0..24),
    )
        .prop_map(move |(at, cut, insert)| {
            let mut bytes = valid.as_bytes().to_vec();
            let end = (at + cut).min(bytes.len());
            bytes.splice(at..end, insert);
            bytes
        })
}

/// Arbitrary bytes, or text made of YAML's punctuation, or a mutated valid document.
fn inputs(valid: &'static str) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..256),
        "[-:{}\\[\\],&*!|>'\"%@` #a-z0-9\n]{0,200}".prop_map(String::into_bytes),
        mutated(valid),
    ]
}

/// One line, about `file`.
fn about(file: &str, message: &str) -> Result<(), TestCaseError> {
    prop_assert!(message.starts_with(file), "{message}");
    prop_assert!(!message.contains('\n'), "{message}");
    Ok(())
}

/// 10,000 cases from a fixed seed: every CI run checks the same inputs (change the seed to
/// explore others).
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 10_000,
        failure_persistence: None,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x5eed_0001),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn cloud_images_metadata(bytes in inputs(RESOURCES)) {
        let tree = MemoryTree::from_contents(
            "/stage",
            [
                ("d/CLOUD_IMAGES/b/resources.yaml", bytes.as_slice()),
                ("d/CLOUD_IMAGES/b/rhel.x86_64.raw.xz", b"x".as_slice()),
            ],
        )
        .unwrap();
        if let Err(e) = read_staged(&tree) {
            about("/stage/d/CLOUD_IMAGES/b", &e.to_string())?;
        }
    }

    #[test]
    fn aws_images_metadata(bytes in inputs(STAGED)) {
        let tree = MemoryTree::from_contents(
            "/stage",
            [
                ("staged.yaml", bytes.as_slice()),
                ("d/AWS_IMAGES/rhel.raw", b"x".as_slice()),
            ],
        )
        .unwrap();
        if let Err(e) = read_staged(&tree) {
            about("/stage", &e.to_string())?;
        }
    }

    #[test]
    fn mappings(bytes in inputs(MAPPING)) {
        if let Err(e) = read_repo("mapping.yaml", &bytes) {
            about("mapping.yaml", &e.to_string())?;
        }
    }

    #[test]
    fn credentials(bytes in inputs(CREDENTIALS)) {
        if let Err(e) = CredentialSet::from_secret("secret s", &bytes) {
            let message = e.to_string();
            about("secret s", &message)?;
            prop_assert!(!message.contains("s3cr3t"), "{message}");
        }
    }

    #[test]
    fn push_requests(bytes in inputs(REQUEST)) {
        match parse_request("push.yaml", &bytes) {
            Ok(request) => {
                if let Err(e) = request.validate(Some("staging")) {
                    prop_assert!(!e.message.contains('\n'), "{}", e.message);
                }
            }
            Err(e) => about("push.yaml", &e.message)?,
        }
    }
}

/// The documents the mutations start from are valid: the properties above see both sides.
#[test]
fn the_seed_documents_parse() {
    let cloud = MemoryTree::from_contents(
        "/stage",
        [
            ("d/CLOUD_IMAGES/b/resources.yaml", RESOURCES.as_bytes()),
            ("d/CLOUD_IMAGES/b/rhel.x86_64.raw.xz", b"x".as_slice()),
        ],
    )
    .unwrap();
    assert_eq!(read_staged(&cloud).unwrap().items.len(), 1);
    let aws = MemoryTree::from_contents(
        "/stage",
        [
            ("staged.yaml", STAGED.as_bytes()),
            ("d/AWS_IMAGES/rhel.raw", b"x".as_slice()),
        ],
    )
    .unwrap();
    assert_eq!(read_staged(&aws).unwrap().items.len(), 1);
    assert_eq!(
        read_repo("mapping.yaml", MAPPING.as_bytes()).unwrap().len(),
        1
    );
    CredentialSet::from_secret("secret s", CREDENTIALS.as_bytes()).unwrap();
    parse_request("push.yaml", REQUEST.as_bytes())
        .unwrap()
        .validate(Some("staging"))
        .unwrap();
}
