//! The bad-input corpus (`tests/bad-inputs/`, see its `corpus.rs`) against `vmpush plan`:
//! every case fails clearly and quickly.

use std::path::Path;

#[path = "../../tests/bad-inputs/corpus.rs"]
mod corpus;

#[test]
fn every_bad_input_fails_clearly_and_quickly() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let cases = corpus::cases(root);
    assert!(cases.len() >= 80, "{} cases", cases.len());
    let vmpush = Path::new(env!("CARGO_BIN_EXE_vmpush"));
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            let (wrong, line) = corpus::check(root, vmpush, case);
            (!wrong.is_empty()).then(|| {
                format!(
                    "{}: {} (stderr: {line})",
                    case.file_name().unwrap().to_string_lossy(),
                    wrong.join(", ")
                )
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
