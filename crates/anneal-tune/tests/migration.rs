//! Studies written by the previous release open and are upgraded: why each trial ended, and
//! which trial retried it, were only words in its message there; here they are typed fields,
//! and retries, the failure guard and the samplers read those.
//!
//! The fixtures were written by the previous release's storages (SQLite schema 4, PostgreSQL
//! schema 1) through its public API: one trial of every kind, including a killed trial
//! retried by a complete one, a chain of two deaths, and a trial still running under a
//! process that has long exited.

use std::path::Path;

use anneal_tune::{
    Cause, RandomSampler, SqliteStorage, Storage, Study, TrialRecord, TrialState, TuneError,
};

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Every trial of the fixture study, as the upgraded storage reads it.
fn check_upgraded(trials: &[TrialRecord]) {
    let expected: [(TrialState, Option<Cause>, Option<usize>); 13] = [
        (TrialState::Complete, None, None),
        (
            TrialState::Pruned,
            Some(Cause::Pruned { step: Some(2) }),
            None,
        ),
        (TrialState::Paused, Some(Cause::Paused { step: 3 }), None),
        (TrialState::Failed, Some(Cause::ObjectiveError), None),
        (TrialState::Failed, Some(Cause::Diverged), None),
        (
            TrialState::Failed,
            Some(Cause::Killed { signal: 9 }),
            Some(7),
        ),
        (TrialState::Failed, Some(Cause::ProcessExited), None),
        (TrialState::Complete, None, None),
        (TrialState::Interrupted, Some(Cause::ByUser), None),
        (TrialState::Failed, Some(Cause::TimedOut), None),
        (TrialState::Failed, Some(Cause::LeaseLapsed), Some(11)),
        (TrialState::Failed, Some(Cause::Killed { signal: 11 }), None),
        (TrialState::Pruned, Some(Cause::Pruned { step: None }), None),
    ];
    for (trial, (state, cause, retried_as)) in trials.iter().zip(expected) {
        assert_eq!(
            (trial.state, trial.cause, trial.retried_as),
            (state, cause, retried_as),
            "trial {}: {:?}",
            trial.number,
            trial.message
        );
    }
    assert_eq!(trials[2].paused_after(), Some(3));
    // The retry note left the message, which keeps the rest of its words.
    assert_eq!(
        trials[5].message.as_deref(),
        Some("killed by signal 9 (SIGKILL: likely the kernel's out-of-memory killer)")
    );
    assert_eq!(
        trials[5].note().as_deref(),
        Some(
            "killed by signal 9 (SIGKILL: likely the kernel's out-of-memory killer); retried as trial 7"
        )
    );
    assert_eq!(
        trials[3].message.as_deref(),
        Some("the objective failed: no such file")
    );
    assert_eq!(trials[1].intermediate, [(1, 0.9), (2, 0.8)]);
    // One objective, no constraints: nothing to read back but the one value.
    assert!(
        trials
            .iter()
            .all(|t| t.values.is_empty() && t.constraints.is_empty())
    );
}

#[test]
fn a_sqlite_study_of_the_previous_release_opens_with_typed_causes_and_retries() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.db");
    std::fs::copy(fixture("schema4.sqlite"), &db).unwrap();

    // Reading it needs the upgrade, which only a writable open makes.
    let error = SqliteStorage::open_read_only(&db)
        .and_then(|s| s.trials(anneal_tune::StudyId(1)))
        .unwrap_err();
    assert!(matches!(error, TuneError::NeedsUpgrade { .. }), "{error}");

    let storage = SqliteStorage::open(&db).unwrap();
    let study = storage.study("old").unwrap().unwrap();
    assert_eq!(study.directions, [study.direction]);
    let trials = storage.trials(study.id).unwrap();
    assert_eq!(trials.len(), 14);
    check_upgraded(&trials);
    assert_eq!(trials[13].state, TrialState::Running);
    drop(storage);

    // The study goes on from there: the trial left running by the exited process fails as
    // such, and the new trials retry the oldest deaths along chains shorter than the limit
    // (trial 6, never retried; trial 11, one retry after trial 10).
    let study = Study::builder()
        .name("old")
        .storage(SqliteStorage::open(&db).unwrap())
        .sampler(RandomSampler)
        .retry_failed(2)
        .build()
        .unwrap();
    let outcome = study
        .optimize(15, |trial| Ok(trial.suggest_float("x", 0.0, 1.0)?))
        .unwrap();
    let trials = &outcome.trials;
    assert_eq!(trials[13].cause, Some(Cause::ProcessExited));
    assert_eq!(trials[6].retried_as, Some(14));
    assert_eq!(trials[14].params, trials[6].params);
    assert_eq!(trials[11].retried_as, Some(15));
    assert_eq!(trials[15].params, trials[11].params);
    assert_eq!(trials.len(), 16);
}

#[cfg(feature = "postgres")]
#[path = "support/pg.rs"]
mod pg;

#[cfg(feature = "postgres")]
#[test]
fn a_postgres_study_of_the_previous_release_opens_with_typed_causes_and_retries() {
    let Some(server) = pg::PgServer::start("a_postgres_study_of_the_previous_release") else {
        return;
    };
    let dump = std::fs::read_to_string(fixture("schema1.postgres.sql")).unwrap();
    let mut client = postgres::Client::connect(&server.url(), postgres::NoTls).unwrap();
    client.batch_execute(&dump).unwrap();
    drop(client);

    let read_only = anneal_tune::PostgresStorage::connect_read_only(&server.url());
    assert!(
        matches!(read_only, Err(TuneError::NeedsUpgrade { .. })),
        "a read-only handle never upgrades: {:?}",
        read_only.err()
    );

    let storage = anneal_tune::PostgresStorage::connect(&server.url()).unwrap();
    let study = storage.study("old").unwrap().unwrap();
    assert_eq!(study.directions, [study.direction]);
    let trials = storage.trials(study.id).unwrap();
    assert_eq!(trials.len(), 14);
    check_upgraded(&trials);
    // Upgraded once: a second handle finds the current schema and changes nothing.
    let again = anneal_tune::PostgresStorage::connect(&server.url()).unwrap();
    assert_eq!(again.trials(study.id).unwrap(), trials);
}
