//! A study opened only to read: read where neither the file nor its folder can be written,
//! never written itself, every change refused with a typed error, and an older file's schema
//! left alone.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anneal_tune::{
    NewStudy, RandomSampler, SqliteStorage, StorageOptions, Study, TuneError, open_storage,
};

fn read_only() -> StorageOptions {
    StorageOptions {
        read_only: true,
        ..Default::default()
    }
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A folder and the files in it that not even this process may change: modes 0555 / 0444,
/// and for root, which passes over modes, the immutable attribute where the file system has
/// one. Undone when dropped.
struct Frozen {
    dir: PathBuf,
    attribute: bool,
}

impl Frozen {
    fn new(dir: &Path) -> Self {
        for entry in std::fs::read_dir(dir).unwrap() {
            set_mode(&entry.unwrap().path(), 0o444);
        }
        set_mode(dir, 0o555);
        let mut frozen = Self {
            dir: dir.to_path_buf(),
            attribute: false,
        };
        if !frozen.refuses_writes() {
            frozen.attribute = std::process::Command::new("chattr")
                .args(["-R", "+i"])
                .arg(dir)
                .status()
                .is_ok_and(|s| s.success());
        }
        frozen
    }

    /// Whether a new file in the folder is refused.
    fn refuses_writes(&self) -> bool {
        let probe = self.dir.join("probe");
        let refused = std::fs::write(&probe, "x").is_err();
        let _ = std::fs::remove_file(&probe);
        refused
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        if self.attribute {
            let _ = std::process::Command::new("chattr")
                .args(["-R", "-i"])
                .arg(&self.dir)
                .status();
        }
        set_mode(&self.dir, 0o755);
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_study_in_a_folder_nobody_may_write_is_read_and_never_written() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("studies");
    let db = home.join("s.db");
    let study = Study::builder()
        .name("s")
        .storage(SqliteStorage::open(&db).unwrap())
        .sampler(RandomSampler)
        .build()
        .unwrap();
    study
        .optimize(3, |trial| Ok(trial.suggest_float("x", -1.0, 1.0)?))
        .unwrap();
    drop(study);
    assert_eq!(names(&home), ["s.db"], "the last handle cleans up its log");
    let bytes = std::fs::read(&db).unwrap();
    let frozen = Frozen::new(&home);
    if frozen.refuses_writes() {
        // What read commands did before: a writable open, which writes, fails here.
        let err = SqliteStorage::open(&db).unwrap_err().to_string();
        assert!(
            err.contains("readonly") || err.contains("unable to open"),
            "{err}"
        );
    } else {
        eprintln!("note: this process may write anywhere here; checking only that nothing is");
    }
    let storage = open_storage(db.to_str().unwrap(), &read_only()).unwrap();
    let studies = storage.studies().unwrap();
    assert_eq!(studies.len(), 1);
    let trials = storage.trials(studies[0].id).unwrap();
    assert_eq!(trials.len(), 3);
    assert_eq!(
        storage
            .trial(anneal_tune::TrialId {
                study: studies[0].id,
                number: 2
            })
            .unwrap()
            .unwrap(),
        trials[2]
    );
    // Every change is refused as such, before it reaches the file.
    let refused = |result: Result<(), TuneError>| {
        assert!(
            matches!(&result, Err(TuneError::ReadOnly { location }) if location.ends_with("s.db")),
            "{result:?}"
        );
    };
    refused(storage.claim_new(studies[0].id, None).map(drop));
    refused(storage.delete_study(studies[0].id));
    refused(storage.heartbeat().map(drop));
    let other = NewStudy::new("other", anneal_tune::Direction::Minimize);
    refused(storage.create_study(&other).map(drop));
    let err = storage.delete_study(studies[0].id).unwrap_err().to_string();
    assert!(err.contains("open read-only"), "{err}");
    drop(storage);
    drop(frozen);
    assert_eq!(std::fs::read(&db).unwrap(), bytes, "the file is as it was");
}

#[test]
fn a_read_only_open_leaves_an_older_schema_alone_and_says_how_to_upgrade_it() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.db");
    rusqlite::Connection::open(&old)
        .unwrap()
        .execute_batch(
            "CREATE TABLE studies (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, direction TEXT NOT NULL, objective TEXT NOT NULL, sampler TEXT NOT NULL, sweep TEXT NOT NULL, seed INTEGER NOT NULL, created REAL NOT NULL);
             CREATE TABLE trials (study_id INTEGER NOT NULL, number INTEGER NOT NULL, state TEXT NOT NULL, params TEXT NOT NULL, value REAL, intermediate TEXT NOT NULL DEFAULT '[]', seed INTEGER NOT NULL, started REAL NOT NULL, finished REAL, error TEXT, run_dir TEXT, PRIMARY KEY (study_id, number));",
        )
        .unwrap();
    let bytes = std::fs::read(&old).unwrap();
    let err = open_storage(old.to_str().unwrap(), &read_only())
        .err()
        .unwrap();
    assert!(matches!(err, TuneError::NeedsUpgrade { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("schema 0, older than this anneal's") && text.contains("command that writes"),
        "{text}"
    );
    assert_eq!(std::fs::read(&old).unwrap(), bytes, "not upgraded");
    // A writable open upgrades it, and then it reads.
    drop(SqliteStorage::open(&old).unwrap());
    assert!(SqliteStorage::open_read_only(&old).is_ok());
    // An empty file holds no study yet; a missing one is an error naming it.
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, "").unwrap();
    let err = SqliteStorage::open_read_only(&empty)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no study tables"), "{err}");
    let missing = dir.path().join("missing.db");
    let err = SqliteStorage::open_read_only(&missing)
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing.db"), "{err}");
    assert!(!missing.exists(), "a read-only open creates nothing");
}

#[cfg(feature = "postgres")]
#[path = "support/pg.rs"]
mod pg;

#[cfg(feature = "postgres")]
#[test]
fn a_read_only_postgres_session_reads_and_refuses_changes() {
    let Some(server) =
        pg::PgServer::start("a_read_only_postgres_session_reads_and_refuses_changes")
    else {
        return;
    };
    let url = server.url();
    // Before anything created the tables, a read-only session leaves them uncreated.
    let err = open_storage(&url, &read_only()).err().unwrap();
    assert!(
        matches!(&err, TuneError::NeedsUpgrade { found, .. } if found.contains("no study tables")),
        "{err:?}"
    );
    let study = Study::builder()
        .name("s")
        .storage(anneal_tune::PostgresStorage::connect(&url).unwrap())
        .sampler(RandomSampler)
        .build()
        .unwrap();
    study
        .optimize(2, |trial| Ok(trial.suggest_float("x", -1.0, 1.0)?))
        .unwrap();
    let storage = open_storage(&url, &read_only()).unwrap();
    let studies = storage.studies().unwrap();
    assert_eq!(storage.trials(studies[0].id).unwrap().len(), 2);
    // The server refuses each change, and the refusal is the typed one.
    for result in [
        storage.claim_new(studies[0].id, None).map(drop),
        storage.delete_study(studies[0].id),
    ] {
        assert!(
            matches!(result, Err(TuneError::ReadOnly { .. })),
            "{result:?}"
        );
    }
    assert_eq!(study.trials().unwrap().len(), 2, "nothing changed");
}
