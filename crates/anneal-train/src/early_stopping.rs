//! Tracks the best epoch by the monitored metric and decides when to stop.

use crate::config::{EarlyStoppingConfig, Mode};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    /// This epoch is the new best (it beat the previous best by more than `min_delta`).
    pub improved: bool,
    /// Patience is used up: stop after this epoch.
    pub stop: bool,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct BestTracker {
    mode: Mode,
    min_delta: f64,
    patience: Option<usize>,
    best: Option<(usize, f64)>,
    since_best: usize,
}

impl BestTracker {
    pub fn new(config: &EarlyStoppingConfig) -> Self {
        Self {
            mode: config.mode(),
            min_delta: config.min_delta,
            patience: config.patience,
            best: None,
            since_best: 0,
        }
    }

    /// Records `value` for `epoch` (1-based). NaN never counts as an improvement.
    pub fn observe(&mut self, epoch: usize, value: f64) -> Verdict {
        let improved = match self.best {
            None => !value.is_nan(),
            Some((_, best)) => match self.mode {
                Mode::Min => value < best - self.min_delta,
                Mode::Max => value > best + self.min_delta,
            },
        };
        if improved {
            self.best = Some((epoch, value));
            self.since_best = 0;
        } else {
            self.since_best += 1;
        }
        Verdict {
            improved,
            stop: self.patience.is_some_and(|p| self.since_best >= p),
        }
    }

    /// `(epoch, value)` of the best epoch so far.
    pub fn best(&self) -> Option<(usize, f64)> {
        self.best
    }
}
