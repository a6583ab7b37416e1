//! Early stopping: its config (what is monitored, in which direction, with what patience) and
//! the tracker that follows the best epoch and decides when to stop.

use anneal_tune::Direction;
use serde::{Deserialize, Serialize};

/// Epochs without improvement before stopping when an `early_stopping` table leaves `patience`
/// out.
pub const DEFAULT_PATIENCE: usize = 10;

fn default_patience() -> Option<usize> {
    Some(DEFAULT_PATIENCE)
}

/// What "better" means for a run: the monitored validation metric picks the best epoch (its
/// weights are the checkpoint) and, with `patience`, stops the run when it stops improving.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EarlyStoppingConfig {
    /// The validation metric that picks the best epoch.
    pub monitor: Monitor,
    /// `min` or `max` (or `minimize`, `maximize`); defaults to the monitor's natural direction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<Direction>,
    /// Epochs without improvement before stopping: a number, or `"off"` to train every epoch.
    /// An `early_stopping` table without it stops after [`DEFAULT_PATIENCE`]; a config without
    /// the table trains every epoch (and still keeps the best one).
    #[serde(default = "default_patience", with = "patience_text")]
    pub patience: Option<usize>,
    /// An improvement smaller than this does not count.
    pub min_delta: f64,
    /// End with the best epoch's weights rather than the last epoch's.
    pub restore_best: bool,
}

impl Default for EarlyStoppingConfig {
    fn default() -> Self {
        Self {
            monitor: Monitor::ValLoss,
            mode: None,
            patience: None,
            min_delta: 0.0,
            restore_best: true,
        }
    }
}

/// `patience = 10` or `patience = "off"`.
mod patience_text {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    const OFF: &str = "off";

    pub fn serialize<S: Serializer>(
        value: &Option<usize>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(epochs) => serializer.serialize_u64(*epochs as u64),
            None => serializer.serialize_str(OFF),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<usize>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Text {
            Epochs(i64),
            Word(String),
        }
        match Text::deserialize(deserializer)? {
            Text::Epochs(n) if n >= 0 => Ok(Some(n as usize)),
            Text::Word(word) if word == OFF => Ok(None),
            Text::Epochs(n) => Err(D::Error::custom(format!(
                "patience {n} is negative; give a number of epochs or \"off\""
            ))),
            Text::Word(word) => Err(D::Error::custom(format!(
                "patience '{word}' is not a number of epochs or \"off\""
            ))),
        }
    }
}

impl EarlyStoppingConfig {
    /// The direction set in the config, or else the monitor's natural one.
    pub fn mode(&self) -> Direction {
        self.mode
            .unwrap_or_else(|| self.monitor.natural_direction())
    }
}

/// A validation metric early stopping can watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Monitor {
    /// Validation loss.
    ValLoss,
    /// Validation accuracy (classification).
    ValAccuracy,
    /// Validation macro F1 (classification).
    ValF1,
    /// Validation mean squared error (regression).
    ValMse,
    /// Validation mean absolute error (regression).
    ValMae,
    /// Validation R² (regression).
    ValR2,
}

impl Monitor {
    /// Every monitor.
    pub const ALL: [Monitor; 6] = [
        Monitor::ValLoss,
        Monitor::ValAccuracy,
        Monitor::ValF1,
        Monitor::ValMse,
        Monitor::ValMae,
        Monitor::ValR2,
    ];

    /// The monitor's name as the config writes it (e.g. `val_loss`).
    pub fn name(self) -> &'static str {
        match self {
            Monitor::ValLoss => "val_loss",
            Monitor::ValAccuracy => "val_accuracy",
            Monitor::ValF1 => "val_f1",
            Monitor::ValMse => "val_mse",
            Monitor::ValMae => "val_mae",
            Monitor::ValR2 => "val_r2",
        }
    }

    /// The direction in which the metric improves: up for accuracy, F1 and R², down for the loss
    /// and the errors.
    pub fn natural_direction(self) -> Direction {
        match self {
            Monitor::ValAccuracy | Monitor::ValF1 | Monitor::ValR2 => Direction::Maximize,
            Monitor::ValLoss | Monitor::ValMse | Monitor::ValMae => Direction::Minimize,
        }
    }

    /// Whether the metric exists for `task` (the loss exists for both).
    pub fn fits(self, task: anneal_data::Task) -> bool {
        use anneal_data::Task;
        match self {
            Monitor::ValLoss => true,
            Monitor::ValAccuracy | Monitor::ValF1 => task == Task::Classification,
            Monitor::ValMse | Monitor::ValMae | Monitor::ValR2 => task == Task::Regression,
        }
    }
}

/// What [`BestTracker::observe`] decided about one epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    /// This epoch is the new best (it beat the previous best by more than `min_delta`).
    pub improved: bool,
    /// Patience is used up: stop after this epoch.
    pub stop: bool,
}

/// Follows the best epoch of a run and counts the epochs since, to decide when to stop.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct BestTracker {
    mode: Direction,
    min_delta: f64,
    patience: Option<usize>,
    best: Option<(usize, f64)>,
    since_best: usize,
}

impl BestTracker {
    /// A tracker that has seen no epoch yet, judging as `config` says.
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
                Direction::Minimize => value < best - self.min_delta,
                Direction::Maximize => value > best + self.min_delta,
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
