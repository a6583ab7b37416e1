//! What a study's trials say to its sampler and to its failure guard.

use crate::direction::Direction;
use crate::distribution::Distribution;
use crate::error::{Result, TuneError};
use crate::sampler::Observation;
use crate::space::{Assignment, Param, SearchSpace};
use crate::storage::{TrialRecord, TrialState};

use super::INTERRUPTED_MESSAGE;

/// The best complete trial with a finite value.
pub fn best_trial(trials: &[TrialRecord], direction: Direction) -> Option<&TrialRecord> {
    trials
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .filter(|t| t.value.is_some_and(f64::is_finite))
        .min_by(|a, b| {
            let (x, y) = (a.value.unwrap_or_default(), b.value.unwrap_or_default());
            direction.loss(x).total_cmp(&direction.loss(y))
        })
}

/// What the sampler learns from: completed trials; pruned and paused trials, ranked as the
/// worst seen (they stopped because they were losing, and TPE counts them in its "bad" group as
/// Optuna does); and trials other workers are running now with a "constant liar" value (the
/// worst loss seen), so parallel suggestions spread out instead of piling onto one point.
pub(crate) fn observations(
    trials: &[TrialRecord],
    own: usize,
    direction: Direction,
) -> Vec<Observation> {
    let worst = trials
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .filter_map(|t| t.value.map(|v| direction.loss(v)))
        .fold(f64::NEG_INFINITY, f64::max);
    // With no complete trial yet, a pruned one still tells the sampler where not to look.
    let floor = if worst.is_finite() { worst } else { 0.0 };
    // The "constant liar" for running trials: the worst complete one (as before), else the
    // worst of the pruned and paused, so a running trial never ranks among the best.
    let stopped = trials
        .iter()
        .filter(|t| matches!(t.state, TrialState::Pruned | TrialState::Paused))
        .map(|t| floor.max(t.value.map_or(floor, |v| direction.loss(v))) + 1e-9)
        .fold(f64::NEG_INFINITY, f64::max);
    let pending_loss = if worst.is_finite() {
        worst
    } else if stopped.is_finite() {
        stopped
    } else {
        0.0
    };
    // In trial order: TPE weighs older observations less.
    trials
        .iter()
        .filter_map(|t| {
            let (loss, pending) = match t.state {
                TrialState::Complete => (direction.loss(t.value?), false),
                TrialState::Pruned | TrialState::Paused => (
                    floor.max(t.value.map_or(floor, |v| direction.loss(v))) + 1e-9,
                    false,
                ),
                // Before any trial completed, running ones still hold their points (a grid
                // must not hand them out twice), ranked with the worst seen so far.
                TrialState::Running if t.number != own && !t.params.is_empty() => {
                    (pending_loss, true)
                }
                _ => return None,
            };
            Some(Observation {
                assignment: t.params.clone(),
                loss,
                pending,
                stopped: matches!(t.state, TrialState::Pruned | TrialState::Paused),
                curve: t
                    .intermediate
                    .iter()
                    .map(|&(step, v)| (step, direction.loss(v)))
                    .collect(),
            })
        })
        .collect()
}

/// The parameters of failed trials other than `own`, in trial order (a trial that failed
/// before any parameter was chosen has none to give).
pub(crate) fn failed_params(trials: &[TrialRecord], own: usize) -> Vec<Assignment> {
    trials
        .iter()
        .filter(|t| t.state == TrialState::Failed && t.number != own && !t.params.is_empty())
        .map(|t| t.params.clone())
        .collect()
}

/// The parameters every complete trial has, each with one distribution throughout (fixed
/// values left out), in the order the first of them was asked: what a sampler may model
/// jointly (Optuna's intersection search space).
pub(crate) fn relative_space(trials: &[TrialRecord]) -> SearchSpace {
    // Trials recorded before distributions were stored say nothing about the space.
    let mut complete = trials
        .iter()
        .filter(|t| t.state == TrialState::Complete && !t.distributions.is_empty());
    let Some(first) = complete.next() else {
        return SearchSpace::default();
    };
    let mut shared: Vec<(String, Distribution)> = first
        .distributions
        .iter()
        .filter(|(_, d)| !matches!(d, Distribution::Fixed(_)))
        .cloned()
        .collect();
    for trial in complete {
        shared.retain(|(name, d)| trial.distributions.iter().any(|(n, e)| n == name && e == d));
    }
    SearchSpace {
        params: shared
            .into_iter()
            .map(|(name, distribution)| Param {
                name,
                distribution,
                when: Default::default(),
                per_layer: None,
            })
            .collect(),
    }
}

/// Fails when the study's first `max_failures` finished trials all failed and none completed:
/// its settings are broken, not unlucky. Trials killed with their process say nothing about
/// the settings and are not counted.
pub(crate) fn check_not_all_failing(trials: &[TrialRecord], max_failures: usize) -> Result<()> {
    let interrupted = INTERRUPTED_MESSAGE.split(':').next().unwrap_or_default();
    let finished: Vec<&TrialRecord> = trials
        .iter()
        .filter(|t| !matches!(t.state, TrialState::Running | TrialState::Interrupted))
        .filter(|t| {
            !t.message
                .as_deref()
                .is_some_and(|e| e.starts_with(interrupted))
        })
        .collect();
    if max_failures > 0
        && finished.len() >= max_failures
        && finished
            .iter()
            .take(max_failures)
            .all(|t| t.state == TrialState::Failed)
        && !finished.iter().any(|t| t.state == TrialState::Complete)
    {
        let last = finished[max_failures - 1]
            .message
            .clone()
            .unwrap_or_default();
        return Err(TuneError::AllFailing(format!(
            "the study's first {max_failures} trials all failed, so its settings are likely broken rather than unlucky; the last error: {last}"
        )));
    }
    Ok(())
}
