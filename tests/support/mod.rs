//! Running the `anneal` binary from the end-to-end tests.

#![allow(dead_code)] // each test file uses its own share

use std::path::Path;
use std::process::{Command, Output};

/// The repository root: bundled datasets and ready configs.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs anneal in `cwd`, with the bundled datasets whatever the folder.
pub fn anneal_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_anneal"))
        .args(args)
        .current_dir(cwd)
        .env("ANNEAL_DATA_DIR", root().join("datasets"))
        .output()
        .expect("the anneal binary runs")
}

/// Standard output of a run that must have succeeded (else its standard error in the panic).
pub fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "anneal failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// Standard error of a run that must have failed, without a panic.
pub fn stderr_of_failure(output: &Output) -> String {
    assert!(!output.status.success(), "expected a failure");
    let err = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(!err.contains("panicked"), "{err}");
    err
}

pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// A run folder's summary.json.
pub fn summary(run: &Path) -> serde_json::Value {
    json(&std::fs::read_to_string(run.join("summary.json")).unwrap())
}

/// The recorded test figures and a prediction's figures are the same numbers, not merely close.
pub fn assert_same_metrics(recorded: &serde_json::Value, predicted: &serde_json::Value) {
    for key in [
        "loss",
        "accuracy",
        "macro_f1",
        "confusion",
        "mse",
        "mae",
        "r2",
    ] {
        assert_eq!(recorded.get(key), predicted.get(key), "{key}");
    }
}
