//! Pruners stop unpromising trials early from the values they report at each step (an epoch,
//! say): the median rule (Optuna's `MedianPruner`), asynchronous successive halving (ASHA) and
//! Hyperband. ASHA and Hyperband pause a trial at a rung where it is not promotable yet when its
//! objective can continue later ([`crate::Objective::can_pause`]); the pruner then says which
//! paused trial to continue ([`Pruner::next_promotion`]) and how to settle the paused ones when
//! the budget is spent ([`Pruner::settle`]).
//!
//! [`PrunerConfig`] is the serde form a sweep file writes; [`PrunerConfig::init`] builds it.

use serde::{Deserialize, Serialize};

use crate::direction::Direction;
use crate::error::Result;
use crate::storage::{StepValue, Storage, StudyId, TrialRecord, TrialState};

mod halving;
mod hyperband;
mod median;

pub use halving::AshaPruner;
pub use hyperband::{HyperbandPruner, hyperband_bracket, hyperband_brackets};
pub use median::MedianPruner;

/// What a pruner says about a trial after it reported a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go on.
    Continue,
    /// Stop for good.
    Prune,
    /// Stop for now, keeping the trial's state: not promotable from this rung yet.
    Pause,
}

/// The trial a decision is about.
#[derive(Debug, Clone, Copy)]
pub struct PruneQuery {
    /// The trial's number.
    pub number: usize,
    /// The step it just reported.
    pub step: usize,
    /// The value it reported there.
    pub value: f64,
    /// Its best value over the steps reported so far.
    pub best: f64,
    /// Whether it can pause and continue later; a pruner that would pause a trial that cannot
    /// must decide between going on and stopping.
    pub can_pause: bool,
}

/// The study a pruner decides in: the values other trials reported, read one step at a time.
#[derive(Clone, Copy)]
pub struct PrunerContext<'a> {
    /// The study's storage.
    pub storage: &'a dyn Storage,
    /// The study.
    pub study: StudyId,
    /// Whether values are minimised or maximised.
    pub direction: Direction,
    /// The study seed (Hyperband assigns brackets from it).
    pub seed: u64,
}

impl PrunerContext<'_> {
    /// Every trial's value at `step` but trial `number`'s own.
    pub fn others_at(&self, step: usize, number: usize) -> Result<Vec<StepValue>> {
        let mut values = self.storage.values_at(self.study, step)?;
        values.retain(|v| v.number != number);
        Ok(values)
    }
}

/// What to do with the paused trials once no new trial will start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    /// Continue this paused trial (then settle again).
    Continue(usize),
    /// Prune these paused trials where they stopped.
    Prune(Vec<usize>),
}

/// Any pruner, boxed, as the study builder takes it.
impl<S: Pruner + 'static> From<S> for Box<dyn Pruner> {
    fn from(value: S) -> Self {
        Box::new(value)
    }
}

/// Decides whether trials go on.
pub trait Pruner: Send + Sync {
    /// A short name for messages.
    fn name(&self) -> &str;

    /// The decision after `query.number` reported `query.value` at `query.step`.
    fn decide(&self, query: &PruneQuery, context: &PrunerContext) -> Result<Decision>;

    /// The paused trial to continue now, if one has become promotable.
    fn next_promotion(&self, _trials: &[TrialRecord], _context: &PrunerContext) -> Option<usize> {
        None
    }

    /// What to do with the paused trials when the budget is spent. By default they are
    /// pruned where they stopped.
    fn settle(&self, trials: &[TrialRecord], _context: &PrunerContext) -> Settlement {
        Settlement::Prune(paused(trials).map(|t| t.number).collect())
    }

    /// Whether trials stop at rungs by design (ASHA, Hyperband): a stopped trial's value is
    /// then one at a smaller budget, not a loser's, and TPE models one rung (BOHB).
    fn has_rungs(&self) -> bool {
        false
    }

    /// Refuses settings the pruner cannot work with, naming the sweep file's field.
    /// [`PrunerConfig::init`] and [`crate::StudyBuilder::build`] call it, so a pruner built
    /// by hand is checked before its study exists too.
    fn validate(&self) -> Result<()> {
        Ok(())
    }
}

/// Every trial runs all its steps.
#[derive(Debug, Clone, Copy, Default)]
pub struct NopPruner;

impl Pruner for NopPruner {
    fn name(&self) -> &str {
        "none"
    }

    fn decide(&self, _: &PruneQuery, _: &PrunerContext) -> Result<Decision> {
        Ok(Decision::Continue)
    }
}

/// A pruner as a sweep file writes it (`pruner = { kind = "median" }`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PrunerConfig {
    /// Every trial runs all its steps.
    #[default]
    None,
    /// Prune a trial whose best value so far is worse than the median of the completed trials'
    /// values at the same step, once `warmup_epochs` steps have passed and `min_trials` trials
    /// have completed that step (Optuna's `MedianPruner`).
    Median {
        /// Steps before any pruning.
        #[serde(default = "warmup")]
        warmup_epochs: usize,
        /// Completed trials needed at a step before it prunes there.
        #[serde(default = "min_trials")]
        min_trials: usize,
    },
    /// Asynchronous successive halving: rungs at `min_resource · η^k` steps; a trial reaching a
    /// rung continues only if it is in the best ⌊n/η⌋ of the n trials that reached it so far.
    Asha {
        /// Steps of the first rung.
        #[serde(default = "min_resource")]
        min_resource: usize,
        /// η: each rung keeps about 1/η of the trials.
        #[serde(default = "eta")]
        reduction_factor: usize,
    },
    /// Hyperband: ⌊log_η(max/min)⌋ + 1 brackets, each an ASHA whose first rung sits η^s times
    /// later; a trial's bracket follows from the study seed and its number.
    Hyperband {
        /// Steps of the most aggressive bracket's first rung.
        #[serde(default = "min_resource")]
        min_resource: usize,
        /// The most steps a trial can get (for run configs, `train.epochs`).
        max_resource: usize,
        /// η: each rung keeps about 1/η of the trials.
        #[serde(default = "eta")]
        reduction_factor: usize,
    },
}

fn min_resource() -> usize {
    1
}
fn eta() -> usize {
    3
}
fn warmup() -> usize {
    1
}
fn min_trials() -> usize {
    5
}

impl PrunerConfig {
    /// The pruner's kind, as a sweep file names it.
    pub fn name(&self) -> &'static str {
        match self {
            PrunerConfig::None => "none",
            PrunerConfig::Median { .. } => "median",
            PrunerConfig::Asha { .. } => "asha",
            PrunerConfig::Hyperband { .. } => "hyperband",
        }
    }

    /// Builds the pruner, refusing settings it cannot work with.
    pub fn init(&self) -> Result<Box<dyn Pruner>> {
        let pruner: Box<dyn Pruner> = match *self {
            PrunerConfig::None => Box::new(NopPruner),
            PrunerConfig::Median {
                warmup_epochs,
                min_trials,
            } => Box::new(MedianPruner {
                warmup_steps: warmup_epochs,
                min_trials,
            }),
            PrunerConfig::Asha {
                min_resource,
                reduction_factor,
            } => Box::new(AshaPruner {
                min_resource,
                reduction_factor,
            }),
            PrunerConfig::Hyperband {
                min_resource,
                max_resource,
                reduction_factor,
            } => Box::new(HyperbandPruner::new(
                min_resource,
                max_resource,
                reduction_factor,
            )?),
        };
        pruner.validate()?;
        Ok(pruner)
    }
}

/// The study's paused trials.
pub(crate) fn paused(trials: &[TrialRecord]) -> impl Iterator<Item = &TrialRecord> {
    trials.iter().filter(|t| t.state == TrialState::Paused)
}

/// Of paused trials, the one at the highest rung, the best value breaking ties.
pub(crate) fn furthest_first<'t>(
    direction: Direction,
    paused: impl Iterator<Item = &'t TrialRecord>,
) -> Option<&'t TrialRecord> {
    paused
        .filter_map(|t| t.last_step().map(|(s, v)| (s, direction.loss(v), t)))
        .max_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)))
        .map(|(_, _, t)| t)
}
