//! Hyperband (Li et al., 2018) as brackets of asynchronous successive halving.

use super::halving::{self, Rungs};
use super::{Decision, PruneQuery, Pruner, PrunerContext, Settlement};
use crate::error::{Result, TuneError};
use crate::storage::TrialRecord;

/// Hyperband: brackets of different aggressiveness, each an ASHA whose first rung sits η^s
/// times later; a trial's bracket follows from the study seed and its number, and trials
/// compete only within their bracket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HyperbandPruner {
    /// η: each rung keeps about 1/η of the trials.
    pub reduction_factor: usize,
    /// `(configurations it starts, steps of its first rung)` per bracket.
    pub brackets: Vec<(usize, usize)>,
}

impl HyperbandPruner {
    /// Hyperband over `[min_resource, max_resource]` steps (`min_resource` ≥ 1, η ≥ 2).
    pub fn new(min_resource: usize, max_resource: usize, reduction_factor: usize) -> Result<Self> {
        halving::check_rungs(min_resource, reduction_factor)?;
        if max_resource < min_resource {
            return Err(TuneError::config(
                "pruner.max_resource",
                format!(
                    "{max_resource} is below min_resource {min_resource}: the most steps a trial gets must be at least its first rung"
                ),
            ));
        }
        Ok(Self {
            reduction_factor,
            brackets: hyperband_brackets(min_resource, max_resource, reduction_factor),
        })
    }
}

/// Hyperband's brackets for resources `[min, max]` and reduction factor η: for bracket
/// `s = s_max … 0`, `(configurations it starts, steps of its first rung)`, with
/// `n = ⌈(s_max + 1) / (s + 1) · η^s⌉` and first rung `max · η^(−s)` (Li et al., 2018).
pub fn hyperband_brackets(min: usize, max: usize, eta: usize) -> Vec<(usize, usize)> {
    let eta = eta.max(2);
    let ratio = (max.max(1) / min.max(1)).max(1);
    let mut s_max = 0;
    while eta.pow(s_max + 1) <= ratio {
        s_max += 1;
    }
    (0..=s_max)
        .rev()
        .map(|s| {
            let n = ((s_max + 1) as f64 / (s + 1) as f64 * eta.pow(s) as f64).ceil() as usize;
            (n, (max / eta.pow(s)).max(1))
        })
        .collect()
}

/// The bracket (index into [`hyperband_brackets`]) of trial `number`, drawn with probability
/// proportional to each bracket's number of configurations, from the study seed: the same trial
/// always lands in the same bracket, across resumes and workers.
pub fn hyperband_bracket(study_seed: u64, number: usize, brackets: &[(usize, usize)]) -> usize {
    use rand::RngExt;
    let total: usize = brackets.iter().map(|b| b.0).sum();
    let mut pick = anneal_rng::derive_rng(study_seed, "hyperband bracket", number as u64)
        .random_range(0..total.max(1));
    for (i, (n, _)) in brackets.iter().enumerate() {
        if pick < *n {
            return i;
        }
        pick -= n;
    }
    brackets.len() - 1
}

impl Rungs for HyperbandPruner {
    fn eta(&self) -> usize {
        self.reduction_factor
    }
    fn first_rung(&self, seed: u64, number: usize) -> usize {
        self.brackets[self.bracket(seed, number)].1
    }
    fn bracket(&self, seed: u64, number: usize) -> usize {
        hyperband_bracket(seed, number, &self.brackets)
    }
}

impl Pruner for HyperbandPruner {
    fn name(&self) -> &str {
        "hyperband"
    }

    fn decide(&self, query: &PruneQuery, context: &PrunerContext) -> Result<Decision> {
        halving::decide(self, query, context)
    }

    fn next_promotion(&self, trials: &[TrialRecord], context: &PrunerContext) -> Option<usize> {
        halving::next_promotion(self, trials, context)
    }

    fn settle(&self, trials: &[TrialRecord], context: &PrunerContext) -> Settlement {
        halving::settle(self, trials, context)
    }

    fn has_rungs(&self) -> bool {
        true
    }

    fn validate(&self) -> Result<()> {
        // Brackets given by hand: at least one, each with a first rung of a step or more.
        let first = self.brackets.iter().map(|b| b.1).min().ok_or_else(|| {
            TuneError::config("pruner.brackets", "Hyperband needs at least one bracket")
        })?;
        halving::check_rungs(first, self.reduction_factor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyperband_brackets_for_81_epochs_and_eta_3() {
        let brackets = hyperband_brackets(1, 81, 3);
        assert_eq!(brackets, [(81, 1), (34, 3), (15, 9), (8, 27), (5, 81)]);
        // Bracket assignment (a function of the study seed and trial number) is proportional to
        // the brackets' sizes.
        let mut counts = [0usize; 5];
        for n in 0..1430 {
            let b = hyperband_bracket(7, n, &brackets);
            counts[b] += 1;
        }
        for (count, (size, _)) in counts.iter().zip(&brackets) {
            let expected = 1430.0 * *size as f64 / 143.0;
            assert!(
                (*count as f64 - expected).abs() < 0.35 * expected + 10.0,
                "{counts:?}"
            );
        }
    }
}
