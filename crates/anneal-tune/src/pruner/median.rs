//! The median rule.

use super::{Decision, PruneQuery, Pruner, PrunerContext};
use crate::error::Result;
use crate::storage::TrialState;

/// Optuna's `MedianPruner`: after `warmup_steps`, a trial whose best value so far is worse than
/// the median of the completed trials' values at the current step stops, once `min_trials`
/// completed trials reported that step. Comparing the best so far, not the current value, keeps
/// one noisy dip from pruning a trial that has already shown it is good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MedianPruner {
    /// Steps before any pruning (a step ≤ this never prunes).
    pub warmup_steps: usize,
    /// Completed trials needed at a step before it prunes there.
    pub min_trials: usize,
}

impl Default for MedianPruner {
    fn default() -> Self {
        Self {
            warmup_steps: 1,
            min_trials: 5,
        }
    }
}

impl Pruner for MedianPruner {
    fn name(&self) -> &str {
        "median"
    }

    fn decide(&self, query: &PruneQuery, context: &PrunerContext) -> Result<Decision> {
        if query.step <= self.warmup_steps {
            return Ok(Decision::Continue);
        }
        let mut at_step: Vec<f64> = context
            .others_at(query.step, query.number)?
            .into_iter()
            .filter(|v| v.state == TrialState::Complete && v.value.is_finite())
            .map(|v| v.value)
            .collect();
        if at_step.len() < self.min_trials.max(1) {
            return Ok(Decision::Continue);
        }
        at_step.sort_by(f64::total_cmp);
        let n = at_step.len();
        let median = if n % 2 == 1 {
            at_step[n / 2]
        } else {
            0.5 * (at_step[n / 2 - 1] + at_step[n / 2])
        };
        // Compared as losses: a NaN is the worst, so a trial reporting one stops (as Optuna's).
        let direction = context.direction;
        Ok(if direction.loss(query.best) > direction.loss(median) {
            Decision::Prune
        } else {
            Decision::Continue
        })
    }
}
