//! What a study optimises, and how it reports progress.

use crate::storage::TrialRecord;
use crate::trial::Trial;

/// Any error an objective returns (a failed trial keeps its message).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What an objective gives for a trial: one value, or one per objective of a study with
/// several (`0.93.into()`, `vec![0.93, 120_000.0].into()`, `[0.93, 0.4].into()`).
#[derive(Debug, Clone, PartialEq)]
pub struct Values(pub Vec<f64>);

impl From<f64> for Values {
    fn from(value: f64) -> Self {
        Self(vec![value])
    }
}

impl From<Vec<f64>> for Values {
    fn from(values: Vec<f64>) -> Self {
        Self(values)
    }
}

impl From<&[f64]> for Values {
    fn from(values: &[f64]) -> Self {
        Self(values.to_vec())
    }
}

impl<const N: usize> From<[f64; N]> for Values {
    fn from(values: [f64; N]) -> Self {
        Self(values.to_vec())
    }
}

/// What a study optimises. A closure `|trial| -> Result<f64, BoxError>` is one (through
/// [`crate::Study::optimize`]), or one giving several values for a study with several
/// objectives; implement the trait for objectives that can pause and continue trials
/// (successive halving's promotions) or keep files per trial.
pub trait Objective {
    /// Evaluates one trial: suggest its parameters through `trial`, report intermediate values,
    /// return its value (one per objective in a study with several). Return
    /// [`crate::TuneError::Pruned`] (what [`Trial::report`] gives) to stop a trial the pruner
    /// gave up on. A trial being continued from a pause has [`Trial::resumed_from`] set and its
    /// parameters already chosen.
    fn evaluate(&mut self, trial: &mut Trial) -> Result<Values, BoxError>;

    /// Whether trials can pause at a rung and continue later from where they stopped (the
    /// objective keeps their state). Without it, successive halving prunes or continues at once.
    fn can_pause(&self) -> bool {
        false
    }

    /// A paused trial will not continue (it was pruned where it paused): release what was kept
    /// for it.
    fn discard_paused(&mut self, _trial: &TrialRecord) {}

    /// Called once the study has settled its paused trials, with every trial: a chance to
    /// repair what a killed process left half-done.
    fn tidy(&mut self, _trials: &[TrialRecord]) {}

    /// For a trial whose process died while continuing it from a pause: the step whose saved
    /// state is still there, so the trial goes back to that pause instead of failing.
    fn paused_at(&self, _trial: &TrialRecord) -> Option<usize> {
        None
    }
}

/// Progress of a study as trials start and end (for a terminal, a log, a dashboard).
pub trait StudyObserver {
    /// A trial (new, or continued from a pause) is about to be evaluated.
    fn trial_started(&mut self, _number: usize, _resumed_from: Option<usize>) {}
    /// A trial ended (or paused); `best` is the study's best complete trial now.
    fn trial_finished(&mut self, _trial: &TrialRecord, _best: Option<&TrialRecord>) {}
    /// Whether the study should stop claiming trials (checked after each one is recorded).
    fn stop(&self) -> bool {
        false
    }
}

/// An observer that says nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl StudyObserver for Quiet {}

/// A closure as an objective.
pub(crate) struct FnObjective<F>(pub F);

impl<F, V> Objective for FnObjective<F>
where
    F: FnMut(&mut Trial) -> Result<V, BoxError>,
    V: Into<Values>,
{
    fn evaluate(&mut self, trial: &mut Trial) -> Result<Values, BoxError> {
        (self.0)(trial).map(Into::into)
    }
}
