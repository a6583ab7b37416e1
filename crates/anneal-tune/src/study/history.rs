//! What a study's trials say to its sampler and to its failure guard.

use crate::direction::Direction;
use crate::distribution::Distribution;
use crate::error::{Result, TuneError};
use crate::sampler::{Observation, Seen};
use crate::space::{Param, SearchSpace};
use crate::storage::{Cause, TrialRecord, TrialState};

/// The best complete trial with a finite value that meets its constraints.
pub fn best_trial(trials: &[TrialRecord], direction: Direction) -> Option<&TrialRecord> {
    trials
        .iter()
        .filter(|t| t.state == TrialState::Complete && t.is_feasible())
        .filter(|t| t.value.is_some_and(f64::is_finite))
        .min_by(|a, b| {
            let (x, y) = (a.value.unwrap_or_default(), b.value.unwrap_or_default());
            direction.loss(x).total_cmp(&direction.loss(y))
        })
}

/// What the sampler learns from, every trial but `own` in trial order (TPE weighs older
/// observations less). Losses are always finite, so no sampler ranks a NaN:
/// - complete trials with a finite value that meet their constraints, at their loss (the first
///   objective's; [`Observation::losses`] has every objective's);
/// - pruned and paused trials just below the worst complete one (they stopped because they
///   were losing; TPE counts them in its "bad" group as Optuna does);
/// - complete trials that miss a constraint below those, further the more they miss (as
///   c-TPE ranks them: feasible first, then by how far they miss);
/// - failed trials and values that are not finite (a diverged run, a NaN) at the worst loss
///   seen, so the samplers learn where runs blow up instead of proposing it again; a trial
///   whose process died (interrupted, killed) is marked so, as its point is not to blame;
/// - trials other workers are running now at a "constant liar" loss (the worst seen), so
///   parallel suggestions spread out instead of piling onto one point.
pub(crate) fn observations(
    trials: &[TrialRecord],
    own: usize,
    directions: &[Direction],
) -> Vec<Observation> {
    let direction = directions[0];
    let complete_loss = |t: &TrialRecord| {
        (t.state == TrialState::Complete)
            .then(|| t.value.map(|v| direction.loss(v)))
            .flatten()
            .filter(|l| l.is_finite())
    };
    let worst = trials
        .iter()
        .filter(|t| t.is_feasible())
        .filter_map(complete_loss)
        .fold(f64::NEG_INFINITY, f64::max);
    // With no complete trial yet, a pruned one still tells the sampler where not to look.
    let floor = if worst.is_finite() { worst } else { 0.0 };
    let stopped_loss = |t: &TrialRecord| {
        let reported = t.value.map(|v| direction.loss(v)).filter(|l| l.is_finite());
        floor.max(reported.unwrap_or(floor)) + 1e-9
    };
    let worst_stopped = trials
        .iter()
        .filter(|t| matches!(t.state, TrialState::Pruned | TrialState::Paused))
        .map(stopped_loss)
        .fold(floor, f64::max);
    let infeasible_loss = |t: &TrialRecord| worst_stopped + 1e-9 + t.violation();
    // The worst of everything finished stands in for failures and running trials, so neither
    // ever ranks among the best.
    let worst_seen = trials
        .iter()
        .filter(|t| complete_loss(t).is_some() && !t.is_feasible())
        .map(infeasible_loss)
        .fold(worst_stopped, f64::max);
    trials
        .iter()
        .filter(|t| t.number != own)
        .filter_map(|t| {
            let (loss, seen) = match t.state {
                TrialState::Complete => match complete_loss(t) {
                    Some(loss) if t.is_feasible() => (loss, Seen::Complete),
                    Some(_) => (infeasible_loss(t), Seen::Complete),
                    None => (worst_seen, Seen::Failed),
                },
                TrialState::Pruned => (stopped_loss(t), Seen::Stopped),
                TrialState::Paused => (stopped_loss(t), Seen::Paused),
                // A trial that failed before any parameter was chosen has nothing to say.
                TrialState::Failed if !t.params.is_empty() => match t.process_died() {
                    true => (worst_seen, Seen::Died),
                    false => (worst_seen, Seen::Failed),
                },
                // Before any trial completed, running ones still hold their points (a grid
                // must not hand them out twice), ranked with the worst seen so far.
                TrialState::Running if !t.params.is_empty() => (worst_seen, Seen::Pending),
                _ => return None,
            };
            let losses = match (directions.len(), seen) {
                (1, _) | (_, Seen::Failed) => Vec::new(),
                _ => crate::pareto::losses(&t.values, directions).unwrap_or_default(),
            };
            Some(Observation {
                assignment: t.params.clone(),
                loss,
                seen,
                curve: t
                    .intermediate
                    .iter()
                    .map(|&(step, v)| (step, direction.loss(v)))
                    .collect(),
                losses,
                violation: t.violation(),
            })
        })
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
    let finished: Vec<&TrialRecord> = trials
        .iter()
        .filter(|t| !matches!(t.state, TrialState::Running | TrialState::Interrupted))
        .filter(|t| !t.cause.is_some_and(Cause::is_interruption))
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
