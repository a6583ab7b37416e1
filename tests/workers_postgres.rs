//! Many `anneal worker` processes on one PostgreSQL study, each in its own working folder as on
//! separate hosts, while workers are killed with SIGKILL and started again: the budget is exact,
//! no trial number repeats, no completed trial is lost, nothing is left running; paused ASHA
//! trials are continued by other workers than the ones that paused them; a server restart in the
//! middle of a study is survived.

#[path = "../crates/anneal-tune/tests/support/pg.rs"]
mod pg;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A worker process and the log its standard output goes to.
struct Worker {
    child: Child,
    log: PathBuf,
}

/// Starts `anneal worker SWEEP` in `dir` (its own working folder) with `extra` arguments.
fn start_worker(dir: &Path, sweep: &Path, url: &str, extra: &[&str], run: usize) -> Worker {
    std::fs::create_dir_all(dir).unwrap();
    let log = dir.join(format!("worker-{run}.log"));
    let child = Command::new(env!("CARGO_BIN_EXE_anneal"))
        .arg("worker")
        .arg(sweep)
        .args(["--storage", url, "--threads", "1"])
        .args(extra)
        .current_dir(dir)
        .env(
            "ANNEAL_DATA_DIR",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets"),
        )
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(dir.join(format!("worker-{run}.err"))).unwrap())
        .spawn()
        .expect("the anneal binary runs");
    Worker { child, log }
}

/// Runs `workers` workers until every one has exited by itself, killing a random one with
/// SIGKILL every `kill_every` (for the first `kill_for`) and starting a new one in its place.
/// Returns every log written and how many workers were killed.
fn run_with_kills(
    root: &Path,
    sweep: &Path,
    url: &str,
    extra: &[&str],
    workers: usize,
    kill_every: Duration,
    kill_for: Duration,
) -> (Vec<PathBuf>, usize) {
    let mut logs = Vec::new();
    let mut runs = 0;
    let mut live: Vec<Option<Worker>> = (0..workers)
        .map(|slot| {
            runs += 1;
            Some(start_worker(
                &root.join(format!("w{slot}")),
                sweep,
                url,
                extra,
                runs,
            ))
        })
        .collect();
    let started = Instant::now();
    let mut last_kill = Instant::now();
    let mut kills = 0;
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    loop {
        std::thread::sleep(Duration::from_millis(50));
        for slot in live.iter_mut() {
            if let Some(worker) = slot {
                if let Some(status) = worker.child.try_wait().unwrap() {
                    assert!(
                        status.success(),
                        "a worker failed ({status}): {}",
                        std::fs::read_to_string(worker.log.with_extension("err"))
                            .unwrap_or_default()
                    );
                    logs.push(worker.log.clone());
                    *slot = None;
                }
            }
        }
        if live.iter().all(Option::is_none) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the study did not end"
        );
        if started.elapsed() < kill_for && last_kill.elapsed() >= kill_every {
            last_kill = Instant::now();
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let slot = (state >> 33) as usize % workers;
            if let Some(mut worker) = live[slot].take() {
                if worker.child.try_wait().unwrap().is_none() {
                    worker.child.kill().unwrap();
                    kills += 1;
                }
                worker.child.wait().unwrap();
                logs.push(worker.log);
                runs += 1;
                live[slot] = Some(start_worker(
                    &root.join(format!("w{slot}")),
                    sweep,
                    url,
                    extra,
                    runs,
                ));
            }
        }
    }
    (logs, kills)
}

/// The study's trials as `anneal study show --json` prints them.
fn trials(url: &str, study: &str) -> Vec<serde_json::Value> {
    let output = Command::new(env!("CARGO_BIN_EXE_anneal"))
        .args(["study", "show", study, "--json", "--storage", url])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    doc["trials"].as_array().unwrap().clone()
}

/// `(trial number, what the line says)` for every trial line in a worker's log.
fn trial_lines(log: &Path) -> Vec<(usize, String)> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("trial ")?;
            let (number, outcome) = rest.trim_start().split_once(' ')?;
            Some((number.parse().ok()?, outcome.trim_start().to_string()))
        })
        .collect()
}

/// Checks the rules every chaos run must keep, and returns the trials by number.
fn check_study(
    url: &str,
    study: &str,
    budget: usize,
    logs: &[PathBuf],
) -> HashMap<u64, serde_json::Value> {
    let trials = trials(url, study);
    assert_eq!(trials.len(), budget, "exactly the budget of trials");
    let numbers: HashSet<u64> = trials
        .iter()
        .map(|t| t["number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers.len(), budget, "no trial number twice");
    assert_eq!(numbers, (0..budget as u64).collect(), "numbers 0..budget");
    for trial in &trials {
        let state = trial["state"].as_str().unwrap();
        assert!(
            ["complete", "pruned", "failed"].contains(&state),
            "trial {} left {state}",
            trial["number"]
        );
    }
    let by_number: HashMap<u64, serde_json::Value> = trials
        .into_iter()
        .map(|t| (t["number"].as_u64().unwrap(), t))
        .collect();
    // Every trial a worker saw complete is still complete, with the same value.
    let mut seen_complete = 0;
    for log in logs {
        for (number, outcome) in trial_lines(log) {
            if let Some(value) = outcome.strip_prefix("value ") {
                let value: f64 = value.split_whitespace().next().unwrap().parse().unwrap();
                let stored = &by_number[&(number as u64)];
                assert_eq!(
                    stored["state"], "complete",
                    "trial {number} lost its completion"
                );
                let stored = stored["value"].as_f64().unwrap();
                assert!(
                    (stored - value).abs() <= 1e-4 * value.abs().max(1.0),
                    "trial {number}: {stored} stored, {value} printed"
                );
                seen_complete += 1;
            }
        }
    }
    assert!(seen_complete > 0, "the workers printed their trials");
    by_number
}

#[test]
fn eight_workers_killed_at_random_keep_a_400_trial_study_exact() {
    let Some(server) = pg::PgServer::start("eight_workers_killed_at_random") else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let sweep = root.path().join("chaos.sweep.toml");
    std::fs::write(
        &sweep,
        r#"study = "chaos"
command = ["sh", "-c", "sleep 0.08; echo anneal: value {x}"]
trials = 400
max_failures = 1000
retry_failed = 2
sampler = { kind = "tpe" }

[[search]]
name = "x"
float = [0.0, 1.0]
"#,
    )
    .unwrap();
    let (logs, kills) = run_with_kills(
        root.path(),
        &sweep,
        &server.url(),
        &["--lease", "2"],
        8,
        Duration::from_secs(1),
        Duration::from_secs(600),
    );
    assert!(kills >= 3, "only {kills} workers were killed");
    let trials = check_study(&server.url(), "chaos", 400, &logs);
    let complete = trials.values().filter(|t| t["state"] == "complete").count();
    let failed = trials.values().filter(|t| t["state"] == "failed").count();
    assert!(failed <= kills, "{failed} failed trials from {kills} kills");
    // A trial a killed worker held is retried with its parameters by a new trial.
    let mut retried = 0;
    for trial in trials.values().filter(|t| t["state"] == "failed") {
        if let Some(number) = trial["retried_as"].as_u64() {
            let retry = &trials[&number];
            assert_eq!(retry["params"], trial["params"], "{trial}");
            // Only a trial whose process died is retried.
            let cause = trial["cause"]["kind"].as_str().unwrap_or_default();
            assert!(
                ["killed", "process_exited", "lease_lapsed"].contains(&cause),
                "{trial}"
            );
            retried += 1;
        }
    }
    eprintln!(
        "chaos: 400 trials, {complete} complete, {failed} failed by {kills} kills, {retried} retried"
    );
}

#[test]
fn asha_trials_paused_by_one_worker_continue_on_another() {
    let Some(server) = pg::PgServer::start("asha_trials_paused_by_one_worker") else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/digits-mlp.toml");
    let budget: usize = std::env::var("ANNEAL_CHAOS_ASHA_TRIALS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(400);
    let sweep = root.path().join("asha.sweep.toml");
    std::fs::write(
        &sweep,
        format!(
            r#"study = "asha-chaos"
base = "{}"
metric = "val_accuracy"
trials = {budget}
max_failures = 1000
sampler = {{ kind = "random" }}
pruner = {{ kind = "asha", min_resource = 1, reduction_factor = 3 }}

[[search]]
name = "train.lr"
float = [1e-3, 3e-2]
log = true

[[search]]
name = "model.units"
int = [8, 32]

[[search]]
name = "train.epochs"
value = 3
"#,
            base.display()
        ),
    )
    .unwrap();
    let artifacts = root.path().join("shared-artifacts");
    let (logs, kills) = run_with_kills(
        root.path(),
        &sweep,
        &server.url(),
        &["--lease", "2", "--artifacts", artifacts.to_str().unwrap()],
        8,
        Duration::from_secs(1),
        Duration::from_secs(600),
    );
    let trials = check_study(&server.url(), "asha-chaos", budget, &logs);
    // Who paused each trial, and who finished it.
    let mut paused_by: HashMap<usize, &Path> = HashMap::new();
    let mut ended_by: HashMap<usize, &Path> = HashMap::new();
    for log in &logs {
        for (number, outcome) in trial_lines(log) {
            if outcome.starts_with("paused") {
                paused_by.insert(number, log);
            } else {
                ended_by.insert(number, log);
            }
        }
    }
    let moved = paused_by
        .iter()
        .filter(|(number, log)| {
            ended_by
                .get(number)
                .is_some_and(|end| end.parent() != log.parent())
        })
        .count();
    let complete = trials.values().filter(|t| t["state"] == "complete").count();
    eprintln!(
        "asha chaos: {budget} trials, {complete} complete, {} paused at some point, {moved} continued in another worker's folder, {kills} kills",
        paused_by.len()
    );
    assert!(moved > 0, "no paused trial was continued by another worker");
    assert!(complete > 0);
    // Every complete trial's run folder is stored relative to the artifacts folder, and is
    // whole there, whichever workers ran its segments.
    for trial in trials.values().filter(|t| t["state"] == "complete") {
        let dir = trial["run_dir"]
            .as_str()
            .expect("a training trial has a run folder");
        assert!(Path::new(dir).is_relative(), "{dir}");
        assert!(artifacts.join(dir).join("summary.json").is_file(), "{dir}");
    }
}

#[test]
fn workers_ride_out_a_server_restart() {
    let Some(server) = pg::PgServer::start("workers_ride_out_a_server_restart") else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let sweep = root.path().join("restart.sweep.toml");
    std::fs::write(
        &sweep,
        r#"study = "restart"
command = ["sh", "-c", "sleep 0.02; echo anneal: value {x}"]
trials = 150
sampler = { kind = "random" }

[[search]]
name = "x"
float = [0.0, 1.0]
"#,
    )
    .unwrap();
    let mut workers: Vec<Worker> = (0..3)
        .map(|i| {
            start_worker(
                &root.path().join(format!("w{i}")),
                &sweep,
                &server.url(),
                &[],
                i,
            )
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    server.restart();
    let logs: Vec<PathBuf> = workers
        .iter_mut()
        .map(|w| {
            let status = w.child.wait().unwrap();
            assert!(
                status.success(),
                "a worker did not ride out the restart: {}",
                std::fs::read_to_string(w.log.with_extension("err")).unwrap_or_default()
            );
            w.log.clone()
        })
        .collect();
    check_study(&server.url(), "restart", 150, &logs);
}
