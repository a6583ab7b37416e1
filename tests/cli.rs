//! End-to-end tests of the `anneal` binary.

use std::process::{Command, Output};

fn anneal(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_anneal"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("ANNEAL_DATA_DIR")
        .output()
        .expect("the anneal binary runs")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "anneal failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn datasets_lists_all_seven_with_counts() {
    let text = stdout(&anneal(&["datasets"]));
    let line = |name: &str| -> Vec<String> {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} missing from:\n{text}"))
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    // name, task, shape, classes, samples, train, test, ...
    assert_eq!(
        line("mnist")[1..8],
        [
            "classification",
            "1×28×28",
            "10",
            "70000",
            "60000",
            "10000",
            "official"
        ]
    );
    assert_eq!(line("fashion-mnist")[4..7], ["70000", "60000", "10000"]);
    assert_eq!(line("digits")[2..5], ["1×8×8", "10", "1797"]);
    assert_eq!(
        line("iris")[2..8],
        ["4", "features", "3", "150", "120", "30"]
    );
    assert_eq!(line("wine")[5], "178");
    assert_eq!(line("breast_cancer")[5], "569");
    assert_eq!(
        line("diabetes")[1..7],
        ["regression", "10", "features", "-", "442", "354"]
    );
}

#[test]
fn datasets_json_is_machine_readable() {
    let text = stdout(&anneal(&["datasets", "--json"]));
    let list: serde_json::Value = serde_json::from_str(&text).unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 7);
    let digits = list.iter().find(|d| d["name"] == "digits").unwrap();
    assert_eq!(digits["samples"], 1797);
    assert_eq!(digits["shape"], serde_json::json!([1, 8, 8]));
    assert_eq!(digits["test_split"], "held out");
}

#[test]
fn datasets_show_verifies_and_describes() {
    let text = stdout(&anneal(&["datasets", "show", "wine"]));
    assert!(text.contains("class counts [59, 71, 48]"), "{text}");
    assert!(
        text.contains("wine_data.csv") && text.contains("verified"),
        "{text}"
    );
}

#[test]
fn checking_a_malformed_csv_fails_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mine.csv");
    std::fs::write(&path, "a,b,label\n1,2,x\n3,?,y\n").unwrap();
    let output = anneal(&["datasets", "check", "--csv", path.to_str().unwrap()]);
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("mine.csv, line 3, column 2: '?' is not a number"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    std::fs::write(&path, "a,b,label\n1,2,x\n3,4,y\n").unwrap();
    let text = stdout(&anneal(&[
        "datasets",
        "check",
        "--csv",
        path.to_str().unwrap(),
        "--target",
        "label",
    ]));
    assert!(
        text.contains("2 samples") && text.contains("2 classes"),
        "{text}"
    );
}

#[test]
fn bad_data_dir_and_unknown_dataset_are_clear_errors() {
    let output = anneal(&["--data-dir", "/nonexistent/anneal-data", "datasets"]);
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("/nonexistent/anneal-data") && !err.contains("panicked"),
        "{err}"
    );

    let output = anneal(&["datasets", "show", "cifar10"]);
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("unknown dataset 'cifar10'") && err.contains("fashion-mnist"),
        "{err}"
    );
}
