//! Where studies live. A [`Storage`] is written as trial state changes (claim a trial, record a
//! parameter, report a value, pause, finish), each one atomic and conditional on the trial's
//! state and owner, so any number of processes can share a study and a kill at any point loses
//! at most the running trial's unfinished step. Reads are shaped for a networked database: the
//! values at one step for a pruner, the trials once per trial for a sampler. A
//! [`LeasedStorage`] is one owner's handle on a storage: the lease, stale-trial, retry and
//! pause rules, written once for every backend.
//!
//! [`SqliteStorage`] keeps studies in a file; `PostgresStorage` (the `postgres` feature) in a
//! PostgreSQL database that workers on many hosts share; [`MemoryStorage`] keeps them in this
//! process. [`open_storage`] opens either of the first two from a path or URL.

use serde::{Deserialize, Serialize};

use crate::direction::Direction;
use crate::error::Result;

mod change;
mod clock;
mod encoding;
mod leased;
mod legacy;
mod memory;
mod owner;
mod paths;
#[cfg(feature = "postgres")]
mod postgres;
mod record;
mod sqlite;
mod url;

pub(crate) use change::Standing;
pub use change::{Change, Condition, Lease, LeaseState};
pub use clock::{Clock, ManualClock, SystemClock};
pub use leased::LeasedStorage;
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
    /// Whether values are minimised or maximised (the first objective's, with several).
    pub direction: Direction,
    /// Every objective's direction when there are several, in order; empty for one objective
    /// ([`NewStudy::direction`]).
    pub directions: Vec<Direction>,
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
    /// Every objective's direction, in order (the one [`NewStudy::direction`] when
    /// [`NewStudy::directions`] is empty).
    pub fn all_directions(&self) -> Vec<Direction> {
        match self.directions.is_empty() {
            true => vec![self.direction],
            false => self.directions.clone(),
        }
    }

    /// A study named `name` in `direction`, seed 0, with nothing said of its objective or
    /// sampler and no definition to check on reopening (set the fields for more).
    pub fn new(name: impl Into<String>, direction: Direction) -> Self {
        Self {
            name: name.into(),
            direction,
            directions: Vec::new(),
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
    /// Whether values are minimised or maximised (the first objective's, with several).
    pub direction: Direction,
    /// Every objective's direction, in order: one for a single-objective study.
    #[serde(default)]
    pub directions: Vec<Direction>,
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

/// A store of studies and their trials: the atomic primitives a backend provides. Every method
/// is one atomic change or read; changes to a trial go through [`Storage::update`], made only
/// if the trial is as a [`Condition`] says. The rules built on them (leases and heartbeats,
/// stale-trial recovery, retries, pausing) are written once, in [`LeasedStorage`], which is
/// what a study holds.
pub trait Storage: Send + Sync {
    /// Where the studies are, for messages (a file path, "memory").
    fn location(&self) -> String;

    /// Whether other processes may open the same studies (a file, a database), so that the
    /// trials a handle runs need a lease renewed by a heartbeat. Default: yes.
    fn shared(&self) -> bool {
        true
    }

    /// Adds the study unless one of its name exists (then changes nothing).
    fn add_study(&self, new: &NewStudy) -> Result<()>;

    /// The study of that name.
    fn study(&self, name: &str) -> Result<Option<StudyRecord>>;

    /// Every study, oldest first.
    fn studies(&self) -> Result<Vec<StudyRecord>>;

    /// Deletes a study and all its trials.
    fn delete_study(&self, study: StudyId) -> Result<()>;

    /// Claims the next trial number for a new running trial, unless the study already holds
    /// `budget` trials (interrupted ones not counted); held under `lease` when given, else by
    /// nobody. Atomic across processes: parallel workers never exceed the budget or share a
    /// number.
    fn claim_new(
        &self,
        study: StudyId,
        budget: Option<usize>,
        lease: Option<Lease<'_>>,
    ) -> Result<Option<TrialId>>;

    /// Applies `change` to the trial if it is as `when` says, atomically; whether it was.
    fn update(&self, trial: TrialId, when: Condition<'_>, change: Change<'_>) -> Result<bool>;

    /// Renews the lease of every running trial `lease.owner` holds; how many.
    fn renew(&self, lease: Lease<'_>) -> Result<usize>;

    /// The study's running trials that have an owner, each with whether its lease has run out.
    fn leases(&self, study: StudyId) -> Result<Vec<LeaseState>>;

    /// The study's trials but the finished ones numbered in `known` (sorted), in number order.
    /// A finished trial's values never change, so a caller that keeps them reads only what is
    /// new or still moving: the reads per trial stay flat however many trials and steps came
    /// before.
    fn trials_except(&self, study: StudyId, known: &[usize]) -> Result<Vec<TrialRecord>>;

    /// One trial.
    fn trial(&self, trial: TrialId) -> Result<Option<TrialRecord>>;

    /// The values every trial of the study reported at `step`.
    fn values_at(&self, study: StudyId, step: usize) -> Result<Vec<StepValue>>;

    /// Creates the study, or returns the existing one of that name, which must have the same
    /// direction and definition.
    fn create_study(&self, new: &NewStudy) -> Result<StudyRecord> {
        if let Some(existing) = self.study(&new.name)? {
            check_same_study(&existing, new, &self.location())?;
            return Ok(existing);
        }
        self.add_study(new)?;
        // Another process may have created it in between: check it the same way.
        let created = self.study(&new.name)?.ok_or_else(|| {
            crate::TuneError::config("study", "the study vanished as it was created")
        })?;
        check_same_study(&created, new, &self.location())?;
        Ok(created)
    }

    /// The study's trials, in number order.
    fn trials(&self, study: StudyId) -> Result<Vec<TrialRecord>> {
        self.trials_except(study, &[])
    }
}

/// One storage shared by several studies (or threads).
impl<S: Storage + ?Sized> Storage for std::sync::Arc<S> {
    fn location(&self) -> String {
        (**self).location()
    }
    fn shared(&self) -> bool {
        (**self).shared()
    }
    fn add_study(&self, new: &NewStudy) -> Result<()> {
        (**self).add_study(new)
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
        lease: Option<Lease<'_>>,
    ) -> Result<Option<TrialId>> {
        (**self).claim_new(study, budget, lease)
    }
    fn update(&self, trial: TrialId, when: Condition<'_>, change: Change<'_>) -> Result<bool> {
        (**self).update(trial, when, change)
    }
    fn renew(&self, lease: Lease<'_>) -> Result<usize> {
        (**self).renew(lease)
    }
    fn leases(&self, study: StudyId) -> Result<Vec<LeaseState>> {
        (**self).leases(study)
    }
    fn trials_except(&self, study: StudyId, known: &[usize]) -> Result<Vec<TrialRecord>> {
        (**self).trials_except(study, known)
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
fn check_same_study(existing: &StudyRecord, new: &NewStudy, location: &str) -> Result<()> {
    let definition_differs = !new.definition.is_empty() && existing.definition != new.definition;
    if existing.directions != new.all_directions()
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
