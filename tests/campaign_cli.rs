//! End-to-end checks from a kill-and-bad-input campaign against the binary: negative numbers as
//! values, a study another user owns, printed paths, warnings in files, process limits.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::{anneal_in, json, stdout};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

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

/// Runs anneal as another user where this process may (root: as `nobody`, from a copy of the
/// binary that user can reach), else as this user, who then meets the file modes as they are.
fn anneal_as_other_user(dir: &Path, args: &[&str]) -> Output {
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::process::CommandExt;
    // A folder this process made is its effective user's.
    let root = std::fs::metadata(dir).unwrap().uid() == 0;
    let mut command = match root {
        true => {
            let bin = dir.join("bin");
            std::fs::create_dir_all(&bin).unwrap();
            let exe = bin.join("anneal");
            if !exe.exists() {
                std::fs::hard_link(env!("CARGO_BIN_EXE_anneal"), &exe)
                    .or_else(|_| std::fs::copy(env!("CARGO_BIN_EXE_anneal"), &exe).map(drop))
                    .unwrap();
            }
            let mut command = Command::new(exe);
            command.uid(65534).gid(65534);
            command
        }
        false => Command::new(env!("CARGO_BIN_EXE_anneal")),
    };
    command
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .output()
        .unwrap()
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn a_study_another_user_cannot_write_is_listed_shown_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let studies = dir.path().join("studies");
    std::fs::create_dir(&studies).unwrap();
    let db = studies.join("s.db");
    two_trials(dir.path(), db.to_str().unwrap(), ["0.5", "0.25"]);
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let bytes = std::fs::read(&db).unwrap();
    // The study's file and folder are the owner's alone; the report goes elsewhere.
    set_mode(&db, 0o444);
    set_mode(&studies, 0o555);
    set_mode(dir.path(), 0o755);
    set_mode(&out, 0o777);
    let db = db.to_str().unwrap();
    let run = |args: &[&str]| {
        let output = anneal_as_other_user(dir.path(), args);
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    let list = run(&["study", "--storage", db, "list"]);
    assert!(list.lines().any(|l| l.starts_with("s ")), "{list}");
    let show = run(&["study", "--storage", db, "show", "s"]);
    assert!(show.contains("2 trials (2 complete"), "{show}");
    let best = run(&["study", "--storage", db, "best", "s", "--json"]);
    assert_eq!(json(&best)["value"], 0.25);
    let report = out.join("s.html");
    run(&[
        "report",
        "s",
        "--storage",
        db,
        "-o",
        report.to_str().unwrap(),
    ]);
    assert!(std::fs::read_to_string(&report).unwrap().contains("<html"));
    // Nothing was written beside it, nor in it.
    let names: Vec<String> = std::fs::read_dir(&studies)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["s.db"]);
    assert!(std::fs::read(db).unwrap() == bytes, "the file changed");
    set_mode(&studies, 0o755);
}

#[test]
fn the_best_run_folder_is_printed_without_dot_dot() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = write(
        dir.path(),
        "cmd.sweep.toml",
        "study = \"paths\"\ncommand = [\"sh\", \"-c\", \"echo anneal: value {x}\"]\ntrials = 2\n\
         [[search]]\nname = \"x\"\nfloat = [0.0, 1.0]\n",
    );
    // The default storage (studies/anneal.db) stores the run folders as ../runs/...
    let text = stdout(&anneal_in(dir.path(), &["tune", sweep.to_str().unwrap()]));
    let folder = text
        .lines()
        .find_map(|l| l.strip_prefix("best run folder: "))
        .unwrap_or_else(|| panic!("{text}"));
    let runs = dir
        .path()
        .canonicalize()
        .unwrap()
        .join("runs")
        .join("paths");
    assert!(Path::new(folder).starts_with(&runs), "{folder}");
    assert!(
        !folder.contains("/../") && !folder.contains("/./"),
        "{folder}"
    );
    assert!(Path::new(folder).join("params.json").is_file(), "{folder}");
}

/// Iris with a model far too large, let past the memory check on purpose, under an
/// address-space limit: that trial's worker aborts on a failed allocation.
fn aborting_sweep(dir: &Path) {
    let base = support::root().join("configs/iris-mlp.toml");
    write(
        dir,
        "o.sweep.toml",
        &format!(
            "study = \"oom\"\nbase = \"{}\"\nmetric = \"val_accuracy\"\ntrials = 3\nsampler = {{ kind = \"grid\" }}\n\
             [[search]]\nname = \"model.units\"\nchoices = [8, 65536]\n\
             [[search]]\nname = \"model.depth\"\nvalue = 3\n\
             [[search]]\nname = \"train.epochs\"\nvalue = 2\n",
            base.display()
        ),
    );
}

#[test]
fn a_quiet_sweep_keeps_an_aborted_workers_lines_in_its_trial_and_writes_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    aborting_sweep(dir.path());
    let script = format!(
        "ulimit -v 6000000; ANNEAL_MEMORY_LIMIT_GB=1000 exec {} tune o.sweep.toml --storage s.db --quiet",
        env!("CARGO_BIN_EXE_anneal")
    );
    let output = Command::new("sh")
        .args(["-c", &script])
        .current_dir(dir.path())
        .env("ANNEAL_DATA_DIR", support::root().join("datasets"))
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    let text = stdout(&output);
    assert!(text.contains("1 complete, 0 pruned, 2 failed"), "{text}");
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(!err.contains("memory allocation of"), "{err}");
    // The supervisor's warning is there, in plain text: standard error is not a terminal.
    assert!(err.contains("its worker was killed by signal 6"), "{err}");
    assert!(!err.contains('\u{1b}'), "{err:?}");
    // The abort line is kept where it belongs: in the trial's record.
    let shown = json(&stdout(&anneal_in(
        dir.path(),
        &["study", "--storage", "s.db", "show", "oom", "--json"],
    )));
    let messages: Vec<&str> = shown["trials"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["message"].as_str())
        .filter(|m| m.starts_with("killed by signal 6"))
        .collect();
    assert!(!messages.is_empty(), "{shown}");
    for message in messages {
        assert!(message.contains("memory allocation of"), "{message}");
    }
}

#[test]
fn a_model_too_large_for_ulimit_v_is_refused_naming_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let config = support::root().join("configs/iris-mlp.toml");
    let script = format!(
        "ulimit -v 4000000; exec {} train --config {} --set model.units=12000 --set model.depth=4 --runs-dir {}",
        env!("CARGO_BIN_EXE_anneal"),
        config.display(),
        dir.path().join("runs").display()
    );
    let started = std::time::Instant::now();
    let output = Command::new("sh")
        .args(["-c", &script])
        .current_dir(dir.path())
        .env("ANNEAL_DATA_DIR", support::root().join("datasets"))
        .env_remove("ANNEAL_MEMORY_LIMIT_GB")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains("needs about") && err.contains("ulimit -v (RLIMIT_AS) leaves this process"),
        "{err}"
    );
    assert!(
        started.elapsed().as_secs() < 20,
        "refused before allocating"
    );
}
