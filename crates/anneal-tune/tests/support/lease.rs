//! The lease rules every storage keeps, checked the same way on each: two handles (two
//! processes) on one study.

use std::time::Duration;

use anneal_tune::{Cause, LeasedStorage, StudyId, TrialEnd, TrialId, TrialState, TuneError};

/// `first` claims a trial under a lease of `lease` and reports on it. `second` may neither change
/// it nor see it as stale while `first`'s heartbeats keep the lease alive; once the lease lapses,
/// `second` fails it exactly once, and `first`'s late writes are refused. `pass(d)` lets `d` of
/// the storages' time go by (moves a manual clock on, or sleeps where the clock is a server's).
/// Returns the trial.
pub fn check_lease_rules(
    first: &LeasedStorage,
    second: &LeasedStorage,
    study: StudyId,
    lease: Duration,
    pass: &dyn Fn(Duration),
) -> TrialId {
    let trial = first.claim_new(study, Some(5)).unwrap().unwrap();
    first.report(trial, 1, 0.5).unwrap();
    assert!(matches!(
        second.report(trial, 2, 0.1),
        Err(TuneError::LeaseLost { .. })
    ));
    for _ in 0..4 {
        pass(lease / 3);
        first.heartbeat().unwrap();
        assert!(second.stale(study).unwrap().is_empty());
    }
    // Without heartbeats the lease lapses: the other handle fails it, and the first one's
    // late writes are refused rather than overwriting what happened since.
    pass(lease + lease / 2);
    let stale = second.stale(study).unwrap();
    assert_eq!(stale.len(), 1);
    assert_eq!(stale[0].intermediate, vec![(1, 0.5)]);
    let owner = stale[0].owner.clone().unwrap();
    assert!(
        second
            .fail_stale(trial, &owner, &TrialEnd::failed(Cause::LeaseLapsed, None))
            .unwrap()
    );
    assert!(
        !second
            .fail_stale(trial, &owner, &TrialEnd::failed(Cause::LeaseLapsed, None))
            .unwrap(),
        "only once"
    );
    assert!(matches!(
        first.finish(trial, &TrialEnd::complete(0.5)),
        Err(TuneError::LeaseLost { .. })
    ));
    assert_eq!(
        first.trial(trial).unwrap().unwrap().state,
        TrialState::Failed
    );
    trial
}
