//! Early stopping: its config (what is monitored, in which direction, with what patience) and
//! the tracker that follows the best epoch and decides when to stop.

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
    pub monitor: Monitor,
    /// `min` or `max`; defaults to the monitor's natural direction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
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
    pub fn mode(&self) -> Mode {
        self.mode.unwrap_or_else(|| self.monitor.natural_mode())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Monitor {
    ValLoss,
    ValAccuracy,
    ValF1,
    ValMse,
    ValMae,
    ValR2,
}

impl Monitor {
    pub const ALL: [Monitor; 6] = [
        Monitor::ValLoss,
        Monitor::ValAccuracy,
        Monitor::ValF1,
        Monitor::ValMse,
        Monitor::ValMae,
        Monitor::ValR2,
    ];

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

    pub fn natural_mode(self) -> Mode {
        match self {
            Monitor::ValAccuracy | Monitor::ValF1 | Monitor::ValR2 => Mode::Max,
            Monitor::ValLoss | Monitor::ValMse | Monitor::ValMae => Mode::Min,
        }
    }

    pub fn fits(self, task: anneal_data::Task) -> bool {
        use anneal_data::Task;
        match self {
            Monitor::ValLoss => true,
            Monitor::ValAccuracy | Monitor::ValF1 => task == Task::Classification,
            Monitor::ValMse | Monitor::ValMae | Monitor::ValR2 => task == Task::Regression,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Min,
    Max,
}

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
