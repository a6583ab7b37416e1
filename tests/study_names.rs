//! Study names and `study delete --runs` against a database someone else can write: nothing a
//! name or a stored run folder says reaches outside the study's own runs folder.

mod support;

use std::path::Path;

use support::{anneal_in, stderr_of_failure, stdout};

fn command_sweep(dir: &Path, study: &str, trials: usize) -> String {
    let text = format!(
        "study = {study:?}\ncommand = [\"python3\", \"-c\", \"print('anneal: value 1')\", \"{{x}}\"]\n\
         trials = {trials}\nsampler = {{ kind = \"random\" }}\n[[search]]\nname = \"x\"\nfloat = [0.0, 1.0]\n"
    );
    let path = dir.join(format!("sweep-{}.toml", trials));
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn a_study_named_like_a_folder_is_refused_before_any_trial_runs() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["..", ".", "a/b", "x\\u001b[31m"] {
        let sweep = command_sweep(dir.path(), name, 2);
        let err = stderr_of_failure(&anneal_in(dir.path(), &["tune", &sweep]));
        assert!(err.contains("invalid value for `study`"), "{name}: {err}");
    }
    // `..` used to write ./trial-0 and ./trial-1 beside runs/.
    assert!(!dir.path().join("trial-0").exists());
    assert!(!dir.path().join("runs").exists());
    let err = stderr_of_failure(&anneal_in(
        dir.path(),
        &[
            "ask",
            "--study",
            "..",
            "--storage",
            "s.db",
            "--space",
            r#"{"x": {"float": [0, 1]}}"#,
        ],
    ));
    assert!(err.contains("invalid value for `study`"), "{err}");
}

#[test]
fn study_delete_runs_removes_only_the_studys_own_run_folders() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("project");
    std::fs::create_dir(&dir).unwrap();
    let sweep = command_sweep(&dir, "s", 4);
    let text = stdout(&anneal_in(&dir, &["tune", &sweep]));
    assert!(text.contains("4 trials (4 complete"), "{text}");

    // Folders someone wants gone, named by rows of the shared database.
    let victim = |name: &str| {
        let folder = work.path().join(name);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("precious.txt"), "keep me").unwrap();
        folder
    };
    let absolute = victim("absolute");
    let relative = victim("relative");
    let linked = victim("linked");
    let db = rusqlite::Connection::open(dir.join("studies/anneal.db")).unwrap();
    let set_run_dir = |number: i64, run_dir: &str| {
        db.execute(
            "UPDATE trials SET run_dir = ?1 WHERE number = ?2",
            rusqlite::params![run_dir, number],
        )
        .unwrap();
    };
    set_run_dir(0, absolute.to_str().unwrap());
    // Relative to the database's folder (project/studies).
    set_run_dir(1, "../../relative");
    // Trial 2's own folder replaced by a link to a folder outside.
    let trial_2 = dir.join("runs/s/trial-2");
    std::fs::remove_dir_all(&trial_2).unwrap();
    std::os::unix::fs::symlink(&linked, &trial_2).unwrap();
    drop(db);

    let deleted = stdout(&anneal_in(&dir, &["study", "delete", "s", "--runs"]));
    assert!(deleted.contains("removed 1 run folders"), "{deleted}");
    assert_eq!(deleted.matches("\nleft ").count(), 3, "{deleted}");
    assert!(
        deleted.contains("outside the study's runs folder"),
        "{deleted}"
    );
    for folder in [&absolute, &relative, &linked] {
        assert!(folder.join("precious.txt").exists(), "{}", folder.display());
    }
    assert!(!dir.join("runs/s/trial-3").exists());
}

#[test]
fn study_delete_runs_finds_run_folders_in_the_folder_named() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = command_sweep(dir.path(), "elsewhere", 2);
    stdout(&anneal_in(
        dir.path(),
        &["tune", &sweep, "--artifacts", "shared-runs"],
    ));
    let runs = dir.path().join("shared-runs/elsewhere");
    assert_eq!(std::fs::read_dir(&runs).unwrap().count(), 2);
    // Not under the default `runs`: named with --runs-dir.
    let db = dir.path().join("studies/anneal.db");
    let deleted = stdout(&anneal_in(
        dir.path(),
        &[
            "study",
            "--storage",
            db.to_str().unwrap(),
            "delete",
            "elsewhere",
            "--runs",
            "--runs-dir",
            "shared-runs",
        ],
    ));
    assert!(deleted.contains("removed 2 run folders"), "{deleted}");
    assert!(!runs.exists() && dir.path().join("shared-runs").exists());
}
