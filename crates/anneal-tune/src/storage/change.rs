//! The words a [`super::Storage`] backend is spoken to in: one change to one trial, made only
//! if the trial is as a condition says, atomically. Every rule about who may change a trial
//! (its owner while it runs, anyone once it is stale, one retry per failure) is a
//! [`Condition`]; every backend checks the same conditions and applies the same [`Change`]s.

use std::time::Duration;

use super::{ChosenParam, TrialEnd, TrialState};

/// Who holds a trial being claimed or renewed, and for how long without a heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease<'a> {
    /// The holder's owner token.
    pub owner: &'a str,
    /// How long the trial stays the holder's without a renewal (by the storage's clock).
    pub length: Duration,
}

/// What a trial must be for a [`Change`] to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition<'a> {
    /// Running, and held by this owner or by nobody (a trial asked for by another program).
    HeldBy(&'a str),
    /// Running, still held by this owner (as a stale-trial read saw it), and stale: its lease
    /// has expired by the storage's clock, or, with `owner_gone`, whatever its lease says
    /// (the owner's process is known to have exited). A heartbeat that renewed the lease
    /// meanwhile wins.
    StaleUnder {
        /// The owner the trial was read with.
        owner: &'a str,
        /// The owner's process has exited, so its lease is void.
        owner_gone: bool,
    },
    /// Paused at a rung.
    Paused,
    /// Failed, and not yet retried.
    Unretried,
}

/// One change to one trial.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Change<'a> {
    /// Records parameters (each replacing one of the same name).
    Params(&'a [ChosenParam]),
    /// Records the folder the trial keeps its files in (`None`: it has none after all). A file
    /// storage keeps it relative to the file's folder, so a study moved together with its
    /// runs still finds them.
    RunDir(Option<&'a str>),
    /// Records the value at `step` (replacing an earlier report of that step).
    Report {
        /// The step.
        step: usize,
        /// Its value.
        value: f64,
    },
    /// Ends the trial as `end` says, now: no owner or lease any more, and its running time
    /// so far added to its busy time. A trial paused after step `s` keeps no values after `s`
    /// (a stale continuation goes back to its pause).
    End(&'a TrialEnd),
    /// Takes a paused trial back to running under `lease`.
    Resume(Lease<'a>),
    /// Records the trial's constraint values (replacing any recorded before).
    Constraints(&'a [f64]),
    /// Records the number of the trial that runs this failed trial's parameters again.
    RetriedAs(usize),
    /// Deletes the trial and its values (a claimed trial that will not run).
    Remove,
}

/// A running trial that has an owner, as a stale-trial read sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseState {
    /// The trial's number.
    pub number: usize,
    /// Its owner token.
    pub owner: String,
    /// Whether its lease has run out by the storage's clock.
    pub expired: bool,
}

/// What a [`Condition`] looks at, for backends that check it outside SQL.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Standing<'a> {
    pub(crate) state: TrialState,
    pub(crate) owner: Option<&'a str>,
    /// When the lease ends (`None`: no lease recorded).
    pub(crate) lease_until: Option<f64>,
    pub(crate) retried: bool,
}

impl Condition<'_> {
    /// Whether a trial standing as `trial` is, at time `now`, as this condition says.
    pub(crate) fn holds(&self, trial: &Standing, now: f64) -> bool {
        let running = trial.state == TrialState::Running;
        match *self {
            Condition::HeldBy(owner) => running && trial.owner.is_none_or(|o| o == owner),
            Condition::StaleUnder { owner, owner_gone } => {
                running
                    && trial.owner == Some(owner)
                    && (owner_gone || trial.lease_until.is_none_or(|until| until < now))
            }
            Condition::Paused => trial.state == TrialState::Paused,
            Condition::Unretried => trial.state == TrialState::Failed && !trial.retried,
        }
    }
}

impl Change<'_> {
    /// The step after which a trial keeps no values once this change applies.
    pub(crate) fn keeps_values_through(&self) -> Option<usize> {
        match self {
            Change::End(end) => end.paused_after(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn running(owner: Option<&str>, lease_until: Option<f64>) -> Standing<'_> {
        Standing {
            state: TrialState::Running,
            owner,
            lease_until,
            retried: false,
        }
    }

    #[test]
    fn a_running_trial_is_changed_by_its_holder_or_by_anyone_when_nobody_holds_it() {
        let held = running(Some("a"), Some(100.0));
        assert!(Condition::HeldBy("a").holds(&held, 50.0));
        assert!(!Condition::HeldBy("b").holds(&held, 50.0));
        assert!(
            Condition::HeldBy("a").holds(&held, 500.0),
            "its holder still writes after the lease ran out, until someone fails it"
        );
        assert!(Condition::HeldBy("b").holds(&running(None, None), 50.0));
        let paused = Standing {
            state: TrialState::Paused,
            ..held
        };
        assert!(!Condition::HeldBy("a").holds(&paused, 50.0));
        assert!(Condition::Paused.holds(&paused, 50.0));
    }

    #[test]
    fn a_trial_is_stale_once_its_lease_ends_or_at_once_when_its_owner_is_gone() {
        let held = running(Some("a"), Some(100.0));
        let stale = |owner_gone, now| {
            Condition::StaleUnder {
                owner: "a",
                owner_gone,
            }
            .holds(&held, now)
        };
        assert!(!stale(false, 99.0), "a live lease wins");
        assert!(stale(false, 101.0));
        assert!(stale(true, 99.0), "a gone owner's lease is void");
        let renewed_by_other = Condition::StaleUnder {
            owner: "b",
            owner_gone: true,
        };
        assert!(
            !renewed_by_other.holds(&held, 101.0),
            "claimed by another owner meanwhile"
        );
        assert!(
            Condition::StaleUnder {
                owner: "a",
                owner_gone: false
            }
            .holds(&running(Some("a"), None), 0.0),
            "a trial left running before leases existed has none"
        );
    }

    #[test]
    fn a_failed_trial_is_retried_once() {
        let failed = Standing {
            state: TrialState::Failed,
            owner: None,
            lease_until: None,
            retried: false,
        };
        assert!(Condition::Unretried.holds(&failed, 0.0));
        let retried = Standing {
            retried: true,
            ..failed
        };
        assert!(!Condition::Unretried.holds(&retried, 0.0));
    }
}
