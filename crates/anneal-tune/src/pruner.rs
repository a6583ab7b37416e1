//! Pruners: stop a training trial early when its per-epoch values show it will not win, with
//! epochs as the resource: the median rule (Optuna's `MedianPruner`), asynchronous successive
//! halving (ASHA) and Hyperband (successive halving in brackets of different aggressiveness).

use anneal_train::config::Mode;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PrunerConfig {
    /// Every trial runs all its epochs.
    #[default]
    None,
    /// Prune a trial whose value at an epoch is worse than the median of the completed trials'
    /// values at that epoch, once `warmup_epochs` have passed and `min_trials` trials have
    /// completed.
    Median {
        #[serde(default = "warmup")]
        warmup_epochs: usize,
        #[serde(default = "min_trials")]
        min_trials: usize,
    },
    /// Asynchronous successive halving: rungs at `min_resource · η^k` epochs; a trial reaching a
    /// rung continues only if it is in the best 1/η of the trials that reached that rung so far.
    Asha {
        #[serde(default = "min_resource")]
        min_resource: usize,
        #[serde(default = "eta")]
        reduction_factor: usize,
    },
    /// Hyperband: ⌊log_η(max/min)⌋ + 1 brackets, each an ASHA whose first rung sits η^s times
    /// later; a trial's bracket follows from the study seed and its number.
    ///
    /// ASHA and Hyperband pause a trial at a rung where it is not promotable yet, saving its
    /// training state; the sweep continues it from there when later trials make it promotable,
    /// and prunes the ones still paused when the study's budget is spent.
    Hyperband {
        #[serde(default = "min_resource")]
        min_resource: usize,
        /// The most epochs a trial can get (its config's `train.epochs`).
        max_resource: usize,
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

/// Hyperband's brackets for resources `[min, max]` and reduction factor η: for bracket
/// `s = s_max … 0`, `(configurations it starts, epochs of its first rung)`, with
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
    let mut pick = anneal_data::rng::derive_rng(study_seed, "hyperband bracket", number as u64)
        .random_range(0..total.max(1));
    for (i, (n, _)) in brackets.iter().enumerate() {
        if pick < *n {
            return i;
        }
        pick -= n;
    }
    brackets.len() - 1
}

/// Successive-halving decision at `epoch`: `Some(false)` promote, `Some(true)` not (yet)
/// promotable, `None` when `epoch` is not a rung. `others` are the values other trials
/// reported at that epoch. A trial is promotable when it ranks in the best ⌊n/η⌋ of the `n`
/// trials at the rung, itself included (ASHA's rule): the first η − 1 arrivals never are, so
/// they wait (paused) until later arrivals show whether they belong to the best third.
pub fn successive_halving(
    epoch: usize,
    value: f64,
    others: &[f64],
    first_rung: usize,
    eta: usize,
    direction: Mode,
) -> Option<bool> {
    let eta = eta.max(2);
    let mut rung = first_rung.max(1);
    while rung < epoch {
        rung *= eta;
    }
    if rung != epoch {
        return None;
    }
    if !value.is_finite() {
        return Some(true);
    }
    // Rank among every trial that reached this rung, itself included: promotable if in the
    // best ⌊n/η⌋.
    let better = others
        .iter()
        .filter(|v| v.is_finite())
        .filter(|&&v| match direction {
            Mode::Min => v < value,
            Mode::Max => v > value,
        })
        .count();
    let reached = others.iter().filter(|v| v.is_finite()).count() + 1;
    let promoted = reached / eta;
    Some(better >= promoted)
}

fn warmup() -> usize {
    1
}
fn min_trials() -> usize {
    5
}

/// What a pruner says about a trial after an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Continue,
    /// Stop for good (the median rule).
    Prune,
    /// Stop for now, keeping the training state: not promotable from this rung yet.
    Pause,
}

impl PrunerConfig {
    /// Whether a trial with `value` at `epoch` (1-based) should stop, given the completed
    /// trials' intermediate values.
    pub fn should_prune(
        &self,
        epoch: usize,
        value: f64,
        completed: &[Vec<(usize, f64)>],
        direction: Mode,
    ) -> bool {
        let reached: Vec<(usize, Vec<(usize, f64)>)> =
            completed.iter().cloned().enumerate().collect();
        self.decide(epoch, value, completed, &reached, direction, 0, usize::MAX)
            != Decision::Continue
    }

    /// Successive halving's verdict for trial `number` at `epoch` (ASHA, Hyperband within the
    /// trial's bracket): `Some(false)` promotable, `Some(true)` not yet, `None` when `epoch` is
    /// not one of its rungs or the pruner has no rungs.
    fn rung_verdict(
        &self,
        epoch: usize,
        value: f64,
        reached: &[(usize, Vec<(usize, f64)>)],
        direction: Mode,
        study_seed: u64,
        number: usize,
    ) -> Option<bool> {
        let at = |keep: &dyn Fn(usize) -> bool| -> Vec<f64> {
            reached
                .iter()
                .filter(|(n, _)| *n != number && keep(*n))
                .filter_map(|(_, values)| values.iter().find(|(e, _)| *e == epoch).map(|(_, v)| *v))
                .collect()
        };
        match *self {
            PrunerConfig::Asha {
                min_resource,
                reduction_factor,
            } => successive_halving(
                epoch,
                value,
                &at(&|_| true),
                min_resource,
                reduction_factor,
                direction,
            ),
            PrunerConfig::Hyperband {
                min_resource,
                max_resource,
                reduction_factor,
            } => {
                let brackets = hyperband_brackets(min_resource, max_resource, reduction_factor);
                let bracket = hyperband_bracket(study_seed, number, &brackets);
                // Only trials of the same bracket compete with each other.
                let same = |n: usize| hyperband_bracket(study_seed, n, &brackets) == bracket;
                successive_halving(
                    epoch,
                    value,
                    &at(&same),
                    brackets[bracket].1,
                    reduction_factor,
                    direction,
                )
            }
            PrunerConfig::None | PrunerConfig::Median { .. } => None,
        }
    }

    /// The successive-halving group trial `number` of a study seeded `study_seed` competes in:
    /// its Hyperband bracket, else 0 (ASHA's one group; pruners without rungs).
    pub fn bracket_of(&self, study_seed: u64, number: usize) -> usize {
        match *self {
            PrunerConfig::Hyperband {
                min_resource,
                max_resource,
                reduction_factor,
            } => hyperband_bracket(
                study_seed,
                number,
                &hyperband_brackets(min_resource, max_resource, reduction_factor),
            ),
            _ => 0,
        }
    }

    /// Whether a trial paused at `epoch` with `value` may continue now: it sits at one of the
    /// pruner's rungs and ranks in the best ⌊n/η⌋ there.
    pub fn promotable(
        &self,
        epoch: usize,
        value: f64,
        reached: &[(usize, Vec<(usize, f64)>)],
        direction: Mode,
        study_seed: u64,
        number: usize,
    ) -> bool {
        self.rung_verdict(epoch, value, reached, direction, study_seed, number) == Some(false)
    }

    /// The pruning decision for trial `number` of a study seeded `study_seed`: `completed` are
    /// the complete trials' intermediate values (median rule), `reached` every other trial's
    /// (complete, pruned or running, with their numbers: successive halving ranks all that
    /// reached a rung; Hyperband only those of the same bracket).
    #[allow(clippy::too_many_arguments)]
    pub fn decide(
        &self,
        epoch: usize,
        value: f64,
        completed: &[Vec<(usize, f64)>],
        reached: &[(usize, Vec<(usize, f64)>)],
        direction: Mode,
        study_seed: u64,
        number: usize,
    ) -> Decision {
        if let Some(held) = self.rung_verdict(epoch, value, reached, direction, study_seed, number)
        {
            return if held {
                Decision::Pause
            } else {
                Decision::Continue
            };
        }
        match *self {
            PrunerConfig::None | PrunerConfig::Asha { .. } | PrunerConfig::Hyperband { .. } => {
                Decision::Continue
            }
            PrunerConfig::Median {
                warmup_epochs,
                min_trials,
            } => {
                if epoch <= warmup_epochs || completed.len() < min_trials.max(1) {
                    return Decision::Continue;
                }
                let mut at_epoch: Vec<f64> = completed
                    .iter()
                    .filter_map(|values| values.iter().find(|(e, _)| *e == epoch).map(|(_, v)| *v))
                    .filter(|v| v.is_finite())
                    .collect();
                if at_epoch.len() < min_trials.max(1) {
                    return Decision::Continue;
                }
                at_epoch.sort_by(f64::total_cmp);
                let n = at_epoch.len();
                let median = if n % 2 == 1 {
                    at_epoch[n / 2]
                } else {
                    0.5 * (at_epoch[n / 2 - 1] + at_epoch[n / 2])
                };
                let below = match direction {
                    Mode::Min => value > median,
                    Mode::Max => value < median,
                };
                if below {
                    Decision::Prune
                } else {
                    Decision::Continue
                }
            }
        }
    }
}
