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
