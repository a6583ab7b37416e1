//! Any program as the objective: a Python script tuned with pruning, whose pruned processes
//! (and their children) must all be gone, and failing commands whose errors are kept.

use std::path::Path;

use anneal_sweep::{Sweep, open_study, run_sweep};
use anneal_tune::{Quiet, SqliteStorage, TrialState};

/// Reports `steps` values rising to `x`, sleeping between them so a pruned trial is stopped
/// while it runs; records its pid and a child's in the trial folder.
const SCRIPT: &str = r#"
import json, os, subprocess, sys, time
x = float(sys.argv[1].split("=", 1)[1])
params = json.load(open(os.environ["ANNEAL_PARAMS"]))
assert abs(params["x"] - x) < 1e-12 and os.environ["ANNEAL_PARAM_X"] == sys.argv[1].split("=", 1)[1]
child = subprocess.Popen(["sleep", "30"])
with open(os.path.join(os.environ["ANNEAL_TRIAL_DIR"], "pids"), "w") as f:
    f.write(f"{os.getpid()} {child.pid}\n")
for step in range(1, 7):
    print(f"epoch {step}: some chatter")
    print(f"anneal: report {step} {x * step / 6}", flush=True)
    time.sleep(0.05)
child.kill()
print(f"anneal: value {x}", flush=True)
"#;

fn sweep_text(dir: &Path, command: &str, extra: &str) -> String {
    format!(
        "study = \"cmd\"\ncommand = {command}\ndirection = \"max\"\ntrials = 8\nseed = 2\n\
         runs_dir = \"{}\"\nsampler = {{ kind = \"random\" }}\ngrace_seconds = 1\n{extra}\n\
         [[search]]\nname = \"x\"\nfloat = [0.0, 1.0]\n",
        dir.join("runs").display()
    )
}

fn run(dir: &Path, text: &str) -> anneal_sweep::Result<anneal_sweep::SweepOutcome> {
    let sweep = Sweep::parse(&dir.join("cmd.sweep.toml"), text)?;
    let study = open_study(&sweep, SqliteStorage::open(dir.join("cmd.db"))?, None)?;
    run_sweep(&study, &sweep, None, &mut Quiet)
}

/// Whether a process still runs (a zombie waiting for its reaper counts as gone).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(')')
            .next()
            .is_some_and(|s| !s.trim_start().starts_with('Z'))
    })
}

#[test]
fn a_python_script_is_tuned_with_pruning_and_no_pruned_process_survives() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("objective.py"), SCRIPT).unwrap();
    let text = sweep_text(
        dir.path(),
        r#"["python3", "objective.py", "--x={x}"]"#,
        "pruner = { kind = \"median\", warmup_epochs = 1, min_trials = 2 }",
    );
    let outcome = run(dir.path(), &text).unwrap();
    assert_eq!(outcome.trials.len(), 8);
    let pruned: Vec<_> = outcome
        .trials
        .iter()
        .filter(|t| t.state == TrialState::Pruned)
        .collect();
    assert!(!pruned.is_empty(), "{:?}", outcome.trials);
    for t in &outcome.trials {
        match t.state {
            TrialState::Complete => {
                assert_eq!(t.intermediate.len(), 6);
                let x = t.params[0].1.as_f64().unwrap();
                assert_eq!(t.value, Some(x), "the value line is the trial's value");
            }
            TrialState::Pruned => {
                let (step, _) = t.last_step().unwrap();
                assert!((2..6).contains(&step), "pruned after warm-up: {step}");
            }
            other => panic!("trial {}: {other:?} {:?}", t.number, t.message),
        }
        let folder = Path::new(t.run_dir.as_deref().unwrap());
        assert!(folder.join("stdout.log").exists() && folder.join("params.json").exists());
        let pids = std::fs::read_to_string(folder.join("pids")).unwrap();
        for pid in pids.split_whitespace() {
            let pid: u32 = pid.parse().unwrap();
            assert!(
                !running(pid),
                "trial {}: process {pid} still runs",
                t.number
            );
        }
    }
}

#[test]
fn failing_commands_fail_their_trials_with_the_end_of_their_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let failing = sweep_text(
        dir.path(),
        r#"["python3", "-c", "import sys; print('warming up'); sys.stderr.write('line one\\nCUDA out of memory\\n'); sys.exit(3)", "{x}"]"#,
        "max_failures = 3",
    );
    let err = run(dir.path(), &failing).unwrap_err().to_string();
    assert!(
        err.contains("first 3 trials all failed")
            && err.contains("exit status: 3")
            && err.contains("CUDA out of memory"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let silent = sweep_text(
        dir.path(),
        r#"["python3", "-c", "print('{x}')"]"#,
        "trials = 1",
    );
    let silent = silent.replacen("trials = 8\n", "", 1);
    let outcome = run(dir.path(), &silent).unwrap();
    let message = outcome.trials[0].message.as_deref().unwrap();
    assert!(
        message.contains("printed no 'anneal: value VALUE' (or 'anneal: values …') line"),
        "{message}"
    );

    let dir = tempfile::tempdir().unwrap();
    let slow = sweep_text(
        dir.path(),
        r#"["python3", "-c", "import time; time.sleep(30)", "{x}"]"#,
        "trials = 1\ntimeout_seconds = 0.5",
    )
    .replacen("trials = 8\n", "", 1);
    let started = std::time::Instant::now();
    let outcome = run(dir.path(), &slow).unwrap();
    assert!(
        started.elapsed().as_secs_f64() < 10.0,
        "the timeout stops it"
    );
    let message = outcome.trials[0].message.as_deref().unwrap();
    assert!(message.contains("timed out after"), "{message}");
}

#[test]
fn a_placeholder_must_name_a_searched_parameter() {
    let dir = tempfile::tempdir().unwrap();
    let text = sweep_text(dir.path(), r#"["python3", "t.py", "--lr={lr}"]"#, "");
    let err = Sweep::parse(&dir.path().join("s.toml"), &text)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`command`")
            && err.contains("{lr} names no [[search]] parameter")
            && err.contains("searched: x"),
        "{err}"
    );
}
