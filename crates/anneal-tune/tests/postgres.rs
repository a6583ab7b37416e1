//! The PostgreSQL storage against a real server started for the test: the same rules as the
//! SQLite file (exact budgets under concurrent claims, owners and leases, one claimant of a
//! paused trial, cascading deletes), run folders relative to each worker's artifacts folder,
//! and a server restart in the middle of a study.

// Built with the `postgres` feature only (as the workspace build has it), so that
// `cargo test -p anneal-tune` alone compiles.
#![cfg(feature = "postgres")]

#[path = "support/lease.rs"]
mod lease;
#[path = "support/pg.rs"]
mod pg;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use anneal_tune::{
    Direction, LeasedStorage, MedianPruner, NewStudy, PostgresStorage, Storage, Study, TpeSampler,
    TrialEnd, TrialState,
};

fn new_study(name: &str) -> NewStudy {
    NewStudy {
        objective: "test".into(),
        definition: "{}".into(),
        ..NewStudy::new(name, Direction::Minimize)
    }
}

#[test]
fn postgres_storage_keeps_the_trial_rules() {
    let Some(server) = pg::PgServer::start("postgres_storage_keeps_the_trial_rules") else {
        return;
    };
    let url = server.url();
    let lease = Duration::from_millis(400);
    let connect = || LeasedStorage::from(PostgresStorage::connect(&url).unwrap());
    let (first, second) = (connect().with_lease(lease), connect().with_lease(lease));
    assert_eq!(
        first.location(),
        url,
        "the location names the server, never a password"
    );

    // A study is created once; reopening with another definition is refused.
    let study = first.create_study(&new_study("rules")).unwrap();
    assert_eq!(
        second.create_study(&new_study("rules")).unwrap().id,
        study.id
    );
    let mut other = new_study("rules");
    other.definition = "{\"changed\":1}".into();
    let err = second.create_study(&other).unwrap_err().to_string();
    assert!(err.contains("different definition"), "{err}");

    // Eight handles claiming at once never pass the budget nor share a number.
    let claimed: Vec<usize> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..8)
            .map(|_| {
                let url = url.clone();
                scope.spawn(move || {
                    let storage = LeasedStorage::from(PostgresStorage::connect(&url).unwrap());
                    let mut mine = Vec::new();
                    while let Some(id) = storage.claim_new(study.id, Some(120)).unwrap() {
                        storage.finish(id, &TrialEnd::complete(1.0)).unwrap();
                        mine.push(id.number);
                    }
                    mine
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    assert_eq!(claimed.len(), 120);
    assert_eq!(claimed.iter().copied().collect::<HashSet<_>>().len(), 120);
    assert_eq!(first.trials(study.id).unwrap().len(), 120);
    first.delete_study(study.id).unwrap();
    assert!(first.study("rules").unwrap().is_none());

    // Only the owner changes a running trial; a lapsed lease makes it stale for others, once.
    let study = first.create_study(&new_study("leases")).unwrap();
    // The server's clock decides leases: time has to pass for real.
    lease::check_lease_rules(&first, &second, study.id, lease, &std::thread::sleep);

    // A paused trial is continued by exactly one of the handles that race for it, and a
    // continuation whose owner vanished goes back to its pause with its later values dropped.
    let paused = first.claim_new(study.id, Some(5)).unwrap().unwrap();
    first.report(paused, 1, 0.9).unwrap();
    first.report(paused, 2, 0.8).unwrap();
    first.finish(paused, &TrialEnd::paused(0.8, 2)).unwrap();
    let winners = std::thread::scope(|scope| {
        let racers: Vec<_> = (0..6)
            .map(|_| {
                let url = url.clone();
                scope.spawn(move || {
                    let storage = LeasedStorage::from(PostgresStorage::connect(&url).unwrap())
                        .with_lease(lease);
                    let won = storage.claim_paused(paused).unwrap();
                    if won {
                        storage.report(paused, 3, 0.7).unwrap();
                        // This handle dies here, holding the continuation.
                    }
                    won
                })
            })
            .collect();
        racers
            .into_iter()
            .map(|r| r.join().unwrap())
            .filter(|won| *won)
            .count()
    });
    assert_eq!(winners, 1);
    let stale = second.stale(study.id).unwrap();
    let held = stale
        .iter()
        .find(|t| t.number == paused.number)
        .expect("its owner is gone");
    assert!(
        second
            .revert_to_paused(paused, held.owner.as_deref().unwrap(), 2, 0.8)
            .unwrap()
    );
    let record = second.trial(paused).unwrap().unwrap();
    assert_eq!(record.state, TrialState::Paused);
    assert_eq!(record.intermediate, vec![(1, 0.9), (2, 0.8)]);
    let at_two = second.values_at(study.id, 2).unwrap();
    assert_eq!((at_two[0].number, at_two[0].value), (paused.number, 0.8));

    // Run folders are stored relative to the artifacts folder each worker names, so a worker
    // that mounts it elsewhere finds the same folder.
    let shared = tempfile::tempdir().unwrap();
    let (here, there) = (shared.path().join("here"), shared.path().join("there"));
    let writer = LeasedStorage::from(
        PostgresStorage::connect(&url)
            .unwrap()
            .with_artifacts(&here)
            .unwrap(),
    );
    let reader = PostgresStorage::connect(&url)
        .unwrap()
        .with_artifacts(&there)
        .unwrap();
    let with_files = writer.claim_new(study.id, Some(5)).unwrap().unwrap();
    let folder = here.canonicalize().unwrap().join("leases/trial-3");
    writer
        .set_run_dir(with_files, Some(folder.to_str().unwrap()))
        .unwrap();
    let seen = reader.trial(with_files).unwrap().unwrap().run_dir.unwrap();
    assert_eq!(
        seen,
        there
            .canonicalize()
            .unwrap()
            .join("leases/trial-3")
            .to_str()
            .unwrap()
    );
    assert_eq!(
        first.trial(with_files).unwrap().unwrap().run_dir.as_deref(),
        Some("leases/trial-3"),
        "a handle without an artifacts folder sees the stored relative path"
    );
}

#[test]
fn a_study_survives_a_server_restart() {
    let Some(server) = pg::PgServer::start("a_study_survives_a_server_restart") else {
        return;
    };
    let storage = Arc::new(PostgresStorage::connect(&server.url()).unwrap());
    let study = Study::builder()
        .name("restart")
        .storage(storage.clone())
        .direction(Direction::Minimize)
        .sampler(TpeSampler::default())
        .pruner(MedianPruner::default())
        .build()
        .unwrap();
    let outcome = study
        .optimize(20, |trial| {
            let x = trial.suggest_float("x", -5.0, 5.0)?;
            for step in 1..=3 {
                trial.report(step, (x - 1.0).powi(2) + 1.0 / step as f64)?;
            }
            Ok((x - 1.0).powi(2))
        })
        .unwrap();
    assert_eq!(outcome.trials.len(), 20);
    // Every connection is cut; the handle connects again on its next call and the study
    // carries on to its new budget.
    server.restart();
    let outcome = study
        .optimize(40, |trial| {
            let x = trial.suggest_float("x", -5.0, 5.0)?;
            trial.report(1, (x - 1.0).powi(2))?;
            Ok((x - 1.0).powi(2))
        })
        .unwrap();
    assert_eq!(outcome.trials.len(), 40);
    assert!(outcome.trials.iter().all(|t| t.state.is_finished()));
    assert!(
        outcome
            .trials
            .iter()
            .filter(|t| t.state == TrialState::Complete)
            .count()
            >= 20
    );
    let numbers: HashSet<usize> = outcome.trials.iter().map(|t| t.number).collect();
    assert_eq!(numbers.len(), 40);
    // With the server down for longer than a call waits, the error names the server.
    server.stop();
    let started = std::time::Instant::now();
    let down = PostgresStorage::connect(&server.url())
        .unwrap_err()
        .to_string();
    assert!(down.contains(&server.url()), "{down}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "a first connection does not wait"
    );
    server.start_again();
    assert_eq!(storage.trials(study.id()).unwrap().len(), 40);
}
