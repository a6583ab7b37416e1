//! A parallel sweep driven through the library type, with no anneal binary: the workers are
//! this test executable run again in the worker role (the one test below that does anything
//! only when its environment says so). The first worker aborts in the middle of its first
//! trial, as a trial that runs out of memory would.

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use anneal_sweep::{
    ParallelEnd, ParallelEvents, ParallelSweep, Sweep, open_study, run_sweep_worker,
    workers::read_handshake,
};
use anneal_tune::{Cause, Quiet, StorageOptions, Study, StudyObserver, TrialState, open_storage};

/// Set in a worker's environment: `crash` (abort in the first trial) or `work`.
const ROLE: &str = "ANNEAL_PARALLEL_TEST_ROLE";
/// The sweep file a worker runs.
const SWEEP: &str = "ANNEAL_PARALLEL_TEST_SWEEP";

/// The worker role; a no-op when the test suite runs normally.
#[test]
fn worker_role() {
    let (Ok(role), Ok(sweep)) = (std::env::var(ROLE), std::env::var(SWEEP)) else {
        return;
    };
    let sweep = Sweep::load(Path::new(&sweep)).unwrap();
    let location = read_handshake().unwrap();
    let storage = open_storage(&location, &StorageOptions::default()).unwrap();
    let study = open_study(&sweep, storage, None).unwrap();
    if role == "crash" {
        let _ = study.optimize(
            sweep.file.trials,
            |trial| -> Result<f64, anneal_tune::BoxError> {
                trial.suggest_space(&sweep.space)?;
                std::process::abort()
            },
        );
    }
    run_sweep_worker(&study, &sweep, None, &mut Quiet).unwrap();
}

/// What the watching side heard.
#[derive(Default)]
struct Heard {
    resumed: Option<usize>,
    ticks: usize,
    killed: Vec<(i32, Vec<usize>)>,
}

impl StudyObserver for Heard {}

impl ParallelEvents for Heard {
    fn resumed(&mut self, failed: usize) {
        self.resumed = Some(failed);
    }
    fn tick(&mut self, _study: &Study) {
        self.ticks += 1;
    }
    fn worker_killed(&mut self, signal: i32, trials: &[usize]) {
        self.killed.push((signal, trials.to_vec()));
    }
    fn observer(&mut self) -> &mut dyn StudyObserver {
        self
    }
}

#[test]
fn workers_share_the_budget_and_a_crashed_workers_trial_is_recorded_with_its_signal() {
    let dir = tempfile::tempdir().unwrap();
    let sweep_file = dir.path().join("p.sweep.toml");
    std::fs::write(
        &sweep_file,
        r#"study = "p"
synthetic = "branin"
trials = 24
sampler = { kind = "random" }
[[search]]
name = "x1"
float = [-5.0, 10.0]
[[search]]
name = "x2"
float = [0.0, 15.0]
"#,
    )
    .unwrap();
    let sweep = Sweep::load(&sweep_file).unwrap();
    let location = dir.path().join("p.db").to_string_lossy().into_owned();
    let study = open_study(
        &sweep,
        open_storage(&location, &StorageOptions::default()).unwrap(),
        None,
    )
    .unwrap();
    let parallel = ParallelSweep {
        study: &study,
        sweep: &sweep,
        training: None,
        jobs: 2,
        location,
        show_stderr: false,
    };
    let spawned = Arc::new(Mutex::new(0));
    let count = spawned.clone();
    let make = move |_slot: usize| {
        let mut n = count.lock().unwrap();
        *n += 1;
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args(["worker_role", "--exact", "--test-threads", "1", "--quiet"])
            .env(ROLE, if *n == 1 { "crash" } else { "work" })
            .env(SWEEP, &sweep_file);
        command
    };
    let mut heard = Heard::default();
    let end = parallel.run(make, &mut heard).unwrap();
    let ParallelEnd::Finished {
        outcome,
        worker_errors,
    } = end
    else {
        panic!("the sweep did not finish: {end:?}");
    };
    assert!(worker_errors.is_empty(), "{worker_errors:?}");
    assert_eq!(heard.resumed, Some(0));
    assert!(heard.ticks > 0);
    // Two workers, and the crashed one started again in its slot.
    assert_eq!(*spawned.lock().unwrap(), 3);

    let trials = &outcome.trials;
    assert_eq!(trials.len(), 24, "exactly the budget");
    assert!(trials.iter().all(|t| t.state.is_finished()));
    let killed: Vec<_> = trials
        .iter()
        .filter(|t| t.cause == Some(Cause::Killed { signal: 6 }))
        .collect();
    assert_eq!(killed.len(), 1, "{trials:#?}");
    let killed = killed[0];
    assert_eq!(heard.killed, [(6, vec![killed.number])]);
    assert_eq!(killed.state, TrialState::Failed);
    assert!(
        killed
            .message
            .as_deref()
            .unwrap()
            .starts_with("killed by signal 6"),
        "{killed:?}"
    );
    assert_eq!(
        trials
            .iter()
            .filter(|t| t.state == TrialState::Complete)
            .count(),
        23
    );
}
