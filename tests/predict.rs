//! `anneal predict` on tables: a finished run scores new rows as its training data was scored,
//! from any directory, with clear errors for inputs that do not fit; and a table as it really
//! comes (text columns, missing cells, a separate test file) trains, tunes and predicts end to
//! end. Images: predict_images.rs.

mod support;

use std::path::{Path, PathBuf};

use anneal_data::{Catalog, split};
use anneal_train::RunConfig;
use support::{anneal_in, assert_same_metrics, json, root, stderr_of_failure, stdout, summary};

/// Trains `config` briefly, writes its run's held-out test rows out as a user would have them
/// (a header, the feature columns, the target last), and predicts them. Returns the run's recorded
/// test figures, the predicted metrics, the targets and the predictions file's rows.
fn predict_stored_split(
    dir: &Path,
    config: &str,
    dataset: &str,
) -> (
    serde_json::Value,
    serde_json::Value,
    anneal_data::Targets,
    Vec<String>,
) {
    let runs = dir.join("runs");
    stdout(&anneal_in(
        root(),
        &[
            "train",
            "--config",
            config,
            "--runs-dir",
            runs.to_str().unwrap(),
            "--name",
            dataset,
            "--set",
            "train.epochs=3",
            "--quiet",
        ],
    ));
    let run = runs.join(dataset);
    let resolved = RunConfig::load(&run.join("config.toml"), &[]).unwrap();
    let catalog = Catalog::open(&root().join("datasets")).unwrap();
    let splits = split(catalog.load(dataset).unwrap(), &resolved.data.split).unwrap();
    let test = &splits.test;
    let mut text: String = (0..test.feature_len()).map(|i| format!("x{i},")).collect();
    text.push_str("target\n");
    for row in 0..test.len() {
        for value in test.row(row) {
            text.push_str(&format!("{value},"));
        }
        match &test.targets {
            anneal_data::Targets::Classes(c) => text.push_str(&format!("{}\n", c[row])),
            anneal_data::Targets::Values(v) => text.push_str(&format!("{}\n", v[row])),
        }
    }
    let rows = dir.join(format!("{dataset}-held-out.csv"));
    std::fs::write(&rows, text).unwrap();

    let predictions = dir.join(format!("{dataset}-predictions.csv"));
    let output = anneal_in(
        dir,
        &[
            "predict",
            run.to_str().unwrap(),
            "--csv",
            rows.to_str().unwrap(),
            "--out",
            predictions.to_str().unwrap(),
            "--json",
        ],
    );
    let metrics = json(&stdout(&output));
    let written = std::fs::read_to_string(&predictions).unwrap();
    (
        summary(&run)["test"].clone(),
        metrics,
        test.targets.clone(),
        written.lines().map(str::to_string).collect(),
    )
}

#[test]
fn predict_reproduces_the_test_metrics_on_the_stored_split_of_a_bundled_table() {
    let dir = tempfile::tempdir().unwrap();
    let (recorded, metrics, targets, lines) =
        predict_stored_split(dir.path(), "configs/digits-mlp.toml", "digits");
    assert_same_metrics(&recorded, &metrics);
    let header: Vec<&str> = lines[0].split(',').collect();
    assert_eq!(header.len(), 11, "{header:?}");
    assert_eq!(header[..3], ["predicted", "prob_0", "prob_1"]);
    let classes = targets.classes().unwrap();
    assert_eq!(lines.len(), classes.len() + 1);
    let mut correct = 0;
    for (line, &class) in lines[1..].iter().zip(classes) {
        let cells: Vec<&str> = line.split(',').collect();
        let probabilities: Vec<f64> = cells[1..].iter().map(|c| c.parse().unwrap()).collect();
        assert!(
            (probabilities.iter().sum::<f64>() - 1.0).abs() < 1e-4,
            "{line}"
        );
        correct += usize::from(cells[0] == class.to_string());
    }
    let accuracy = metrics["accuracy"].as_f64().unwrap();
    assert_eq!(correct, (accuracy * classes.len() as f64).round() as usize);
}

#[test]
fn regression_predictions_are_in_the_targets_units_and_reproduce_the_test_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let (recorded, metrics, targets, lines) =
        predict_stored_split(dir.path(), "configs/diabetes-mlp.toml", "diabetes");
    assert_same_metrics(&recorded, &metrics);
    assert_eq!(lines[0], "predicted");
    let predicted: Vec<f64> = lines[1..].iter().map(|l| l.parse().unwrap()).collect();
    let anneal_data::Targets::Values(actual) = targets else {
        panic!("diabetes is a regression set")
    };
    assert_eq!(predicted.len(), actual.len());
    // The mean squared error of the written values (disease progression, ~25 to 346) is the
    // reported one: the outputs were mapped back from the standardised scale.
    let mse = predicted
        .iter()
        .zip(&actual)
        .map(|(p, &a)| (p - a as f64).powi(2))
        .sum::<f64>()
        / actual.len() as f64;
    let reported = metrics["mse"].as_f64().unwrap();
    assert!(
        (mse - reported).abs() <= 1e-4 * reported,
        "{mse} vs {reported}"
    );
    assert!(
        reported > 100.0,
        "in the target's units, not standardised: {reported}"
    );
}

/// A made-up table with text columns and holes: `rows` customers, churn decided by their plan,
/// calls and tenure (deterministic, so every run of the test sees the same file).
fn customers(rows: usize, offset: usize, with_target: bool) -> String {
    let mut text = String::from("id,plan,region,tenure,calls,age");
    text.push_str(if with_target { ",churned\n" } else { "\n" });
    for i in offset..offset + rows {
        let plan = ["basic", "standard", "premium"][i % 3];
        let region = ["north", "south", "east"][(i / 3) % 3];
        let tenure = (i * 7) % 48 + 1;
        let calls = (i * 5) % 6;
        let age = if i % 11 == 0 {
            String::new()
        } else if i % 13 == 0 {
            "NA".into()
        } else {
            ((i * 3) % 50 + 20).to_string()
        };
        let churned = (plan == "basic" && calls >= 2) || (calls >= 4 && tenure < 20);
        text.push_str(&format!("c{i},{plan},{region},{tenure},{calls},{age}"));
        if with_target {
            text.push_str(if churned { ",yes\n" } else { ",no\n" });
        } else {
            text.push('\n');
        }
    }
    text
}

const CHURN_RUN: &str = r#"
[data]
csv = { path = "data/train.csv", test_path = "data/test.csv", task = "classification", target = "churned", ignore = ["id"] }
impute = "median"
preprocess = [{ kind = "standardize" }]
[model]
kind = "mlp"
depth = 1
units = 32
[train]
epochs = 12
batch_size = 32
lr = 0.01
early_stopping = { monitor = "val_loss" }
"#;

const CHURN_SWEEP: &str = r#"
study = "churn"
base = "churn.toml"
metric = "val_accuracy"
trials = 4
seed = 0
sampler = { kind = "random" }

[[search]]
name = "data.impute"
choices = ["mean", "median", "most_frequent"]

[[search]]
name = "data.encoding"
choices = ["one_hot", "ordinal"]
"#;

/// A project folder: `configs/churn.toml`, its sweep, and `configs/data/{train,test}.csv`.
fn churn_project(dir: &Path) -> PathBuf {
    let configs = dir.join("configs");
    std::fs::create_dir_all(configs.join("data")).unwrap();
    std::fs::write(configs.join("churn.toml"), CHURN_RUN).unwrap();
    std::fs::write(configs.join("churn.sweep.toml"), CHURN_SWEEP).unwrap();
    std::fs::write(configs.join("data/train.csv"), customers(300, 0, true)).unwrap();
    std::fs::write(configs.join("data/test.csv"), customers(90, 300, true)).unwrap();
    configs
}

#[test]
fn a_table_with_text_and_holes_trains_tunes_and_predicts_from_any_directory() {
    let dir = tempfile::tempdir().unwrap();
    let configs = churn_project(dir.path());
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();

    // Trained from a directory that is not the config's: its paths resolve from the config.
    let output = anneal_in(
        &elsewhere,
        &[
            "train",
            "--config",
            configs.join("churn.toml").to_str().unwrap(),
            "--runs-dir",
            "runs",
            "--json",
        ],
    );
    let trained = json(&stdout(&output));
    assert_eq!(trained["status"], "completed", "{trained}");
    assert_eq!(trained["test_samples"], 90, "the test file is the test set");
    assert!(trained["official_test"].as_bool().unwrap());
    // The config's early_stopping table has no patience: the run records the default.
    let run = elsewhere.join("runs/churn");
    let recorded = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(recorded.contains("patience = 10"), "{recorded}");
    assert!(
        recorded.contains(&format!(
            "path = \"{}\"",
            configs.join("data/train.csv").display()
        )),
        "the run records absolute paths: {recorded}"
    );

    // eval and predict from a third directory.
    let third = dir.path();
    let eval = json(&stdout(&anneal_in(
        third,
        &["eval", run.to_str().unwrap(), "--json"],
    )));
    assert_eq!(eval["matches_recorded"], true);
    let test_csv = configs.join("data/test.csv");
    let output = anneal_in(
        third,
        &[
            "predict",
            run.to_str().unwrap(),
            "--csv",
            test_csv.to_str().unwrap(),
            "--out",
            "predictions.csv",
            "--json",
        ],
    );
    assert_same_metrics(&trained["test"], &json(&stdout(&output)));

    // New customers, without the churn column, in another column order: one row each, with
    // the ignored ID column carried through so predictions join back to their rows.
    let mut new_rows: Vec<String> = customers(25, 1000, false)
        .lines()
        .map(|l| l.split(',').rev().collect::<Vec<_>>().join(","))
        .collect();
    new_rows.push(String::new());
    let new = dir.path().join("new.csv");
    std::fs::write(&new, new_rows.join("\n")).unwrap();
    let output = anneal_in(
        third,
        &["predict", run.to_str().unwrap(), "--csv", "new.csv"],
    );
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "id,predicted,prob_no,prob_yes");
    assert_eq!(lines.len(), 26, "{text}");
    for (i, line) in lines[1..].iter().enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells[0], format!("c{}", 1000 + i), "{text}");
        assert!(cells[1] == "no" || cells[1] == "yes", "{text}");
    }
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("25 rows"),
        "the count goes to stderr, away from the predictions"
    );

    // A sweep over how the table becomes features, then predictions from its retrained best.
    let output = anneal_in(
        dir.path(),
        &[
            "tune",
            configs.join("churn.sweep.toml").to_str().unwrap(),
            "--storage",
            "studies.db",
            "--retrain-best",
        ],
    );
    let text = stdout(&output);
    assert!(text.contains("4 trials (4 complete"), "{text}");
    // Each trial's sampled encoding reached its fitted pipeline.
    let mut seen = std::collections::BTreeSet::new();
    for t in 0..4 {
        let folder = dir.path().join(format!("runs/churn/trial-{t}"));
        let config = std::fs::read_to_string(folder.join("config.toml")).unwrap();
        let line = |key: &str| {
            config
                .lines()
                .find(|l| l.starts_with(key))
                .unwrap_or_else(|| panic!("no {key} in {config}"))
                .to_string()
        };
        let (impute, encoding) = (line("impute = "), line("encoding = "));
        let pipeline = json(&std::fs::read_to_string(folder.join("pipeline.json")).unwrap());
        let plan = &pipeline["inputs"]["encoder"]["columns"][0];
        assert_eq!(plan["name"], "plan");
        assert_eq!(
            plan["ordinal"].as_bool().unwrap(),
            encoding.contains("ordinal"),
            "{encoding}: {plan}"
        );
        seen.insert((impute, encoding));
    }
    assert!(
        seen.len() > 1,
        "the sweep searched the table keys: {seen:?}"
    );
    let best = dir.path().join("runs/churn/best-retrained");
    let output = anneal_in(
        dir.path(),
        &[
            "predict",
            best.to_str().unwrap(),
            "--csv",
            test_csv.to_str().unwrap(),
            "--out",
            "best.csv",
            "--json",
        ],
    );
    assert_same_metrics(&summary(&best)["test"], &json(&stdout(&output)));
}

#[test]
fn inputs_that_do_not_fit_the_model_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let configs = churn_project(dir.path());
    // No imputation and unseen categories refused: the defaults.
    let strict = CHURN_RUN.replace("impute = \"median\"", "");
    std::fs::write(configs.join("strict.toml"), strict).unwrap();
    let output = anneal_in(
        dir.path(),
        &["train", "--config", "configs/strict.toml", "--quiet"],
    );
    let err = stderr_of_failure(&output);
    assert!(
        err.contains("train.csv, line 2, column 6")
            && err.contains("missing value (empty) in column 'age'")
            && err.contains("data.impute"),
        "{err}"
    );
    let output = anneal_in(
        dir.path(),
        &[
            "train",
            "--config",
            "configs/churn.toml",
            "--quiet",
            "--set",
            "train.epochs=2",
        ],
    );
    stdout(&output);
    let run = dir.path().join("runs/churn");
    let run = run.to_str().unwrap();

    let header = "plan,region,tenure,calls,age";
    let cases: [(&str, String, &str); 6] = [
        (
            "missing.csv",
            "plan,region,tenure,age\nbasic,north,3,40\n".into(),
            "column 'calls' is missing; the model was trained on: plan, region, tenure, calls, age",
        ),
        (
            "extra.csv",
            format!("{header},income\nbasic,north,3,1,40,100\n"),
            "column 'income' is not one the model was trained on",
        ),
        (
            "unseen.csv",
            format!("{header}\nbasic,north,3,1,40\ngold,north,3,1,40\n"),
            "unseen.csv, line 3, column 1: 'gold' in column 'plan' is a category the training rows never had",
        ),
        (
            "word.csv",
            format!("{header}\nbasic,north,three,1,40\n"),
            "word.csv, line 2, column 3: 'three' is not a number",
        ),
        (
            "short.csv",
            format!("{header}\nbasic,north,3\n"),
            "short.csv, line 2, column 4: row has 3 columns, expected 5",
        ),
        (
            "class.csv",
            format!("{header},churned\nbasic,north,3,1,40,maybe\n"),
            "class.csv, line 2, column 6: class 'maybe' does not occur in the training data",
        ),
    ];
    for (name, text, expected) in cases {
        std::fs::write(dir.path().join(name), text).unwrap();
        let err = stderr_of_failure(&anneal_in(dir.path(), &["predict", run, "--csv", name]));
        assert!(err.contains(expected), "{name}: {err}");
    }
    // Missing cells at predict time take the training rows' fill values (impute = "median"):
    // the same answer as the row with those values written in.
    let pipeline =
        json(&std::fs::read_to_string(dir.path().join("runs/churn/pipeline.json")).unwrap());
    let fill = |column: usize| {
        let value = &pipeline["inputs"]["encoder"]["columns"][column];
        value["fill"].as_f64().unwrap_or_else(|| panic!("{value}")) as f32
    };
    let (tenure, age) = (fill(2), fill(4));
    std::fs::write(
        dir.path().join("holes.csv"),
        format!("{header}\nbasic,north,,1,NA\nbasic,north,{tenure},1,{age}\n"),
    )
    .unwrap();
    let text = stdout(&anneal_in(
        dir.path(),
        &["predict", run, "--csv", "holes.csv"],
    ));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[1], lines[2], "{text}");

    // A target column filled in for some rows only: all rows predicted, those rows scored.
    std::fs::write(
        dir.path().join("partial.csv"),
        format!("{header},churned\nbasic,north,3,4,40,yes\npremium,east,30,0,50,\nbasic,south,5,3,30,no\n"),
    )
    .unwrap();
    let output = anneal_in(dir.path(), &["predict", run, "--csv", "partial.csv"]);
    assert_eq!(stdout(&output).lines().count(), 4);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("metrics of the 2 rows whose target is filled in") && err.contains("accuracy"),
        "{err}"
    );
    std::fs::write(dir.path().join("empty.csv"), format!("{header}\n")).unwrap();
    let err = stderr_of_failure(&anneal_in(
        dir.path(),
        &["predict", run, "--csv", "empty.csv"],
    ));
    assert!(err.contains("empty.csv: no rows to predict"), "{err}");

    let err = stderr_of_failure(&anneal_in(
        dir.path(),
        &["predict", run, "--idx", "images.idx"],
    ));
    assert!(err.contains("was trained on a table; give --csv"), "{err}");
    let err = stderr_of_failure(&anneal_in(
        dir.path(),
        &["predict", "runs/nothing", "--csv", "holes.csv"],
    ));
    assert!(
        err.contains("runs/nothing") && err.contains("not a run folder"),
        "{err}"
    );
}

#[test]
fn bundled_tables_take_class_indices_or_names_and_headerless_files_bind_by_position() {
    let dir = tempfile::tempdir().unwrap();
    // iris's file holds class indices, its model class names: both are accepted.
    let (recorded, metrics, _, lines) =
        predict_stored_split(dir.path(), "configs/iris-mlp.toml", "iris");
    assert_same_metrics(&recorded, &metrics);
    assert_eq!(
        lines[0],
        "predicted,prob_setosa,prob_versicolor,prob_virginica"
    );
    let run = dir.path().join("runs/iris");
    let run = run.to_str().unwrap();
    std::fs::write(
        dir.path().join("named.csv"),
        "a,b,c,d,species\n5.1,3.5,1.4,0.2,setosa\n6.7,3.0,5.2,2.3,2\n",
    )
    .unwrap();
    let output = anneal_in(
        dir.path(),
        &[
            "predict",
            run,
            "--csv",
            "named.csv",
            "--out",
            "o.csv",
            "--json",
        ],
    );
    // Both rows scored: 'setosa' by name, '2' by index (virginica).
    let scored = json(&stdout(&output));
    let confusion = scored["confusion"].as_array().unwrap();
    let per_class: Vec<u64> = confusion
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .sum()
        })
        .collect();
    assert_eq!(per_class, [1, 0, 1], "{scored}");

    // A run folder from before runs saved their pipeline: it is refitted from the data.
    let held_out = dir.path().join("iris-held-out.csv");
    let held_out = held_out.to_str().unwrap();
    std::fs::remove_file(dir.path().join("runs/iris/pipeline.json")).unwrap();
    let output = anneal_in(
        dir.path(),
        &[
            "predict",
            run,
            "--csv",
            held_out,
            "--out",
            "again.csv",
            "--json",
        ],
    );
    assert_same_metrics(&recorded, &json(&stdout(&output)));

    // A user's file without a header: columns by position, the target optional.
    let mut rows = String::new();
    for i in 0..60 {
        let class = i % 2;
        rows.push_str(&format!("{},{},{class}\n", i % 7 + 10 * class, (i * 3) % 5));
    }
    std::fs::write(dir.path().join("plain.csv"), rows).unwrap();
    std::fs::write(
        dir.path().join("plain.toml"),
        r#"
[data]
csv = { path = "plain.csv", task = "classification", header = "none" }
[model]
kind = "mlp"
depth = 1
units = 8
[train]
epochs = 2
"#,
    )
    .unwrap();
    stdout(&anneal_in(
        dir.path(),
        &["train", "--config", "plain.toml", "--quiet"],
    ));
    let run = dir.path().join("runs/plain");
    let run = run.to_str().unwrap();
    std::fs::write(dir.path().join("two.csv"), "3,1\n15,2\n").unwrap();
    let text = stdout(&anneal_in(
        dir.path(),
        &["predict", run, "--csv", "two.csv"],
    ));
    assert_eq!(text.lines().count(), 3, "{text}");
    std::fs::write(dir.path().join("three.csv"), "3,1,0\n15,2,1\n").unwrap();
    let output = anneal_in(
        dir.path(),
        &["predict", run, "--csv", "three.csv", "--out", "p.csv"],
    );
    assert!(
        stdout(&output).contains("accuracy"),
        "the last column is the target"
    );
    std::fs::write(dir.path().join("four.csv"), "3,1,0,9\n").unwrap();
    let err = stderr_of_failure(&anneal_in(
        dir.path(),
        &["predict", run, "--csv", "four.csv"],
    ));
    assert!(
        err.contains(
            "rows have 4 columns; without a header, rows need the training file's columns in order: 2 (2 features: x0, x1), the target 'x2' optionally"
        ),
        "{err}"
    );
}
