//! Ctrl-C on `anneal tune`: the first stops starting trials, ends the running ones as
//! interrupted by the user (not counted toward the budget), prints the summary and exits 130;
//! a rerun finishes the budget. A second Ctrl-C stops at once.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{anneal_in, stdout};

/// Each trial writes its pid, reports once and, while the file `slow` exists, sleeps.
const SCRIPT: &str = "import os, sys, time\n\
    open(f'started-{os.getpid()}', 'w').close()\n\
    print('anneal: report 1', float(sys.argv[1]), flush=True)\n\
    if os.path.exists('slow'):\n    time.sleep(60)\n\
    print('anneal: value', float(sys.argv[1]))\n";

fn setup(dir: &Path) {
    std::fs::write(dir.join("t.py"), SCRIPT).unwrap();
    std::fs::write(
        dir.join("t.sweep.toml"),
        "study = \"t\"\ncommand = [\"python3\", \"t.py\", \"{x}\"]\ntrials = 3\ngrace_seconds = 2\n\
         sampler = { kind = \"random\" }\n[[search]]\nname = \"x\"\nfloat = [0.0, 1.0]\n",
    )
    .unwrap();
    std::fs::write(dir.join("slow"), "").unwrap();
}

fn start(dir: &Path, jobs: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_anneal"))
        .args(["tune", "t.sweep.toml", "--jobs", jobs])
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until `count` trial programs have started; their pids.
fn started(dir: &Path, count: usize) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let pids: Vec<u32> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| {
                let name = e.ok()?.file_name().into_string().ok()?;
                name.strip_prefix("started-")?.parse().ok()
            })
            .collect();
        if pids.len() >= count {
            return pids;
        }
        assert!(Instant::now() < deadline, "the trials never started");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn interrupt(child: &Child) {
    // What the terminal's Ctrl-C sends to the foreground process.
    unsafe_kill(child.id(), 2);
}

fn unsafe_kill(pid: u32, signal: i32) {
    let status = Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            !stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(false)
}

#[test]
fn the_first_ctrl_c_ends_running_trials_as_interrupted_and_a_rerun_finishes_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let tune = start(dir.path(), "2");
    let pids = started(dir.path(), 2);
    let sent = Instant::now();
    interrupt(&tune);
    let output = tune.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{text}\n{err}");
    assert!(
        sent.elapsed() < Duration::from_secs(20),
        "{:?}",
        sent.elapsed()
    );
    assert!(text.contains("2 interrupted"), "{text}\n{err}");
    assert!(err.contains("run the same command again"), "{err}");
    assert!(
        pids.iter().all(|&p| !alive(p)),
        "a trial's program still runs"
    );
    let shown = stdout(&anneal_in(dir.path(), &["study", "show", "t"]));
    assert!(shown.contains("2 trials (0 complete"), "{shown}");
    assert_eq!(
        shown.matches("interrupted by the user").count(),
        2,
        "{shown}"
    );

    // The interrupted trials did not use up the budget.
    std::fs::remove_file(dir.path().join("slow")).unwrap();
    let rerun = stdout(&anneal_in(dir.path(), &["tune", "t.sweep.toml"]));
    assert!(
        rerun.contains(
            "5 trials (3 complete, 0 pruned, 0 failed, 0 paused, 0 running, 2 interrupted)"
        ),
        "{rerun}"
    );
}

#[test]
fn a_second_ctrl_c_stops_at_once() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let tune = start(dir.path(), "1");
    let pids = started(dir.path(), 1);
    let sent = Instant::now();
    interrupt(&tune);
    std::thread::sleep(Duration::from_millis(100));
    interrupt(&tune);
    let output = tune.wait_with_output().unwrap();
    assert!(!output.status.success());
    assert!(
        sent.elapsed() < Duration::from_secs(10),
        "{:?}",
        sent.elapsed()
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while pids.iter().any(|&p| alive(p)) {
        assert!(Instant::now() < deadline, "a trial's program still runs");
        std::thread::sleep(Duration::from_millis(50));
    }
}
