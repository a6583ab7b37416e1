//! What a command trial's program or a file does cannot bloat the study or outlive anneal: a
//! 100 MB line of standard error becomes a bounded message; a value printed before exiting
//! counts even while a process it started in its own session holds the output; a killed
//! anneal leaves none of a trial's processes running.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{anneal_in, stderr_of_failure, stdout};

fn sweep(dir: &Path, name: &str, script: &str, extra: &str) -> String {
    std::fs::write(dir.join(format!("{name}.py")), script).unwrap();
    let path = dir.join(format!("{name}.sweep.toml"));
    std::fs::write(
        &path,
        format!(
            "study = \"{name}\"\ncommand = [\"python3\", \"{name}.py\", \"{{x}}\"]\n{extra}\
             sampler = {{ kind = \"random\" }}\n[[search]]\nname = \"x\"\nfloat = [0.0, 1.0]\n"
        ),
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn a_huge_line_of_standard_error_becomes_a_bounded_message() {
    let dir = tempfile::tempdir().unwrap();
    let script =
        "import sys\nsys.stderr.write('begin' + 'x' * 50_000_000 + 'end\\n')\nsys.exit(3)\n";
    let sweep = sweep(dir.path(), "loud", script, "trials = 1\n");
    let err = stderr_of_failure(&anneal_in(dir.path(), &["tune", &sweep]));
    assert!(err.len() < 20_000, "{} bytes of error", err.len());
    let shown = stdout(&anneal_in(dir.path(), &["study", "show", "loud"]));
    assert!(shown.len() < 20_000, "{} bytes shown", shown.len());
    assert!(
        shown.contains("exit status: 3") && shown.contains("beginxxx") && shown.contains("xxxend"),
        "{shown}"
    );
    assert!(shown.contains("bytes left out"), "{shown}");
    let db = std::fs::metadata(dir.path().join("studies/anneal.db")).unwrap();
    assert!(
        db.len() < 1_000_000,
        "the database holds {} bytes",
        db.len()
    );
    // The log keeps every byte.
    let log = std::fs::metadata(dir.path().join("runs/loud/trial-0/stderr.log")).unwrap();
    assert!(log.len() > 50_000_000);
}

#[test]
fn a_huge_cell_gives_a_bounded_error_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("a,b,y\n");
    for i in 0..30 {
        csv.push_str(&format!("{i},{},{}\n", i * 2, i % 2));
    }
    csv.push_str(&format!("{},1,0\n", "z".repeat(5_000_000)));
    std::fs::write(dir.path().join("big.csv"), csv).unwrap();
    std::fs::write(
        dir.path().join("big.toml"),
        "[data]\ncsv = { path = \"big.csv\", task = \"classification\", target = \"y\" }\n\
         [model]\nkind = \"mlp\"\n[train]\nepochs = 1\n",
    )
    .unwrap();
    let err = stderr_of_failure(&anneal_in(dir.path(), &["train", "--config", "big.toml"]));
    assert!(err.len() < 20_000, "{} bytes of error", err.len());
    assert!(
        err.contains("zzz") && err.contains("bytes left out"),
        "{err}"
    );
}

#[test]
fn the_programs_exit_decides_even_while_a_process_it_started_holds_its_output() {
    let dir = tempfile::tempdir().unwrap();
    let script = "import subprocess, sys\n\
                  subprocess.Popen(['sleep', '30'], start_new_session=True)\n\
                  print('anneal: value', float(sys.argv[1]), flush=True)\n";
    let sweep = sweep(
        dir.path(),
        "escape",
        script,
        "trials = 2\ntimeout_seconds = 20\n",
    );
    let started = Instant::now();
    let text = stdout(&anneal_in(dir.path(), &["tune", &sweep]));
    assert!(text.contains("2 trials (2 complete"), "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
}

/// Whether process `pid` is gone (or a zombie no one reaped yet).
fn gone(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            stat.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(true)
}

#[test]
fn a_killed_anneal_leaves_no_process_of_its_trial_running() {
    let dir = tempfile::tempdir().unwrap();
    // The trial starts a grandchild in its own process group, then waits.
    let script = "import os, subprocess, sys, time\n\
                  child = subprocess.Popen(['sleep', '25'])\n\
                  open('pids', 'w').write(f'{os.getpid()} {child.pid}')\n\
                  time.sleep(25)\n";
    let sweep = sweep(dir.path(), "orphans", script, "trials = 1\n");
    let mut anneal = Command::new(env!("CARGO_BIN_EXE_anneal"))
        .args(["tune", &sweep])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pids_file = dir.path().join("pids");
    let deadline = Instant::now() + Duration::from_secs(20);
    let pids: Vec<u32> = loop {
        let text = std::fs::read_to_string(&pids_file).unwrap_or_default();
        let pids: Vec<u32> = text
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect();
        if pids.len() == 2 {
            break pids;
        }
        assert!(Instant::now() < deadline, "the trial never started");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!gone(pids[1]));
    anneal.kill().unwrap(); // SIGKILL
    anneal.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !pids.iter().all(|&p| gone(p)) {
        assert!(
            Instant::now() < deadline,
            "still running after anneal was killed: {:?}",
            pids.iter().filter(|&&p| !gone(p)).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
