//! One owner's handle on a storage, and the rules every backend shares, written once: a trial
//! this handle claims is its own under a lease that heartbeats renew; changes to a running
//! trial apply only for its owner (or to a trial nobody holds, as `ask` makes for other
//! programs); a trial whose lease has run out, or whose process on this host has exited, is
//! stale, and anyone may fail it or take it back to its pause; a failed trial is retried once.

use std::sync::Arc;
use std::time::Duration;

use super::owner::{DEFAULT_LEASE, Owner, OwnerToken, owner_is_gone};
use super::{
    Change, ChosenParam, Condition, Lease, Storage, StudyId, TrialEnd, TrialId, TrialRecord,
};
use crate::error::{Result, TuneError};

/// A storage as one owner (a process's study, a worker) uses it. It dereferences to the
/// [`Storage`] for reads; every change to a trial goes through the rules here.
pub struct LeasedStorage {
    storage: Arc<dyn Storage>,
    owner: Owner,
    lease: Duration,
}

impl std::fmt::Debug for LeasedStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeasedStorage")
            .field("location", &self.storage.location())
            .field("owner", &self.owner)
            .field("lease", &self.lease)
            .finish()
    }
}

impl<S: Storage + 'static> From<S> for LeasedStorage {
    fn from(storage: S) -> Self {
        Self::new(Arc::new(storage))
    }
}

impl From<Box<dyn Storage>> for LeasedStorage {
    fn from(storage: Box<dyn Storage>) -> Self {
        Self::new(Arc::from(storage))
    }
}

impl std::ops::Deref for LeasedStorage {
    type Target = dyn Storage;

    fn deref(&self) -> &Self::Target {
        self.storage.as_ref()
    }
}

impl LeasedStorage {
    /// A new owner's handle on `storage`, with leases of [`DEFAULT_LEASE`].
    pub fn new(storage: Arc<dyn Storage>) -> Self {
        Self {
            storage,
            owner: Owner::new(),
            lease: DEFAULT_LEASE,
        }
    }

    /// The same handle with trials claimed under leases of `lease`.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// The storage underneath, to share with another handle.
    pub fn shared_storage(&self) -> Arc<dyn Storage> {
        self.storage.clone()
    }

    /// This handle's owner token.
    pub fn owner(&self) -> &str {
        self.owner.as_str()
    }

    /// How long a trial this handle claims stays its own without a heartbeat.
    pub fn lease(&self) -> Duration {
        self.lease
    }

    fn my_lease(&self) -> Lease<'_> {
        Lease {
            owner: self.owner.as_str(),
            length: self.lease,
        }
    }

    /// Claims the next trial number for a new running trial, this handle's under a lease,
    /// unless the study already holds `budget` trials.
    pub fn claim_new(&self, study: StudyId, budget: Option<usize>) -> Result<Option<TrialId>> {
        self.storage.claim_new(study, budget, Some(self.my_lease()))
    }

    /// Claims the next trial number for a new running trial that nobody holds: it runs until
    /// told, from any process (as `ask` does for other programs), and never goes stale.
    pub fn claim_unleased(&self, study: StudyId) -> Result<Option<TrialId>> {
        self.storage.claim_new(study, None, None)
    }

    /// Takes a paused trial back to running, this handle's under a lease; `false` when it is no
    /// longer paused (another process took it first).
    pub fn claim_paused(&self, trial: TrialId) -> Result<bool> {
        self.storage
            .update(trial, Condition::Paused, Change::Resume(self.my_lease()))
    }

    /// Renews the lease of every trial this handle runs; how many.
    pub fn heartbeat(&self) -> Result<usize> {
        self.storage.renew(self.my_lease())
    }

    /// Applies `change` to a running trial this handle holds (or nobody does), else
    /// [`TuneError::LeaseLost`].
    fn change_held(&self, trial: TrialId, change: Change<'_>) -> Result<()> {
        match self
            .storage
            .update(trial, Condition::HeldBy(self.owner()), change)?
        {
            true => Ok(()),
            false => Err(TuneError::LeaseLost {
                number: trial.number,
            }),
        }
    }

    /// Records some of a running trial's parameters at once (each replacing one of the same
    /// name): those a sampler drew jointly as the trial is claimed, so other workers see its
    /// point at once, then each one the objective asks for.
    pub fn set_params(&self, trial: TrialId, params: &[ChosenParam]) -> Result<()> {
        self.change_held(trial, Change::Params(params))
    }

    /// Records the folder a running trial keeps its files in (`None`: it has none after all).
    pub fn set_run_dir(&self, trial: TrialId, run_dir: Option<&str>) -> Result<()> {
        self.change_held(trial, Change::RunDir(run_dir))
    }

    /// Records a running trial's constraint values (each met when at most 0).
    pub fn set_constraints(&self, trial: TrialId, constraints: &[f64]) -> Result<()> {
        self.change_held(trial, Change::Constraints(constraints))
    }

    /// Records a running trial's value at `step` (replacing an earlier report of that step).
    pub fn report(&self, trial: TrialId, step: usize, value: f64) -> Result<()> {
        self.change_held(trial, Change::Report { step, value })
    }

    /// Ends a running trial as `end` says (complete, pruned, failed, paused or interrupted).
    pub fn finish(&self, trial: TrialId, end: &TrialEnd) -> Result<()> {
        self.change_held(trial, Change::End(end))
    }

    /// Deletes a claimed running trial that will not run (an exhausted grid).
    pub fn release(&self, trial: TrialId) -> Result<()> {
        self.storage
            .update(trial, Condition::HeldBy(self.owner()), Change::Remove)
            .map(drop)
    }

    /// The study's running trials held by another handle whose lease has run out, or whose
    /// process on this host has exited, each read whole (with its values). A supervised
    /// worker leaves a dead sibling's trials to the supervisor, which records them with the
    /// signal that ended the worker (and its last words); should the supervisor be gone too,
    /// the lease still runs out.
    pub fn stale(&self, study: StudyId) -> Result<Vec<TrialRecord>> {
        let supervised = OwnerToken::parse(self.owner()).is_some_and(|me| me.worker.is_some());
        let left_to_supervisor = |owner: &str| {
            supervised && OwnerToken::parse(owner).is_some_and(|them| them.worker.is_some())
        };
        let mut stale = Vec::new();
        for held in self.storage.leases(study)? {
            let owner = held.owner.as_str();
            let gone = || !left_to_supervisor(owner) && owner_is_gone(owner);
            if owner != self.owner() && (held.expired || gone()) {
                let id = TrialId {
                    study,
                    number: held.number,
                };
                stale.extend(self.storage.trial(id)?);
            }
        }
        Ok(stale)
    }

    /// The condition a stale trial held by `owner` must still meet when it is ended.
    fn still_stale(owner: &str) -> Condition<'_> {
        Condition::StaleUnder {
            owner,
            owner_gone: owner_is_gone(owner),
        }
    }

    /// Ends a stale trial still held by `owner` (as [`LeasedStorage::stale`] saw it) as `end`
    /// says (a failure); `false` when it changed meanwhile (finished, renewed, or claimed
    /// again).
    pub fn fail_stale(&self, trial: TrialId, owner: &str, end: &TrialEnd) -> Result<bool> {
        self.storage
            .update(trial, Self::still_stale(owner), Change::End(end))
    }

    /// Puts a stale continuation still held by `owner` back to its pause after `step` with
    /// `value`, dropping its later reports; `false` when it changed meanwhile.
    pub fn revert_to_paused(
        &self,
        trial: TrialId,
        owner: &str,
        step: usize,
        value: f64,
    ) -> Result<bool> {
        let end = TrialEnd::paused(value, step);
        self.storage
            .update(trial, Self::still_stale(owner), Change::End(&end))
    }

    /// Records that trial `retry` runs failed trial `failed`'s parameters again
    /// ([`TrialRecord::retried_as`]); `false` when it was marked already (another process
    /// retries it). Atomic: a failed trial is retried once.
    pub fn mark_retried(&self, failed: TrialId, retry: usize) -> Result<bool> {
        self.storage
            .update(failed, Condition::Unretried, Change::RetriedAs(retry))
    }
}
