//! Where studies live. A [`Storage`] is written as trial state changes (claim a trial, record a
//! parameter, report a value, pause, finish), each one atomic, so any number of processes can
//! share a study and a kill at any point loses at most the running trial's unfinished step.
//! Reads are shaped for a networked database: the values at one step for a pruner, the trials
//! once per trial for a sampler.
//!
//! [`SqliteStorage`] keeps studies in a file; `PostgresStorage` (the `postgres` feature) in a
//! PostgreSQL database that workers on many hosts share; [`MemoryStorage`] keeps them in this
//! process. [`open_storage`] opens either of the first two from a path or URL.

use serde::{Deserialize, Serialize};

use crate::direction::Direction;
use crate::error::Result;

mod clock;
mod encoding;
mod legacy;
mod memory;
mod owner;
mod paths;
#[cfg(feature = "postgres")]
mod postgres;
mod record;
mod sqlite;
mod url;

pub use clock::{Clock, ManualClock, SystemClock};
pub use memory::MemoryStorage;
pub(crate) use owner::owner_is_gone;
pub use owner::{DEFAULT_LEASE, OwnerToken, WORKER_TAG_VARIABLE};
pub use record::{Cause, ChosenParam, StepValue, TrialEnd, TrialRecord, TrialState};

#[cfg(feature = "postgres")]
pub use postgres::PostgresStorage;
pub use sqlite::SqliteStorage;
pub use url::{StorageOptions, is_postgres_url, open_storage, sqlite_path};

/// A study's id within its storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StudyId(pub i64);

/// One trial of one study.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TrialId {
    /// The study it belongs to.
    pub study: StudyId,
    /// Its number in the study, from 0 in the order trials were claimed.
    pub number: usize,
}

/// What identifies a study when it is created or reopened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewStudy {
    /// Unique within the storage.
    pub name: String,
    /// Whether values are minimised or maximised.
    pub direction: Direction,
    /// What is optimised, in words (for listings).
    pub objective: String,
    /// The sampler's settings, in words or JSON (for listings).
    pub sampler: String,
    /// The full definition (a sweep file's settings, say); reopening a study with another
    /// definition is refused, since its trials would not be comparable. Empty: not checked.
    pub definition: String,
    /// The study seed every trial's randomness derives from.
    pub seed: u64,
}

impl NewStudy {
    /// A study named `name` in `direction`, seed 0, with nothing said of its objective or
    /// sampler and no definition to check on reopening (set the fields for more).
    pub fn new(name: impl Into<String>, direction: Direction) -> Self {
        Self {
            name: name.into(),
            direction,
            objective: String::new(),
            sampler: String::new(),
            definition: String::new(),
            seed: 0,
        }
    }
}

/// A study's identity and settings as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyRecord {
    /// Its id in the storage.
    pub id: StudyId,
    /// Unique within the storage.
    pub name: String,
    /// Whether values are minimised or maximised.
    pub direction: Direction,
    /// What is optimised, in words.
    pub objective: String,
    /// The sampler's settings.
    pub sampler: String,
    /// The definition the study was created with (a sweep file's settings, say).
    pub definition: String,
    /// The study seed.
    pub seed: u64,
    /// When it was created (seconds since the Unix epoch).
    pub created: f64,
}

/// A store of studies and their trials. Every method is one atomic change or read. Each
/// handle has an owner token ([`Storage::owner`]): trials it claims run under a lease that
/// [`Storage::heartbeat`] renews, changes to a running trial apply only for its owner (or to a
/// trial claimed without a lease, as `ask` does for other programs), and another handle may end
/// a trial only once it is stale ([`Storage::stale`]).
pub trait Storage: Send + Sync {
    /// Where the studies are, for messages (a file path, "memory").
    fn location(&self) -> String;

    /// This handle's owner token.
    fn owner(&self) -> &str;

    /// How long a trial this handle claims stays its own without a heartbeat.
    fn lease(&self) -> std::time::Duration;

    /// Creates the study, or returns the existing one of that name, which must have the same
    /// direction and definition.
    fn create_study(&self, new: &NewStudy) -> Result<StudyRecord>;

    /// The study of that name.
    fn study(&self, name: &str) -> Result<Option<StudyRecord>>;

    /// Every study, oldest first.
    fn studies(&self) -> Result<Vec<StudyRecord>>;

    /// Deletes a study and all its trials.
    fn delete_study(&self, study: StudyId) -> Result<()>;

    /// Claims the next trial number for a new running trial, unless the study already holds
    /// `budget` trials; with `leased`, the trial is this handle's under a lease. Atomic across
    /// processes: parallel workers never exceed the budget or share a number.
    fn claim_new(
        &self,
        study: StudyId,
        budget: Option<usize>,
        leased: bool,
    ) -> Result<Option<TrialId>>;

    /// Takes a paused trial back to running, this handle's under a lease; `false` when it is no
    /// longer paused (another process took it first).
    fn claim_paused(&self, trial: TrialId) -> Result<bool>;

    /// Renews the lease of every trial this handle runs; how many.
    fn heartbeat(&self) -> Result<usize>;

    /// Records some of a running trial's parameters at once (each replacing one of the same
    /// name): those a sampler drew jointly as the trial is claimed, so other workers see its
    /// point at once, then each one the objective asks for.
    fn set_params(&self, trial: TrialId, params: &[ChosenParam]) -> Result<()>;

    /// Records the folder a running trial keeps its files in (`None`: it has none after all).
    /// A file storage keeps it relative to the file's folder, so a study moved together with
    /// its runs still finds them.
    fn set_run_dir(&self, trial: TrialId, run_dir: Option<&str>) -> Result<()>;

    /// Records a running trial's value at `step` (replacing an earlier report of that step).
    fn report(&self, trial: TrialId, step: usize, value: f64) -> Result<()>;

    /// Ends a running trial as `end` says (complete, pruned, failed, paused or interrupted).
    fn finish(&self, trial: TrialId, end: &TrialEnd) -> Result<()>;

    /// Deletes a claimed running trial that will not run (an exhausted grid).
    fn release(&self, trial: TrialId) -> Result<()>;

    /// The study's running trials whose owner's lease has expired, or whose owner was a process
    /// of this host that has exited.
    fn stale(&self, study: StudyId) -> Result<Vec<TrialRecord>>;

    /// Ends a stale trial still held by `owner` (as [`Storage::stale`] saw it) as `end` says (a
    /// failure); `false` when it changed meanwhile (finished, or claimed again).
    fn fail_stale(&self, trial: TrialId, owner: &str, end: &TrialEnd) -> Result<bool>;

    /// Puts a stale continuation still held by `owner` back to its pause after `step` with
    /// `value`, dropping its later reports; `false` when it changed meanwhile.
    fn revert_to_paused(
        &self,
        trial: TrialId,
        owner: &str,
        step: usize,
        value: f64,
    ) -> Result<bool>;

    /// Records that trial `retry` runs failed trial `failed`'s parameters again
    /// ([`TrialRecord::retried_as`]); `false` when it was marked already (another process
    /// retries it). Atomic: a failed trial is retried once.
    fn mark_retried(&self, failed: TrialId, retry: usize) -> Result<bool>;

    /// The study's trials, in number order.
    fn trials(&self, study: StudyId) -> Result<Vec<TrialRecord>>;

    /// The study's trials but the finished ones numbered in `known` (sorted), in number order.
    /// A finished trial never changes, so a caller that keeps them reads only what is new or
    /// still moving: the reads per trial stay flat however many trials and steps came before.
    fn trials_except(&self, study: StudyId, known: &[usize]) -> Result<Vec<TrialRecord>> {
        let mut trials = self.trials(study)?;
        trials.retain(|t| !(t.state.is_finished() && known.binary_search(&t.number).is_ok()));
        Ok(trials)
    }

    /// One trial.
    fn trial(&self, trial: TrialId) -> Result<Option<TrialRecord>>;

    /// The values every trial of the study reported at `step`.
    fn values_at(&self, study: StudyId, step: usize) -> Result<Vec<StepValue>>;
}

/// `Ok` when a change to running trial `trial` applied (this handle holds it), else the
/// [`crate::TuneError::LeaseLost`] a change to a trial this handle does not hold is.
pub(crate) fn held_or_lost(held: bool, trial: TrialId) -> Result<()> {
    match held {
        true => Ok(()),
        false => Err(crate::TuneError::LeaseLost {
            number: trial.number,
        }),
    }
}

/// One storage shared by several studies (or threads).
impl<S: Storage + ?Sized> Storage for std::sync::Arc<S> {
    fn location(&self) -> String {
        (**self).location()
    }
    fn owner(&self) -> &str {
        (**self).owner()
    }
    fn lease(&self) -> std::time::Duration {
        (**self).lease()
    }
    fn heartbeat(&self) -> Result<usize> {
        (**self).heartbeat()
    }
    fn stale(&self, study: StudyId) -> Result<Vec<TrialRecord>> {
        (**self).stale(study)
    }
    fn fail_stale(&self, trial: TrialId, owner: &str, end: &TrialEnd) -> Result<bool> {
        (**self).fail_stale(trial, owner, end)
    }
    fn create_study(&self, new: &NewStudy) -> Result<StudyRecord> {
        (**self).create_study(new)
    }
    fn study(&self, name: &str) -> Result<Option<StudyRecord>> {
        (**self).study(name)
    }
    fn studies(&self) -> Result<Vec<StudyRecord>> {
        (**self).studies()
    }
    fn delete_study(&self, study: StudyId) -> Result<()> {
        (**self).delete_study(study)
    }
    fn claim_new(
        &self,
        study: StudyId,
        budget: Option<usize>,
        leased: bool,
    ) -> Result<Option<TrialId>> {
        (**self).claim_new(study, budget, leased)
    }
    fn claim_paused(&self, trial: TrialId) -> Result<bool> {
        (**self).claim_paused(trial)
    }
    fn set_params(&self, trial: TrialId, params: &[ChosenParam]) -> Result<()> {
        (**self).set_params(trial, params)
    }
    fn set_run_dir(&self, trial: TrialId, run_dir: Option<&str>) -> Result<()> {
        (**self).set_run_dir(trial, run_dir)
    }
    fn report(&self, trial: TrialId, step: usize, value: f64) -> Result<()> {
        (**self).report(trial, step, value)
    }
    fn finish(&self, trial: TrialId, end: &TrialEnd) -> Result<()> {
        (**self).finish(trial, end)
    }
    fn revert_to_paused(
        &self,
        trial: TrialId,
        owner: &str,
        step: usize,
        value: f64,
    ) -> Result<bool> {
        (**self).revert_to_paused(trial, owner, step, value)
    }
    fn release(&self, trial: TrialId) -> Result<()> {
        (**self).release(trial)
    }
    fn trials(&self, study: StudyId) -> Result<Vec<TrialRecord>> {
        (**self).trials(study)
    }
    fn trials_except(&self, study: StudyId, known: &[usize]) -> Result<Vec<TrialRecord>> {
        (**self).trials_except(study, known)
    }
    fn mark_retried(&self, failed: TrialId, retry: usize) -> Result<bool> {
        (**self).mark_retried(failed, retry)
    }
    fn trial(&self, trial: TrialId) -> Result<Option<TrialRecord>> {
        (**self).trial(trial)
    }
    fn values_at(&self, study: StudyId, step: usize) -> Result<Vec<StepValue>> {
        (**self).values_at(study, step)
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The refusal to reopen a study under another definition.
pub(crate) fn check_same_study(
    existing: &StudyRecord,
    new: &NewStudy,
    location: &str,
) -> Result<()> {
    let definition_differs = !new.definition.is_empty() && existing.definition != new.definition;
    if existing.direction != new.direction
        || definition_differs
        || (!new.definition.is_empty()
            && (existing.objective != new.objective
                || existing.sampler != new.sampler
                || existing.seed != new.seed))
    {
        return Err(crate::TuneError::config(
            "study",
            format!(
                "a study named '{}' already exists in {location} with a different definition; give this one another name (or delete the old study)",
                new.name
            ),
        ));
    }
    Ok(())
}
