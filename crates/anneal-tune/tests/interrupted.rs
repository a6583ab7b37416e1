//! Trials left running by a process that stopped: their cause says how that was seen.

use std::time::Duration;

use anneal_tune::{
    Cause, LeasedStorage, NewStudy, RandomSampler, SqliteStorage, Study, TrialState,
};

#[test]
fn an_interrupted_trial_says_whether_its_process_exited_or_its_lease_lapsed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let new = NewStudy::new("s", anneal_tune::Direction::Minimize);
    // Every handle reads one clock that moves only when the test says.
    let clock = anneal_tune::ManualClock::at(1.0e9);
    let open = || {
        LeasedStorage::from(
            SqliteStorage::open(&db)
                .unwrap()
                .with_clock(std::sync::Arc::new(clock.clone())),
        )
    };
    // Trial 0: its holder is alive but stopped renewing its lease (a hung process).
    let hung = open().with_lease(Duration::from_secs(60));
    let id = hung.create_study(&new).unwrap().id;
    hung.claim_new(id, None).unwrap().unwrap();
    // Trial 1: its holder is gone (a process of this host that exited), seen at once.
    let gone = open();
    gone.claim_new(id, None).unwrap().unwrap();
    drop(gone);
    clock.advance(Duration::from_secs(61));
    let study = Study::builder()
        .name("s")
        .storage(open())
        .sampler(RandomSampler)
        .build()
        .unwrap();
    let outcome = study
        .optimize(3, |trial| Ok(trial.suggest_float("x", 0.0, 1.0)?))
        .unwrap();
    let cause = |n: usize| {
        let trial = &outcome.trials[n];
        assert_eq!(trial.state, TrialState::Failed);
        assert_eq!(trial.message, trial.cause.map(|c| c.to_string()));
        trial.cause.unwrap()
    };
    assert_eq!(cause(0), Cause::LeaseLapsed);
    assert_eq!(cause(1), Cause::ProcessExited);
    assert!(
        outcome.trials[1]
            .message
            .as_deref()
            .unwrap()
            .ends_with("(its process had exited)")
    );
    drop(hung);
}
