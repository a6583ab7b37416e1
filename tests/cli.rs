//! End-to-end tests of the `anneal` binary.

mod support;

use anneal_tune::Storage as _;
use std::process::{Command, Output};
use support::{anneal_in, stdout};

fn anneal(args: &[&str]) -> Output {
    anneal_in(support::root(), args)
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
    let output = anneal(&["datasets", "--data-dir", "/nonexistent/anneal-data"]);
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

fn write_config(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

const IRIS_RUN: &str = r#"
[data]
dataset = "iris"
preprocess = [{ kind = "standardize" }]
[model]
kind = "mlp"
depth = 1
units = 16
[train]
epochs = 4
batch_size = 16
lr = 0.01
"#;

#[test]
fn train_writes_a_run_that_eval_reproduces() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "iris-quick.toml", IRIS_RUN);
    let runs = dir.path().join("runs");
    let runs = runs.to_str().unwrap();
    let output = anneal(&[
        "train",
        "--config",
        &config,
        "--runs-dir",
        runs,
        "--json",
        "--set",
        "train.epochs=3",
    ]);
    let summary: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(summary["status"], "completed");
    assert_eq!(summary["epochs_run"], 3);
    assert_eq!(summary["name"], "iris-quick");
    assert_eq!(summary["backend"], "flex");
    let accuracy = summary["test"]["accuracy"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&accuracy));
    assert!(summary["test"]["confusion"].is_array());

    // Human output: one line per epoch with validation figures.
    let output = anneal(&["train", "--config", &config, "--runs-dir", runs]);
    let text = stdout(&output);
    assert_eq!(
        text.lines().filter(|l| l.starts_with("epoch ")).count(),
        4,
        "{text}"
    );
    assert!(
        text.contains("val loss") && text.contains("test: accuracy"),
        "{text}"
    );
    assert!(
        text.contains("iris-quick-2"),
        "a taken default name gets a suffix: {text}"
    );

    let run = dir.path().join("runs/iris-quick");
    let output = anneal(&["eval", run.to_str().unwrap(), "--json"]);
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["matches_recorded"], true);
    assert_eq!(report["test"]["accuracy"].as_f64().unwrap(), accuracy);

    // An explicit name that exists is refused.
    let output = anneal(&[
        "train",
        "--config",
        &config,
        "--runs-dir",
        runs,
        "--name",
        "iris-quick",
        "--quiet",
    ]);
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("already exists"), "{err}");
}

#[test]
fn train_rejects_bad_settings_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "iris.toml", IRIS_RUN);
    let runs = dir.path().join("runs");
    for (set, fragment) in [
        ("train.optimizer.momentum=0.9", "unknown field `momentum`"),
        ("train.lr=-1", "train.lr"),
        ("loss.kind=bce", "loss.kind"),
    ] {
        let output = anneal(&[
            "train",
            "--config",
            &config,
            "--runs-dir",
            runs.to_str().unwrap(),
            "--set",
            set,
        ]);
        assert!(!output.status.success(), "{set} accepted");
        let err = String::from_utf8_lossy(&output.stderr);
        assert!(err.contains(fragment), "{set}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    assert!(
        !runs.join("iris").exists(),
        "no run folder for a rejected config"
    );
}

/// Trains the quick iris config with `--set` overrides and checks that the run ends diverged:
/// non-zero exit, the epoch and batch named, `summary.json` saying so.
fn assert_diverges(name: &str, sets: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &format!("{name}.toml"), IRIS_RUN);
    let runs = dir.path().join("runs");
    let mut args = vec![
        "train",
        "--config",
        &config,
        "--runs-dir",
        runs.to_str().unwrap(),
        "--quiet",
    ];
    for set in sets {
        args.extend(["--set", set]);
    }
    let output = anneal(&args);
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("diverged") && err.contains("epoch") && err.contains("batch"),
        "{err}"
    );
    let summary = std::fs::read_to_string(runs.join(name).join("summary.json")).unwrap();
    assert!(summary.contains("\"status\": \"diverged\""), "{summary}");
}

#[test]
fn a_diverging_run_exits_non_zero_and_says_so() {
    assert_diverges(
        "boom",
        &["train.optimizer.kind=sgd", "train.lr=1e30", "model.depth=3"],
    );
}

#[test]
fn the_same_config_and_seed_write_the_same_metrics_csv() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "repeat.toml", IRIS_RUN);
    let runs = dir.path().join("runs");
    let runs_arg = runs.to_str().unwrap();
    for name in ["first", "second"] {
        let output = anneal(&[
            "train",
            "--config",
            &config,
            "--runs-dir",
            runs_arg,
            "--name",
            name,
            "--quiet",
            "--set",
            "model.dropout=0.3",
            "--set",
            "data.augment.noise=0.1",
        ]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        // --quiet: no progress, only the test figures and the run folder.
        let text = String::from_utf8_lossy(&output.stdout);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].starts_with("test: accuracy "), "{text}");
        assert!(lines[1].starts_with("run folder: "), "{text}");
    }
    // Every column but the two wall-clock ones (seconds, samples_per_sec) must match.
    let figures = |name: &str| -> Vec<String> {
        std::fs::read_to_string(runs.join(name).join("metrics.csv"))
            .unwrap()
            .lines()
            .map(|l| l.rsplitn(3, ',').nth(2).unwrap().to_string())
            .collect()
    };
    let (a, b) = (figures("first"), figures("second"));
    assert_eq!(a.len(), 5, "header + 4 epochs");
    assert_eq!(a, b);
}

/// The GPU path end to end through Mesa's software Vulkan (scripts/setup.sh installs it): a small
/// MLP and a small CNN train one epoch on digits with `--backend wgpu` and learn something.
#[test]
fn wgpu_backend_trains_mlp_and_cnn_on_digits() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    for (config, floor) in [
        ("configs/digits-mlp.toml", 0.6),
        ("configs/digits-cnn.toml", 0.3),
    ] {
        let output = anneal(&[
            "train",
            "--config",
            config,
            "--runs-dir",
            runs.to_str().unwrap(),
            "--backend",
            "wgpu",
            "--json",
            "--set",
            "train.epochs=1",
            "--set",
            "train.warmup_epochs=0",
        ]);
        let summary: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
        assert_eq!(summary["backend"], "wgpu");
        assert_eq!(summary["status"], "completed");
        let accuracy = summary["test"]["accuracy"].as_f64().unwrap();
        assert!(
            accuracy >= floor,
            "{config}: one epoch on wgpu reached only {accuracy}"
        );
    }
}

#[test]
fn a_missing_gpu_is_a_clear_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let output = anneal(&[
        "train",
        "--config",
        "configs/iris-mlp.toml",
        "--runs-dir",
        runs.to_str().unwrap(),
        "--backend",
        "wgpu",
        "--device",
        "7",
    ]);
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("GPU 7 is not available") && err.contains("--backend flex"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        !runs.exists(),
        "no run folder for a run that could not start"
    );

    let output = anneal(&[
        "train",
        "--config",
        "configs/iris-mlp.toml",
        "--device",
        "1",
    ]);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && err.contains("needs --backend wgpu"),
        "{err}"
    );
}

const IRIS_SWEEP: &str = r#"
study = "iris-sweep"
base = "iris-quick.toml"
metric = "val_accuracy"
trials = 4
seed = 1
sampler = { kind = "random" }

[[search]]
name = "train.lr"
float = [1e-3, 3e-2]
log = true

[[search]]
name = "train.optimizer.kind"
choices = ["adam", "sgd"]

[[search]]
name = "train.optimizer.momentum"
float = [0.5, 0.95]
when = { "train.optimizer.kind" = ["sgd"] }

[[search]]
name = "model.units"
int = [4, 32]
"#;

#[test]
fn tune_records_a_study_that_study_commands_read_and_export() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "iris-quick.toml", IRIS_RUN);
    let sweep = write_config(dir.path(), "iris.sweep.toml", IRIS_SWEEP);
    let db = dir.path().join("studies.db");
    let db = db.to_str().unwrap();
    let runs = dir.path().join("runs");
    let output = Command::new(env!("CARGO_BIN_EXE_anneal"))
        .args(["tune", &sweep, "--storage", db, "--retrain-best"])
        .current_dir(dir.path())
        .env(
            "ANNEAL_DATA_DIR",
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets"),
        )
        .output()
        .unwrap();
    let text = stdout(&output);
    assert_eq!(
        text.lines().filter(|l| l.starts_with("trial ")).count(),
        4,
        "{text}"
    );
    assert!(text.contains("4 trials (4 complete"), "{text}");
    assert!(runs.join("iris-sweep/trial-3/summary.json").is_file());
    // --retrain-best: the best config on train + validation (108 + 12 iris flowers).
    assert!(text.contains("test (30 samples): accuracy"), "{text}");
    let retrained: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(runs.join("iris-sweep/best-retrained/summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(retrained["train_samples"], 120);

    let show = stdout(&anneal(&["study", "--storage", db, "show", "iris-sweep"]));
    assert_eq!(
        show.lines().filter(|l| l.contains("complete ")).count(),
        4,
        "{show}"
    );
    let list = stdout(&anneal(&["study", "--storage", db, "list"]));
    assert!(
        list.contains("iris-sweep") && list.contains("maximize"),
        "{list}"
    );
    let best = stdout(&anneal(&["study", "--storage", db, "best", "iris-sweep"]));
    assert!(
        best.contains("train.lr = ") && best.contains("run folder"),
        "{best}"
    );

    // The exported best config trains as it is and reproduces the trial's validation figures.
    let best_toml = dir.path().join("best.toml");
    let csv = dir.path().join("trials.csv");
    stdout(&anneal(&[
        "study",
        "--storage",
        db,
        "export",
        "iris-sweep",
        "--config",
        best_toml.to_str().unwrap(),
        "--csv",
        csv.to_str().unwrap(),
    ]));
    let table = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(table.lines().count(), 5, "{table}");
    assert!(
        table.starts_with("number,state,value,seconds,wall_seconds,train.lr,train.optimizer.kind"),
        "{table}"
    );
    let output = anneal(&[
        "train",
        "--config",
        best_toml.to_str().unwrap(),
        "--runs-dir",
        runs.to_str().unwrap(),
        "--name",
        "retrained",
        "--json",
        "--quiet",
    ]);
    let summary: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let study = anneal_tune::SqliteStorage::open(std::path::Path::new(db)).unwrap();
    let record = study.study("iris-sweep").unwrap().unwrap();
    let trials = study.trials(record.id).unwrap();
    let best = anneal_tune::best_trial(&trials, anneal_tune::Direction::Maximize).unwrap();
    let trial_summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(best.run_dir.as_ref().unwrap()).join("summary.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        summary["validation"], trial_summary["validation"],
        "retraining the export reproduces the trial"
    );
}

#[test]
fn a_sweep_killed_with_sigkill_resumes_without_losing_or_repeating_trials() {
    let dir = tempfile::tempdir().unwrap();
    write_config(
        dir.path(),
        "iris-quick.toml",
        &IRIS_RUN.replace("epochs = 4", "epochs = 40"),
    );
    let sweep = write_config(
        dir.path(),
        "iris.sweep.toml",
        &IRIS_SWEEP.replace("trials = 4", "trials = 8"),
    );
    let db = dir.path().join("studies.db");
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_anneal"))
            .args([
                "tune",
                &sweep,
                "--storage",
                db.to_str().unwrap(),
                "--quiet",
                "--jobs",
                "2",
            ])
            .current_dir(dir.path())
            .env(
                "ANNEAL_DATA_DIR",
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets"),
            )
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let count = |state: anneal_tune::TrialState| -> usize {
        let Ok(storage) = anneal_tune::SqliteStorage::open(&db) else {
            return 0;
        };
        let Ok(Some(study)) = storage.study("iris-sweep") else {
            return 0;
        };
        storage
            .trials(study.id)
            .unwrap()
            .iter()
            .filter(|t| t.state == state)
            .count()
    };
    let mut child = spawn();
    // Kill it while a trial is running, after at least two have completed.
    let started = std::time::Instant::now();
    while !(count(anneal_tune::TrialState::Complete) >= 2
        && count(anneal_tune::TrialState::Running) >= 1)
    {
        assert!(
            started.elapsed().as_secs() < 120,
            "the sweep made no progress"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the sweep ended before it could be killed"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL to the parent only
    child.wait().unwrap();
    // Its worker notices the parent is gone and stops too: the database stops changing.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let snapshot = || {
        let storage = anneal_tune::SqliteStorage::open(&db).unwrap();
        let study = storage.study("iris-sweep").unwrap().unwrap();
        storage.trials(study.id).unwrap()
    };
    let settled = snapshot();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(snapshot(), settled, "an orphaned worker is still writing");
    let storage = anneal_tune::SqliteStorage::open(&db).unwrap();
    let study = storage.study("iris-sweep").unwrap().unwrap();
    let before = storage.trials(study.id).unwrap();
    let completed_before: Vec<_> = before
        .iter()
        .filter(|t| t.state == anneal_tune::TrialState::Complete)
        .cloned()
        .collect();
    drop(storage);

    assert!(spawn().wait().unwrap().success());
    let storage = anneal_tune::SqliteStorage::open(&db).unwrap();
    let after = storage.trials(study.id).unwrap();
    assert_eq!(after.len(), 8, "the total matches the budget");
    let numbers: Vec<usize> = after.iter().map(|t| t.number).collect();
    assert_eq!(
        numbers,
        (0..8).collect::<Vec<_>>(),
        "no number lost or repeated"
    );
    for done in &completed_before {
        assert_eq!(
            &after[done.number], done,
            "completed trial {} kept as it was",
            done.number
        );
    }
    let interrupted: Vec<_> = after
        .iter()
        .filter(|t| {
            t.message
                .as_deref()
                .is_some_and(|e| e.contains("interrupted"))
        })
        .collect();
    let running_at_kill = before
        .iter()
        .filter(|t| t.state == anneal_tune::TrialState::Running)
        .count();
    assert!(running_at_kill >= 1);
    assert_eq!(
        interrupted.len(),
        running_at_kill,
        "exactly the killed trials are marked failed"
    );
    assert!(
        after
            .iter()
            .all(|t| t.state != anneal_tune::TrialState::Running)
    );
}

#[test]
fn parallel_workers_share_a_study_without_exceeding_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = write_config(
        dir.path(),
        "branin.sweep.toml",
        "study = \"par\"\nsynthetic = \"branin\"\ntrials = 60\nsampler = { kind = \"tpe\" }\n",
    );
    let db = dir.path().join("par.db");
    let text = stdout(&anneal(&[
        "tune",
        &sweep,
        "--storage",
        db.to_str().unwrap(),
        "--jobs",
        "3",
    ]));
    assert!(text.contains("60 trials (60 complete"), "{text}");
    let storage = anneal_tune::SqliteStorage::open(&db).unwrap();
    let study = storage.study("par").unwrap().unwrap();
    let trials = storage.trials(study.id).unwrap();
    let numbers: Vec<usize> = trials.iter().map(|t| t.number).collect();
    assert_eq!(numbers, (0..60).collect::<Vec<_>>());
    assert!(
        trials.iter().all(|t| t.params.len() == 2),
        "every trial got its parameters"
    );
}

#[test]
fn devices_need_the_gpu_backend() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = write_config(
        dir.path(),
        "b.sweep.toml",
        "study = \"d\"\nsynthetic = \"branin\"\ntrials = 2\n",
    );
    let output = anneal(&["tune", &sweep, "--devices", "0,1"]);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && err.contains("needs --backend wgpu"),
        "{err}"
    );
    let output = anneal(&[
        "tune",
        &sweep,
        "--backend",
        "wgpu",
        "--devices",
        "0,1",
        "--device",
        "1",
    ]);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && err.contains("not both"),
        "{err}"
    );
}

/// The median table's rows of `anneal bench pruning`: (variant, epochs, best, pruned).
fn pruning_rows(text: &str) -> Vec<(String, usize, f64, usize)> {
    text.lines()
        .filter(|line| line.starts_with("| ") && !line.starts_with("| variant"))
        .take(5)
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            (
                cells[1].to_string(),
                cells[2].parse().unwrap(),
                cells[5].parse().unwrap(),
                cells[6].parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn bench_pruning_in_child_processes_matches_one_process() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "iris.toml", IRIS_RUN);
    let sweep = write_config(
        dir.path(),
        "prune.sweep.toml",
        r#"
study = "prune"
base = "iris.toml"
metric = "val_accuracy"
trials = 9
pruner = { kind = "asha", min_resource = 1, reduction_factor = 3 }

[[search]]
name = "train.lr"
float = [1e-4, 1e-1]
log = true

[[search]]
name = "model.units"
int = [2, 32]

[[search]]
name = "train.epochs"
value = 9
"#,
    );
    let run = |jobs: &str| {
        stdout(&anneal(&[
            "bench",
            "pruning",
            "--threads",
            "1",
            "--sweep",
            &sweep,
            "--seeds",
            "2",
            "--jobs",
            jobs,
        ]))
    };
    let in_children = run("2");
    let rows = pruning_rows(&in_children);
    let labels: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        labels,
        [
            "random (full budget)",
            "random + median",
            "random + ASHA",
            "random + Hyperband",
            "TPE + Hyperband"
        ],
        "{in_children}"
    );
    // Full budget: every trial trains all 9 epochs and none is pruned.
    assert_eq!((rows[0].1, rows[0].3), (81, 0), "{in_children}");
    // ASHA (rungs 1, 3, 9) and Hyperband stop trials early.
    for row in &rows[2..] {
        assert!(row.1 < 81 && row.3 > 0, "{row:?}\n{in_children}");
    }
    for row in &rows {
        assert!(row.2 > 0.0 && row.2 <= 1.0, "{row:?}");
    }
    // Each seed's column appears in the per-seed table.
    assert!(
        in_children.contains("| variant | seed 0: best (epochs) | seed 1: best (epochs) |"),
        "{in_children}"
    );
    // The same sweeps in this one process find the same trials.
    let in_process = run("1");
    assert_eq!(
        pruning_rows(&in_process),
        rows,
        "{in_process}\n{in_children}"
    );
}

#[test]
fn a_shell_loop_drives_a_study_through_ask_and_tell() {
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        r#"set -euo pipefail
anneal={anneal}
space='[{{"name": "x", "float": [-5, 5]}}, {{"name": "kind", "choices": ["square", "abs"]}}]'
for i in $(seq 1 12); do
    trial=$($anneal ask --study shell --storage s.db --space "$space" --sampler tpe --seed 3)
    number=$(printf '%s' "$trial" | python3 -c 'import json, sys; print(json.load(sys.stdin)["trial"])')
    value=$(printf '%s' "$trial" | python3 -c 'import json, sys; p = json.load(sys.stdin)["params"]; x = p["x"] - 1; print(x * x if p["kind"] == "square" else abs(x))')
    if [ "$i" = 12 ]; then
        $anneal tell --study shell --storage s.db --trial "$number" --state failed --message "out of time"
    else
        $anneal tell --study shell --storage s.db --trial "$number" --value "$value"
    fi
done
$anneal study --storage s.db show shell
"#,
        anneal = env!("CARGO_BIN_EXE_anneal")
    );
    let output = Command::new("bash")
        .args(["-c", &script])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let text = stdout(&output);
    assert!(
        text.contains("12 trials (11 complete, 0 pruned, 1 failed"),
        "{text}"
    );
    assert!(text.contains("[out of time]"), "{text}");
    // Telling a finished trial again is refused, naming the state.
    let again = anneal(&[
        "tell",
        "--study",
        "shell",
        "--storage",
        dir.path().join("s.db").to_str().unwrap(),
        "--trial",
        "0",
        "--value",
        "1",
    ]);
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        !again.status.success() && err.contains("trial 0") && err.contains("complete, not running"),
        "{err}"
    );
    // The same seed asks for the same first trial.
    let first = |db: &str| {
        stdout(&anneal(&[
            "ask",
            "--study",
            "s",
            "--storage",
            db,
            "--space",
            r#"{"x": {"float": [0, 1]}}"#,
            "--seed",
            "9",
        ]))
    };
    let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
    assert_eq!(first(a.to_str().unwrap()), first(b.to_str().unwrap()));
    // A bad space is an error naming the parameter.
    let bad = anneal(&[
        "ask",
        "--study",
        "s",
        "--storage",
        a.to_str().unwrap(),
        "--space",
        r#"[{"name": "lr", "float": [0, 1], "log": true}]"#,
    ]);
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        !bad.status.success() && err.contains("lr") && err.contains("low > 0"),
        "{err}"
    );
}

#[test]
fn a_command_sweep_runs_with_parallel_jobs_and_study_delete_removes_it() {
    let dir = tempfile::tempdir().unwrap();
    write_config(
        dir.path(),
        "objective.py",
        "import sys\nx = float(sys.argv[1])\nfor step in (1, 2, 3):\n    print(f\"anneal: report {step} {x * step}\", flush=True)\nprint(f\"anneal: value {(x - 0.3) ** 2}\")\n",
    );
    let sweep = write_config(
        dir.path(),
        "cmd.sweep.toml",
        "study = \"cmd\"\ncommand = [\"python3\", \"objective.py\", \"{x}\"]\ntrials = 10\nsampler = { kind = \"random\" }\n[[search]]\nname = \"x\"\nfloat = [0.0, 1.0]\n",
    );
    let output = Command::new(env!("CARGO_BIN_EXE_anneal"))
        .args(["tune", &sweep, "--storage", "s.db", "--jobs", "2"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let text = stdout(&output);
    assert!(text.contains("10 trials (10 complete"), "{text}");
    let runs = dir.path().join("runs/cmd");
    assert_eq!(std::fs::read_dir(&runs).unwrap().count(), 10);
    let db = dir.path().join("s.db");
    // From the folder the sweep ran in, where its `runs` folder is.
    let deleted = stdout(&anneal_in(
        dir.path(),
        &[
            "study",
            "--storage",
            db.to_str().unwrap(),
            "delete",
            "cmd",
            "--runs",
        ],
    ));
    assert!(
        deleted.contains("deleted study 'cmd' (10 trials)")
            && deleted.contains("removed 10 run folders"),
        "{deleted}"
    );
    assert!(!runs.exists());
    let list = stdout(&anneal(&[
        "study",
        "--storage",
        db.to_str().unwrap(),
        "list",
    ]));
    assert!(!list.contains("cmd"), "{list}");
}

#[test]
fn a_sweep_whose_every_trial_fails_exits_non_zero_with_the_last_error() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = write_config(
        dir.path(),
        "fail.sweep.toml",
        "study = \"fail\"\ncommand = [\"python3\", \"-c\", \"import sys; sys.exit('no GPU here')\", \"{x}\"]\ntrials = 3\nmax_failures = 0\n[[search]]\nname = \"x\"\nfloat = [0.0, 1.0]\n",
    );
    let output = Command::new(env!("CARGO_BIN_EXE_anneal"))
        .args(["tune", &sweep, "--storage", "s.db"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{err}");
    assert!(
        err.contains("no trial of study 'fail' completed") && err.contains("no GPU here"),
        "{err}"
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("3 trials (0 complete, 0 pruned, 3 failed"),
        "{text}"
    );
}

#[test]
fn a_closed_pipe_ends_anneal_quietly_and_leaves_the_study_consistent() {
    let dir = tempfile::tempdir().unwrap();
    write_config(
        dir.path(),
        "b.sweep.toml",
        "study = \"b\"\nsynthetic = \"branin\"\ntrials = 20000\nsampler = { kind = \"random\" }\n",
    );
    let script = format!(
        "{anneal} tune b.sweep.toml --storage s.db | head -1; echo \"tune=${{PIPESTATUS[0]}}\"\n\
         sleep 0.5\n\
         {anneal} study --storage s.db show b | head -1; echo \"show=${{PIPESTATUS[0]}}\"\n",
        anneal = env!("CARGO_BIN_EXE_anneal")
    );
    let output = Command::new("bash")
        .args(["-c", &script])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        text.contains("tune=0") && text.contains("show=0"),
        "{text}\n{err}"
    );
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{err}"
    );
    let storage = anneal_tune::SqliteStorage::open(dir.path().join("s.db")).unwrap();
    let study = storage.study("b").unwrap().unwrap();
    let trials = storage.trials(study.id).unwrap();
    // A trial a worker was running when the pipe closed ends with its worker: it is recorded
    // as interrupted (never left running), and every other trial completed.
    let unfinished: Vec<_> = trials
        .iter()
        .filter(|t| t.state != anneal_tune::TrialState::Complete)
        .map(|t| (t.number, t.state, t.message.clone()))
        .collect();
    assert!(
        unfinished.iter().all(|(_, state, message)| {
            *state == anneal_tune::TrialState::Failed
                && message
                    .as_deref()
                    .is_some_and(|m| m.starts_with("interrupted"))
        }) && unfinished.len() <= 2,
        "no trial left running: {unfinished:?}"
    );
    assert!(
        trials.len() < 20000,
        "the sweep stopped when its reader went away"
    );
}

#[test]
fn two_tune_processes_share_one_study_without_touching_each_others_trials() {
    // The second process starts while the first one trains: neither fails the other's live
    // trials, no paused trial is continued twice, the budget is exact, and every trial's folder
    // agrees with the database.
    let dir = tempfile::tempdir().unwrap();
    write_config(
        dir.path(),
        "iris-quick.toml",
        &IRIS_RUN.replace("epochs = 4", "epochs = 9"),
    );
    let sweep = write_config(
        dir.path(),
        "iris.sweep.toml",
        &IRIS_SWEEP.replace("trials = 4", "trials = 48").replace(
            "sampler = { kind = \"random\" }",
            "sampler = { kind = \"random\" }\npruner = { kind = \"asha\", min_resource = 1, reduction_factor = 3 }",
        ),
    );
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_anneal"))
            .args([
                "tune",
                &sweep,
                "--threads",
                "1",
                "--storage",
                "s.db",
                "--quiet",
            ])
            .current_dir(dir.path())
            .env(
                "ANNEAL_DATA_DIR",
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets"),
            )
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let first = spawn();
    // The second starts once the first has claimed a trial (an event, not a guess at timing).
    let db = dir.path().join("s.db");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !anneal_tune::SqliteStorage::open_read_only(&db)
        .and_then(|s| {
            let Some(study) = s.study("iris-sweep")? else {
                return Ok(false);
            };
            Ok(!s.trials(study.id)?.is_empty())
        })
        .unwrap_or(false)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the first never claimed a trial"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let second = spawn();
    for child in [first, second] {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let storage = anneal_tune::SqliteStorage::open(dir.path().join("s.db")).unwrap();
    let study = storage.study("iris-sweep").unwrap().unwrap();
    let trials = storage.trials(study.id).unwrap();
    let numbers: Vec<usize> = trials.iter().map(|t| t.number).collect();
    assert_eq!(numbers, (0..48).collect::<Vec<_>>(), "exact budget");
    // The two processes did run at once: two trials that never paused (so each ran in one
    // stretch, in one process) were running at the same moment.
    let stretches: Vec<(f64, f64)> = trials
        .iter()
        .filter_map(|t| Some((t.started, t.finished?, t.running_seconds)))
        .filter(|(start, end, busy)| (end - start - busy).abs() < 1e-3)
        .map(|(start, end, _)| (start, end))
        .collect();
    assert!(
        stretches
            .iter()
            .enumerate()
            .any(|(i, a)| stretches[i + 1..].iter().any(|b| a.0 < b.1 && b.0 < a.1)),
        "the two processes never ran trials at the same time"
    );
    for t in &trials {
        let epochs: Vec<usize> = t.intermediate.iter().map(|(e, _)| *e).collect();
        assert_eq!(
            epochs,
            (1..=epochs.len()).collect::<Vec<_>>(),
            "trial {}: each epoch once, in order (never continued twice)",
            t.number
        );
        let folder = std::path::Path::new(t.run_dir.as_deref().unwrap());
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(folder.join("summary.json")).unwrap())
                .unwrap();
        let status = summary["status"].as_str().unwrap().to_string();
        match t.state {
            anneal_tune::TrialState::Complete => {
                assert!(
                    ["completed", "early_stopped"].contains(&status.as_str()),
                    "trial {}: {status}",
                    t.number
                )
            }
            anneal_tune::TrialState::Pruned => {
                assert_eq!(status, "stopped", "trial {}: {summary}", t.number)
            }
            other => panic!("trial {} ended {other:?}: {:?}", t.number, t.message),
        }
        assert!(
            !folder.join("resume").exists(),
            "trial {} kept a saved state",
            t.number
        );
    }
}

#[test]
fn stopping_anneal_stops_its_command_trials_programs() {
    let dir = tempfile::tempdir().unwrap();
    write_config(
        dir.path(),
        "slow.py",
        "import os, subprocess, time\nchild = subprocess.Popen([\"sleep\", \"60\"])\nwith open(os.path.join(os.environ[\"ANNEAL_TRIAL_DIR\"], \"pids\"), \"w\") as f:\n    f.write(f\"{os.getpid()} {child.pid}\")\ntime.sleep(60)\n",
    );
    let sweep = write_config(
        dir.path(),
        "slow.sweep.toml",
        "study = \"slow\"\ncommand = [\"python3\", \"slow.py\", \"{x}\"]\ntrials = 1\n[[search]]\nname = \"x\"\nfloat = [0.0, 1.0]\n",
    );
    let mut anneal = Command::new(env!("CARGO_BIN_EXE_anneal"))
        .args(["tune", &sweep, "--storage", "s.db"])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pids_file = dir.path().join("runs/slow/trial-0/pids");
    let started = std::time::Instant::now();
    while !pids_file.exists() || std::fs::read_to_string(&pids_file).unwrap().is_empty() {
        assert!(started.elapsed().as_secs() < 20, "the trial never started");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let kill = Command::new("kill")
        .args(["-TERM", &anneal.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    anneal.wait().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    for pid in std::fs::read_to_string(&pids_file)
        .unwrap()
        .split_whitespace()
    {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let running = stat
            .rsplit(')')
            .next()
            .is_some_and(|s| !s.trim().is_empty() && !s.trim_start().starts_with('Z'));
        assert!(!running, "process {pid} of the trial outlived anneal");
    }
}

#[test]
fn a_loss_that_explodes_without_becoming_nan_is_divergence() {
    // Adam at lr = 1e6 drives the loss to ~1e12 and keeps it finite: that is divergence too,
    // by the documented rule (a batch loss over 10,000 times the run's first one).
    assert_diverges("huge", &["train.optimizer.kind=adam", "train.lr=1e6"]);
}

#[test]
fn a_malformed_set_value_is_a_toml_error_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "c.toml", IRIS_RUN);
    let output = anneal(&["train", "--config", &config, "--set", "train.lr=[1,"]);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success()
            && err.contains("train.lr")
            && err.contains("not a valid TOML value"),
        "{err}"
    );
    // Bare words stay strings.
    let output = anneal(&[
        "train",
        "--config",
        &config,
        "--set",
        "train.optimizer.kind=adam",
        "--set",
        "train.epochs=1",
        "--runs-dir",
        dir.path().join("runs").to_str().unwrap(),
        "--quiet",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The soak test (not in the per-commit suite: `cargo test --release -- --ignored soak`):
/// three `anneal tune --jobs 2` processes on one SQLite study, SIGKILLs to random processes at
/// random moments, each restarted, until the budget is spent. Afterwards the budget is exact,
/// no trial is lost, repeated or left running, no paused trial was continued twice, and no
/// trial's database state contradicts its run folder. Prints the campaign's figures.
#[test]
#[ignore]
fn soak_three_processes_with_random_kills() {
    use anneal_tune::TrialState;
    let dir = tempfile::tempdir().unwrap();
    let budget = 60;
    let sweep = write_config(
        dir.path(),
        "digits.sweep.toml",
        &format!(
            "study = \"soak\"\nbase = \"{}\"\nmetric = \"val_accuracy\"\ntrials = {budget}\nseed = 3\n\
             sampler = {{ kind = \"tpe\", startup_trials = 6 }}\n\
             pruner = {{ kind = \"asha\", min_resource = 1, reduction_factor = 3 }}\n\
             [[search]]\nname = \"train.lr\"\nfloat = [1e-4, 3e-2]\nlog = true\n\
             [[search]]\nname = \"model.units\"\nint = [16, 256]\nlog = true\n\
             [[search]]\nname = \"train.epochs\"\nvalue = 9\n\
             [[search]]\nname = \"train.batch_size\"\nvalue = 4\n",
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("configs/digits-mlp.toml")
                .display()
        ),
    );
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_anneal"))
            .args([
                "tune",
                &sweep,
                "--threads",
                "1",
                "--storage",
                "s.db",
                "--jobs",
                "2",
                "--quiet",
            ])
            .current_dir(dir.path())
            .env(
                "ANNEAL_DATA_DIR",
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets"),
            )
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    // A small deterministic generator for the kill schedule.
    let mut seed: u64 = 0x5eed;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut processes: Vec<std::process::Child> = (0..3).map(|_| spawn()).collect();
    let (mut kills, mut finished) = (0, false);
    let started = std::time::Instant::now();
    while !finished {
        assert!(started.elapsed().as_secs() < 900, "the soak did not finish");
        std::thread::sleep(std::time::Duration::from_millis(150 + 50 * next(15)));
        for slot in 0..processes.len() {
            if let Some(status) = processes[slot].try_wait().unwrap() {
                if status.success() {
                    finished = true;
                } else {
                    processes[slot] = spawn();
                }
            }
        }
        if !finished && kills < 25 {
            let victim = next(processes.len() as u64) as usize;
            processes[victim].kill().unwrap(); // SIGKILL; its workers follow through their lifeline
            processes[victim].wait().unwrap();
            kills += 1;
            processes[victim] = spawn();
        }
    }
    for mut process in processes {
        let _ = process.wait();
    }
    // One more run settles anything the others left (as a user rerunning the sweep would).
    let output = spawn().wait_with_output().unwrap();
    assert!(output.status.success());
    let storage = anneal_tune::SqliteStorage::open(dir.path().join("s.db")).unwrap();
    let study = storage.study("soak").unwrap().unwrap();
    let trials = storage.trials(study.id).unwrap();
    let numbers: Vec<usize> = trials.iter().map(|t| t.number).collect();
    assert_eq!(
        numbers,
        (0..budget).collect::<Vec<_>>(),
        "exact budget, none lost or repeated"
    );
    let mut contradictions = Vec::new();
    for t in &trials {
        let epochs: Vec<usize> = t.intermediate.iter().map(|(e, _)| *e).collect();
        assert_eq!(
            epochs,
            (1..=epochs.len()).collect::<Vec<_>>(),
            "trial {}: epochs {epochs:?}",
            t.number
        );
        assert!(
            !matches!(t.state, TrialState::Running | TrialState::Paused),
            "trial {} {:?}",
            t.number,
            t.state
        );
        let Some(folder) = t.run_dir.as_deref().map(std::path::Path::new) else {
            continue;
        };
        let status = std::fs::read_to_string(folder.join("summary.json"))
            .ok()
            .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
            .and_then(|s| s["status"].as_str().map(str::to_string))
            .unwrap_or_default();
        let agrees = match t.state {
            TrialState::Complete => ["completed", "early_stopped"].contains(&status.as_str()),
            TrialState::Pruned => status == "stopped",
            // A trial killed mid-run: its folder never finished (or its failure is recorded).
            _ => !["completed", "early_stopped"].contains(&status.as_str()),
        };
        if !agrees || folder.join("resume").exists() {
            contradictions.push((t.number, t.state, status));
        }
    }
    let count = |s: TrialState| trials.iter().filter(|t| t.state == s).count();
    println!(
        "soak: {kills} kills, {} trials ({} complete, {} pruned, {} failed), 0 lost, 0 duplicated, {} contradictions, {:.0} s",
        trials.len(),
        count(TrialState::Complete),
        count(TrialState::Pruned),
        count(TrialState::Failed),
        contradictions.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(contradictions.is_empty(), "{contradictions:?}");
}

#[test]
fn a_model_too_large_for_memory_is_refused_before_it_is_built() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "big.toml", IRIS_RUN);
    let started = std::time::Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_anneal"))
        .args([
            "train",
            "--config",
            &config,
            "--set",
            "model.units=65536",
            "--set",
            "model.depth=3",
        ])
        .args(["--runs-dir", dir.path().join("runs").to_str().unwrap()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("ANNEAL_MEMORY_LIMIT_GB", "4")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{err}");
    assert!(
        err.contains("needs about")
            && err.contains("more than the 4.0 GiB ANNEAL_MEMORY_LIMIT_GB allows"),
        "{err}"
    );
    assert!(
        started.elapsed().as_secs() < 20,
        "refused before allocating"
    );
}

#[test]
fn a_study_moved_with_its_runs_still_finds_them() {
    let dir = tempfile::tempdir().unwrap();
    let before = dir.path().join("project");
    std::fs::create_dir_all(&before).unwrap();
    write_config(
        &before,
        "objective.py",
        "import sys\nprint(f\"anneal: value {float(sys.argv[1]) ** 2}\")\n",
    );
    let sweep = write_config(
        &before,
        "cmd.sweep.toml",
        "study = \"moved\"\ncommand = [\"python3\", \"objective.py\", \"{x}\"]\ntrials = 2\n[[search]]\nname = \"x\"\nfloat = [0.0, 1.0]\n",
    );
    let output = Command::new(env!("CARGO_BIN_EXE_anneal"))
        .args(["tune", &sweep, "--storage", "studies/s.db"])
        .current_dir(&before)
        .output()
        .unwrap();
    stdout(&output);
    let after = dir.path().join("elsewhere");
    std::fs::rename(&before, &after).unwrap();
    let db = after.join("studies/s.db");
    let best = stdout(&anneal(&[
        "study",
        "--storage",
        db.to_str().unwrap(),
        "best",
        "moved",
    ]));
    let folder = best
        .lines()
        .find_map(|l| l.strip_prefix("run folder: "))
        .unwrap_or_else(|| panic!("{best}"));
    assert!(folder.starts_with(after.to_str().unwrap()), "{folder}");
    assert!(
        std::path::Path::new(folder).join("params.json").is_file(),
        "{folder}"
    );
}

#[test]
fn a_trial_that_aborts_its_process_is_recorded_with_its_signal_and_the_study_goes_on() {
    // A model far too large, let past the memory check on purpose, under a 6 GB address-space
    // limit: its allocation fails and the process aborts. Trials run in worker processes, so
    // only that worker dies; the trial is recorded with the signal and the study goes on.
    let dir = tempfile::tempdir().unwrap();
    let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/iris-mlp.toml");
    write_config(
        dir.path(),
        "o.sweep.toml",
        &format!(
            "study = \"oom\"\nbase = \"{}\"\nmetric = \"val_accuracy\"\ntrials = 3\nsampler = {{ kind = \"grid\" }}\n\
             [[search]]\nname = \"model.units\"\nchoices = [8, 65536]\n\
             [[search]]\nname = \"model.depth\"\nvalue = 3\n\
             [[search]]\nname = \"train.epochs\"\nvalue = 2\n",
            base.display()
        ),
    );
    let script = format!(
        "ulimit -v 6000000; ANNEAL_MEMORY_LIMIT_GB=1000 {} tune o.sweep.toml --storage s.db",
        env!("CARGO_BIN_EXE_anneal")
    );
    let output = Command::new("bash")
        .args(["-c", &script])
        .current_dir(dir.path())
        .env(
            "ANNEAL_DATA_DIR",
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets"),
        )
        .output()
        .unwrap();
    let text = stdout(&output);
    assert!(
        text.contains("3 trials (1 complete, 0 pruned, 2 failed"),
        "{text}"
    );
    let storage = anneal_tune::SqliteStorage::open(dir.path().join("s.db")).unwrap();
    let study = storage.study("oom").unwrap().unwrap();
    for t in storage.trials(study.id).unwrap() {
        if t.state == anneal_tune::TrialState::Failed {
            let message = t.message.unwrap_or_default();
            assert!(
                message.contains("killed by signal 6") && message.contains("out of memory"),
                "{message}"
            );
        }
    }
}
