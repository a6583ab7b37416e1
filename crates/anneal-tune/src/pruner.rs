//! Pruners: stop a training trial early when its per-epoch values show it will not win.
//! So far the median rule (Optuna's `MedianPruner`); successive halving and Hyperband come with
//! the multi-fidelity issue and plug in at the same place.

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
}

fn warmup() -> usize {
    1
}
fn min_trials() -> usize {
    5
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
        match *self {
            PrunerConfig::None => false,
            PrunerConfig::Median {
                warmup_epochs,
                min_trials,
            } => {
                if epoch <= warmup_epochs || completed.len() < min_trials.max(1) {
                    return false;
                }
                let mut at_epoch: Vec<f64> = completed
                    .iter()
                    .filter_map(|values| values.iter().find(|(e, _)| *e == epoch).map(|(_, v)| *v))
                    .filter(|v| v.is_finite())
                    .collect();
                if at_epoch.len() < min_trials.max(1) {
                    return false;
                }
                at_epoch.sort_by(f64::total_cmp);
                let n = at_epoch.len();
                let median = if n % 2 == 1 {
                    at_epoch[n / 2]
                } else {
                    0.5 * (at_epoch[n / 2 - 1] + at_epoch[n / 2])
                };
                match direction {
                    Mode::Min => value > median,
                    Mode::Max => value < median,
                }
            }
        }
    }
}
