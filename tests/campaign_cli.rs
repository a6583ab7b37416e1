//! End-to-end checks from a kill-and-bad-input campaign against the binary: negative numbers as
//! values, a study another user owns, printed paths, warnings in files, process limits.

mod support;

use std::path::Path;
use support::{anneal_in, json, stdout};

/// A study `s` of two told trials in `db` (ask, tell, ask, tell).
fn two_trials(dir: &Path, db: &str, values: [&str; 2]) {
    for (number, value) in values.iter().enumerate() {
        let asked = json(&stdout(&anneal_in(
            dir,
            &[
                "ask",
                "--study",
                "s",
                "--storage",
                db,
                "--space",
                r#"{"x": {"float": [-1, 1]}}"#,
            ],
        )));
        assert_eq!(asked["trial"], number);
        let number = number.to_string();
        stdout(&anneal_in(
            dir,
            &[
                "tell",
                "--study",
                "s",
                "--storage",
                db,
                "--trial",
                &number,
                "--value",
                value,
            ],
        ));
    }
}

#[test]
fn tell_takes_a_negative_value_as_its_own_argument() {
    let dir = tempfile::tempdir().unwrap();
    two_trials(dir.path(), "s.db", ["-1.5", "-0.25"]);
    let best = json(&stdout(&anneal_in(
        dir.path(),
        &["study", "--storage", "s.db", "best", "s", "--json"],
    )));
    assert_eq!(best["number"], 0);
    assert_eq!(best["value"], -1.5);
    let shown = stdout(&anneal_in(
        dir.path(),
        &["study", "--storage", "s.db", "show", "s"],
    ));
    assert!(shown.contains("-0.250000"), "{shown}");
}
