//! A study: one objective, one direction, a sampler, a pruner and a storage, and the trials
//! evaluated so far. Drive it with [`Study::optimize`] (a closure per trial), or from outside
//! with [`Study::ask`] and [`Study::tell`].

use std::sync::Arc;

use anneal_rng::{SeededRng, derive_rng};

use crate::direction::Direction;
use crate::error::{Result, TuneError};
use crate::objective::Objective;
use crate::pruner::{NopPruner, Pruner, PrunerContext};
use crate::sampler::{Sampler, TpeSampler};
use crate::space::SearchSpace;
use crate::storage::{
    Cause, LeasedStorage, MemoryStorage, NewStudy, StudyId, StudyRecord, TrialEnd, TrialId,
    TrialRecord, TrialState, owner_is_gone,
};
use crate::trial::Trial;
use heartbeat::Heartbeat;

mod heartbeat;
mod history;
mod name;
mod optimize;
mod retry;
mod start;

pub use history::best_trial;
pub use name::{MAX_STUDY_NAME, check_study_name};
pub use optimize::{OptimizeOutcome, PausedTrials};

/// How a trial ended, as told to [`Study::tell`].
#[derive(Debug, Clone, PartialEq)]
pub enum TrialResult {
    /// It finished with this value.
    Value(f64),
    /// It finished with these values, one per objective of a study with several.
    Values(Vec<f64>),
    /// It was stopped early (its best reported value is kept).
    Pruned,
    /// It failed, for this reason.
    Failed(String),
}

/// A study, open on its storage. While it is open on a storage other processes may share, a
/// background thread renews the leases of the trials it runs, so they never take them over.
pub struct Study {
    storage: Arc<LeasedStorage>,
    record: StudyRecord,
    sampler: Box<dyn Sampler>,
    pruner: Box<dyn Pruner>,
    max_failures: usize,
    retry_failed: usize,
    space: Option<SearchSpace>,
    /// Finished trials read so far, in number order: they never change, so each look at the
    /// study reads only new and unfinished trials (as Optuna's cached storage does).
    finished: std::sync::Mutex<Vec<TrialRecord>>,
    _heartbeat: Option<Heartbeat>,
}

impl std::fmt::Debug for Study {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Study")
            .field("name", &self.record.name)
            .field("storage", &self.storage.location())
            .field("direction", &self.record.direction)
            .field("sampler", &self.sampler.name())
            .field("pruner", &self.pruner.name())
            .finish()
    }
}

/// Builds a [`Study`]: `Study::builder().name("mlp").storage(...).build()?`.
pub struct StudyBuilder {
    name: String,
    storage: Option<LeasedStorage>,
    space: Option<SearchSpace>,
    direction: Direction,
    directions: Vec<Direction>,
    sampler: Option<Box<dyn Sampler>>,
    pruner: Option<Box<dyn Pruner>>,
    seed: u64,
    objective: String,
    sampler_settings: Option<String>,
    definition: String,
    max_failures: usize,
    retry_failed: usize,
}

impl StudyBuilder {
    /// The study's name (unique in its storage; building with an existing name reopens it).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Where trials are kept (default: in memory): any [`crate::Storage`], boxed or not, or a
    /// [`LeasedStorage`] handle with its own lease.
    pub fn storage(mut self, storage: impl Into<LeasedStorage>) -> Self {
        self.storage = Some(storage.into());
        self
    }

    /// The declared search space, when the objective walks one ([`Trial::suggest_space`]):
    /// samplers then model it jointly as declared (conditional and per-layer parameters
    /// included) rather than only the parameters every finished trial had.
    pub fn search_space(mut self, space: SearchSpace) -> Self {
        self.space = Some(space);
        self
    }

    /// Minimise (the default) or maximise the objective.
    pub fn direction(mut self, direction: Direction) -> Self {
        self.direction = direction;
        self.directions.clear();
        self
    }

    /// Several objectives, each minimised or maximised: the objective then gives one value
    /// per direction, in this order, and the study's result is its Pareto front
    /// ([`Study::best_trials`]). A sampler that models one objective is refused, as is any
    /// pruner (as Optuna).
    pub fn directions(mut self, directions: &[Direction]) -> Self {
        if let Some(&first) = directions.first() {
            self.direction = first;
        }
        self.directions = directions.to_vec();
        self
    }

    /// The sampler (default: TPE with Optuna's settings), boxed (from
    /// [`crate::SamplerConfig::init`]) or not.
    pub fn sampler(mut self, sampler: impl Into<Box<dyn Sampler>>) -> Self {
        self.sampler = Some(sampler.into());
        self
    }

    /// The pruner (default: none), boxed (from [`crate::PrunerConfig::init`]) or not.
    pub fn pruner(mut self, pruner: impl Into<Box<dyn Pruner>>) -> Self {
        self.pruner = Some(pruner.into());
        self
    }

    /// The study seed: the same seed gives the same trials (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// What is optimised, in words (shown by study listings).
    pub fn objective(mut self, description: impl Into<String>) -> Self {
        self.objective = description.into();
        self
    }

    /// The sampler's settings as stored with the study (default: the sampler's name).
    pub fn sampler_settings(mut self, settings: impl Into<String>) -> Self {
        self.sampler_settings = Some(settings.into());
        self
    }

    /// The study's full definition (a sweep file's settings): reopening the study with another
    /// definition is refused. Empty (the default): only the direction is checked.
    pub fn definition(mut self, definition: impl Into<String>) -> Self {
        self.definition = definition.into();
        self
    }

    /// Stop, rather than burn the budget, when the study's first this-many trials all fail
    /// (default 5; 0 never stops).
    pub fn max_failures(mut self, max_failures: usize) -> Self {
        self.max_failures = max_failures;
        self
    }

    /// Retry a trial whose process died (failed as stale or interrupted, or killed by a
    /// signal) as a new trial with the same parameters, up to `retries` times along one chain
    /// (default 0: never). The new trial counts toward the budget.
    pub fn retry_failed(mut self, retries: usize) -> Self {
        self.retry_failed = retries;
        self
    }

    /// Creates the study in its storage, or reopens the one of that name.
    pub fn build(self) -> Result<Study> {
        check_study_name(&self.name)?;
        // Before the study is created: a bad pruner leaves nothing behind.
        if let Some(pruner) = &self.pruner {
            pruner.validate()?;
        }
        let storage = Arc::new(self.storage.unwrap_or_else(|| MemoryStorage::new().into()));
        let sampler = self
            .sampler
            .unwrap_or_else(|| Box::new(TpeSampler::default()));
        if self.directions.len() > 1 {
            check_several_objectives(sampler.as_ref(), self.pruner.as_deref())?;
        }
        let record = storage.create_study(&NewStudy {
            name: self.name,
            direction: self.direction,
            directions: match self.directions.len() {
                0 | 1 => Vec::new(),
                _ => self.directions,
            },
            objective: self.objective,
            sampler: self
                .sampler_settings
                .unwrap_or_else(|| sampler.name().to_string()),
            definition: self.definition,
            seed: self.seed,
        })?;
        Ok(Study {
            // Nothing can take over the trials of a storage no other process shares.
            _heartbeat: storage.shared().then(|| Heartbeat::start(storage.clone())),
            storage,
            record,
            sampler,
            pruner: self.pruner.unwrap_or_else(|| Box::new(NopPruner)),
            max_failures: self.max_failures,
            retry_failed: self.retry_failed,
            space: self.space,
            finished: Default::default(),
        })
    }
}

impl Study {
    /// A builder with the defaults: in-memory storage, minimise, TPE, no pruner, seed 0.
    pub fn builder() -> StudyBuilder {
        StudyBuilder {
            name: String::new(),
            storage: None,
            space: None,
            direction: Direction::Minimize,
            directions: Vec::new(),
            sampler: None,
            pruner: None,
            seed: 0,
            objective: String::new(),
            sampler_settings: None,
            definition: String::new(),
            max_failures: 5,
            retry_failed: 0,
        }
    }

    /// The study's name.
    pub fn name(&self) -> &str {
        &self.record.name
    }

    /// The study's id in its storage.
    pub fn id(&self) -> StudyId {
        self.record.id
    }

    /// The study as stored.
    pub fn record(&self) -> &StudyRecord {
        &self.record
    }

    /// Whether values are minimised or maximised (the first objective's, with several).
    pub fn direction(&self) -> Direction {
        self.record.direction
    }

    /// Every objective's direction, in order: one for a single-objective study.
    pub fn directions(&self) -> &[Direction] {
        &self.record.directions
    }

    /// The study seed.
    pub fn seed(&self) -> u64 {
        self.record.seed
    }

    /// The storage the study lives in.
    pub fn storage(&self) -> &LeasedStorage {
        &self.storage
    }

    /// The declared search space, if the study was built with one.
    pub fn search_space(&self) -> Option<&SearchSpace> {
        self.space.as_ref()
    }

    /// The sampler.
    pub fn sampler(&self) -> &dyn Sampler {
        self.sampler.as_ref()
    }

    /// The pruner.
    pub fn pruner(&self) -> &dyn Pruner {
        self.pruner.as_ref()
    }

    /// Every trial, in number order.
    pub fn trials(&self) -> Result<Vec<TrialRecord>> {
        let mut finished = self
            .finished
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let known: Vec<usize> = finished.iter().map(|t| t.number).collect();
        // The storage leaves the known trials out, so every settled trial read is new.
        let (settled, moving): (Vec<TrialRecord>, Vec<TrialRecord>) = self
            .storage
            .trials_except(self.id(), &known)?
            .into_iter()
            // A failed trial may still be marked retried (its message changes): kept only after.
            .partition(|t| t.state.is_finished() && !self.awaits_retry(t));
        if !settled.is_empty() {
            finished.extend(settled);
            finished.sort_by_key(|t| t.number);
        }
        let mut all: Vec<TrialRecord> = finished.clone();
        all.extend(moving);
        all.sort_by_key(|t| t.number);
        Ok(all)
    }

    /// The best complete trial so far that meets its constraints (for a study with several
    /// objectives, where no one trial is best, see [`Study::best_trials`]).
    pub fn best_trial(&self) -> Result<Option<TrialRecord>> {
        Ok(self.best_of(&self.trials()?).cloned())
    }

    /// The best of `trials` (this study's, as read): the complete trial that meets its
    /// constraints with the best value; `None` with several objectives (see
    /// [`Study::best_trials`]).
    pub fn best_of<'t>(&self, trials: &'t [TrialRecord]) -> Option<&'t TrialRecord> {
        match self.directions().len() {
            1 => best_trial(trials, self.direction()),
            _ => None,
        }
    }

    /// The trials no other beats on every objective (the Pareto front), among the complete
    /// ones that meet their constraints, in number order. With one objective: the best trial.
    pub fn best_trials(&self) -> Result<Vec<TrialRecord>> {
        let trials = self.trials()?;
        Ok(crate::pareto::pareto_front(&trials, self.directions())
            .into_iter()
            .cloned()
            .collect())
    }

    /// Trial `number`'s own seed, from the study seed.
    pub fn trial_seed(&self, number: usize) -> u64 {
        use rand::RngExt;
        derive_rng(self.record.seed, "trial seed", number as u64).random::<u64>() >> 1
    }

    pub(crate) fn sampler_rng(&self, number: usize) -> SeededRng {
        derive_rng(self.record.seed, "sampler", number as u64)
    }

    pub(crate) fn pruner_context(&self) -> PrunerContext<'_> {
        PrunerContext {
            storage: &**self.storage,
            study: self.id(),
            direction: self.direction(),
            seed: self.seed(),
        }
    }

    /// Starts a new trial (no budget: every call claims one). Suggest its parameters, then
    /// [`Study::tell`] how it ended, from this process or any other: the trial is held by no
    /// lease, so it stays running until told.
    pub fn ask(&self) -> Result<Trial<'_>> {
        let trials = self.trials()?;
        let id = self
            .storage
            .claim_unleased(self.id())?
            .ok_or_else(|| TuneError::config("study", "no trial could be claimed"))?;
        self.start(id, &trials)?.ok_or_else(|| {
            TuneError::config(
                "sampler",
                "the sampler has no point left (every grid point has been tried)",
            )
        })
    }

    /// Ends a trial from [`Study::ask`] (or one handed to an objective) with its result.
    pub fn tell(&self, trial: Trial<'_>, result: TrialResult) -> Result<TrialRecord> {
        let outcome = match result {
            TrialResult::Value(value) => Outcome::Complete(vec![value]),
            TrialResult::Values(values) => Outcome::Complete(values),
            TrialResult::Pruned => Outcome::Pruned {
                value: trial.best_reported(),
                step: trial.reported().last().map(|(s, _)| *s),
            },
            TrialResult::Failed(message) => Outcome::Failed {
                cause: Cause::ObjectiveError,
                message,
            },
        };
        self.record_outcome(trial.id, outcome)
    }

    /// Ends trial `number` (asked by another process, say) with its result.
    pub fn tell_number(&self, number: usize, result: TrialResult) -> Result<TrialRecord> {
        let id = TrialId {
            study: self.id(),
            number,
        };
        let record = self.storage.trial(id)?.ok_or_else(|| {
            TuneError::config(
                "trial",
                format!("study '{}' has no trial {number}", self.name()),
            )
        })?;
        if record.state != TrialState::Running {
            return Err(TuneError::config(
                "trial",
                format!(
                    "trial {number} of study '{}' is {}, not running: it was told already",
                    self.name(),
                    record.state.as_str()
                ),
            ));
        }
        self.tell(Trial::reopen(self, &record, false), result)
    }

    /// Ends the trials whose process is gone (their lease expired, or their process on this
    /// host exited): a continuation the objective can take back to its pause
    /// ([`Objective::paused_at`]) goes back to it, the others fail as interrupted. Returns how
    /// many failed. Trials other processes hold are left alone.
    pub fn recover_stale(&self, objective: &dyn Objective) -> Result<usize> {
        let mut failed = 0;
        for trial in self.storage.stale(self.id())? {
            let Some(owner) = trial.owner.as_deref() else {
                continue;
            };
            let id = TrialId {
                study: self.id(),
                number: trial.number,
            };
            let direction = self.direction();
            let paused = objective.paused_at(&trial).and_then(|step| {
                let value = trial
                    .intermediate
                    .iter()
                    .filter(|(s, _)| *s <= step)
                    .map(|(_, v)| *v)
                    .reduce(|a, b| direction.best(a, b))?;
                Some((step, value))
            });
            match paused {
                Some((step, value)) => {
                    self.storage.revert_to_paused(id, owner, step, value)?;
                }
                None => {
                    let cause = match owner_is_gone(owner) {
                        true => Cause::ProcessExited,
                        false => Cause::LeaseLapsed,
                    };
                    if self
                        .storage
                        .fail_stale(id, owner, &TrialEnd::failed(cause, None))?
                    {
                        failed += 1;
                    }
                }
            }
        }
        Ok(failed)
    }

    /// Records how a trial ended; a non-finite value is a failure (divergence).
    pub(crate) fn record_outcome(&self, id: TrialId, outcome: Outcome) -> Result<TrialRecord> {
        let objectives = self.directions().len();
        let end = match outcome {
            Outcome::Complete(values) if values.len() != objectives => TrialEnd::failed(
                Cause::ObjectiveError,
                Some(&format!(
                    "the objective gave {} value(s); the study has {objectives} objective(s) ({})",
                    values.len(),
                    self.directions()
                        .iter()
                        .map(|d| d.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            ),
            Outcome::Complete(values) if values.iter().any(|v| !v.is_finite()) => TrialEnd::failed(
                Cause::Diverged,
                Some(&format!(
                    "{}: the objective value is {}",
                    Cause::Diverged,
                    values
                        .iter()
                        .map(f64::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            ),
            Outcome::Complete(values) => TrialEnd::complete_all(&values),
            Outcome::Pruned { value, step } => TrialEnd::pruned(value, step),
            Outcome::Paused { value, step } => TrialEnd::paused(value, step),
            Outcome::Interrupted { value } => TrialEnd::interrupted(value),
            Outcome::Failed { cause, message } => TrialEnd::failed(cause, Some(&message)),
        };
        self.storage.finish(id, &end)?;
        self.storage.trial(id)?.ok_or_else(|| {
            TuneError::config(
                "trial",
                format!("trial {} vanished from the study", id.number),
            )
        })
    }
}

/// Refuses what cannot serve a study with several objectives: a sampler that models one loss,
/// and any pruner (whose rungs compare one value).
fn check_several_objectives(sampler: &dyn Sampler, pruner: Option<&dyn Pruner>) -> Result<()> {
    if !sampler.serves_several_objectives() {
        return Err(TuneError::config(
            "sampler",
            format!(
                "{} models one objective; a study with several objectives takes nsga2, tpe, random or grid",
                sampler.name()
            ),
        ));
    }
    if let Some(pruner) = pruner.filter(|p| p.name() != "none") {
        return Err(TuneError::config(
            "pruner",
            format!(
                "{} compares one value per step; a study with several objectives cannot be pruned (leave the pruner out)",
                pruner.name()
            ),
        ));
    }
    Ok(())
}

/// How an evaluation ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// Finished with one value per objective.
    Complete(Vec<f64>),
    /// Stopped for good after `step`; `value` is its best so far.
    Pruned {
        value: Option<f64>,
        step: Option<usize>,
    },
    /// Paused at a rung after `step`, its state kept.
    Paused { value: f64, step: usize },
    /// Failed for `cause`; `message` is the error's text.
    Failed { cause: Cause, message: String },
    /// Stopped by the user; `value` is its best reported so far.
    Interrupted { value: Option<f64> },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::SqliteStorage;

    #[test]
    fn only_a_study_on_a_storage_other_processes_share_renews_leases() {
        let memory = Study::builder().name("m").build().unwrap();
        assert!(memory._heartbeat.is_none(), "nothing can take its trials");
        let dir = tempfile::tempdir().unwrap();
        let file = Study::builder()
            .name("f")
            .storage(SqliteStorage::open(dir.path().join("s.db")).unwrap())
            .build()
            .unwrap();
        assert!(file._heartbeat.is_some());
    }
}
