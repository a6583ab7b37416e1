//! Learning-rate schedules. Users think in epochs ("halve every 10 epochs", "warm up for 2"),
//! the optimizer steps per batch: [`LrSchedule::lr_at`] maps an iteration to the learning rate,
//! so the value at every epoch boundary is exactly what the per-epoch setting says.

use serde::{Deserialize, Serialize};

/// A schedule config that cannot be used, naming the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid value for `{field}`: {message}")]
pub struct ScheduleError {
    /// The config key at fault (e.g. `train.lr`).
    pub field: &'static str,
    /// What is wrong with its value.
    pub message: String,
}

/// The shape of the learning-rate schedule that follows any warm-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ScheduleKind {
    /// The base learning rate throughout.
    Constant,
    /// Multiply by `gamma` every `every` epochs (PyTorch's StepLR).
    StepDecay {
        /// Epochs between decays (at least 1).
        every: usize,
        /// The decay factor, in (0, 1].
        gamma: f64,
    },
    /// Multiply by `gamma` after every epoch (PyTorch's ExponentialLR).
    Exponential {
        /// The decay factor per epoch, in (0, 1].
        gamma: f64,
    },
    /// Cosine annealing from the base rate to `min_lr` over the whole run, updated every
    /// iteration (at epoch boundaries it equals PyTorch's per-epoch CosineAnnealingLR).
    Cosine {
        /// The rate the cosine decays to by the end of the run (default 0).
        #[serde(default)]
        min_lr: f64,
    },
}

/// A schedule with optional linear warm-up: during the first `warmup_epochs` the rate rises
/// linearly from `lr / warmup_iterations` to the scheduled value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LrSchedule {
    /// Base learning rate.
    pub lr: f64,
    /// The schedule after warm-up (default: constant).
    #[serde(default = "constant")]
    pub schedule: ScheduleKind,
    /// Linear warm-up length in epochs (fractions allowed).
    #[serde(default)]
    pub warmup_epochs: f64,
}

fn constant() -> ScheduleKind {
    ScheduleKind::Constant
}

impl LrSchedule {
    /// Checks the rate, the warm-up and the schedule's settings, naming the first field that is
    /// wrong.
    pub fn validate(&self) -> Result<(), ScheduleError> {
        let fail = |field, message: String| Err(ScheduleError { field, message });
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return fail(
                "train.lr",
                format!("{} must be a finite number > 0", self.lr),
            );
        }
        if !(self.warmup_epochs.is_finite() && self.warmup_epochs >= 0.0) {
            return fail(
                "train.warmup_epochs",
                format!("{} must be ≥ 0", self.warmup_epochs),
            );
        }
        match self.schedule {
            ScheduleKind::StepDecay { every: 0, .. } => {
                fail("train.schedule.every", "must be at least 1 epoch".into())
            }
            ScheduleKind::StepDecay { gamma, .. } | ScheduleKind::Exponential { gamma }
                if !(gamma > 0.0 && gamma <= 1.0) =>
            {
                fail(
                    "train.schedule.gamma",
                    format!("{gamma} is not a decay factor in (0, 1]"),
                )
            }
            ScheduleKind::Cosine { min_lr } if !(min_lr >= 0.0 && min_lr < self.lr) => fail(
                "train.schedule.min_lr",
                format!("{min_lr} must be ≥ 0 and below the base lr {}", self.lr),
            ),
            _ => Ok(()),
        }
    }

    /// The learning rate for iteration `iteration` (0-based, counted over the whole run) of a
    /// run of `epochs` epochs with `per_epoch` iterations each. Warm-up rises linearly to `lr`
    /// over its iterations; the schedule then starts from its own beginning (as PyTorch's
    /// `SequentialLR` of a linear warm-up and the decay does), so its epochs, and cosine's
    /// horizon, count from the end of warm-up.
    pub fn lr_at(&self, iteration: usize, per_epoch: usize, epochs: usize) -> f64 {
        let per_epoch = per_epoch.max(1);
        let warmup = self.warmup_iterations(per_epoch);
        if iteration < warmup {
            return self.lr * (iteration + 1) as f64 / warmup as f64;
        }
        let after = iteration - warmup;
        let epoch = after / per_epoch;
        match self.schedule {
            ScheduleKind::Constant => self.lr,
            ScheduleKind::StepDecay { every, gamma } => {
                self.lr * gamma.powi((epoch / every.max(1)) as i32)
            }
            ScheduleKind::Exponential { gamma } => self.lr * gamma.powi(epoch as i32),
            ScheduleKind::Cosine { min_lr } => {
                let total = (epochs.max(1) * per_epoch).saturating_sub(warmup).max(1) as f64;
                let progress = (after as f64 / total).min(1.0);
                min_lr + (self.lr - min_lr) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        }
    }

    /// Warm-up length in iterations; any warm-up lasts at least one iteration.
    fn warmup_iterations(&self, per_epoch: usize) -> usize {
        if self.warmup_epochs > 0.0 {
            ((self.warmup_epochs * per_epoch as f64).round() as usize).max(1)
        } else {
            0
        }
    }
}
