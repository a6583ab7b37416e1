//! The run config: one TOML file names the data, the model, the loss and every training
//! setting. Unknown keys are errors; every default is filled in when the resolved config is
//! written next to the run's results.

use std::path::Path;

use anneal_data::{
    AugmentConfig, CsvSource, DataSource, Encoding, IdxSource, Impute, PreprocessStep, SplitConfig,
    TabularOptions, UnseenCategory,
};
use anneal_model::{LossConfig, ModelConfig};
use serde::{Deserialize, Serialize};

pub use crate::early_stopping::{DEFAULT_PATIENCE, EarlyStoppingConfig, Monitor};
use crate::error::{Result, TrainError};
pub use crate::optimizer_config::{AdamSettings, GradClip, OptimizerConfig};
use crate::optimizer_config::{fill_default_optimizer, validate_optimizer};
use crate::schedule::{LrSchedule, ScheduleKind};

/// A run config: the data, the model, the loss and the training settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// The run's folder name under the runs directory (default: the config file's stem).
    #[serde(default)]
    pub name: Option<String>,
    /// Where the samples come from and how they are prepared.
    pub data: DataConfig,
    /// The network to build.
    pub model: ModelConfig,
    /// Defaults to the task's usual loss: cross-entropy for classes, MSE for regression.
    #[serde(default)]
    pub loss: Option<LossConfig>,
    /// Training settings (every one has a default).
    #[serde(default)]
    pub train: TrainConfig,
}

/// Where the samples come from and how they are split, preprocessed and augmented.
/// Exactly one of `dataset`, `csv` and `idx` names the source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// A bundled dataset by name (`anneal datasets` lists them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<String>,
    /// A delimited table file (and optionally a separate test file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csv: Option<CsvSource>,
    /// IDX image and label files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idx: Option<IdxSource>,
    /// The fractions held out for validation and test, and the split's seed.
    #[serde(default)]
    pub split: SplitConfig,
    /// Steps fitted on the training split, in order.
    #[serde(default)]
    pub preprocess: Vec<PreprocessStep>,
    /// Augmentation of the training batches.
    #[serde(default)]
    pub augment: AugmentConfig,
    /// Regression only: train on z-scored targets (statistics from the training split) and report
    /// MSE / MAE / R² back in the original units. Keeps the output layer's scale near 1.
    #[serde(default = "yes")]
    pub standardize_target: bool,
    /// Train on the training and validation splits together (retraining a tuned config for its
    /// final test figures). The validation figures are then not held out, so run a fixed number
    /// of epochs rather than early-stopping on them.
    #[serde(default)]
    pub train_on_validation: bool,
    /// How missing cells of a CSV are filled from the training rows: `error` (the default),
    /// `mean`, `median` or `most_frequent`.
    #[serde(default)]
    pub impute: Impute,
    /// How text columns of a CSV become features: `one_hot` (the default) or `ordinal`.
    #[serde(default)]
    pub encoding: Encoding,
    /// A category the training rows never had: `error` (the default) or `zeros`.
    #[serde(default)]
    pub unseen_category: UnseenCategory,
}

fn yes() -> bool {
    true
}

impl DataConfig {
    /// The CSV settings (`impute`, `encoding`, `unseen_category`) as the data crate takes them.
    pub fn tabular_options(&self) -> TabularOptions {
        TabularOptions {
            impute: self.impute,
            encoding: self.encoding,
            unseen_category: self.unseen_category,
        }
    }

    /// Makes the data files' paths absolute, reading relative ones from `base` (the config
    /// file's folder), so the config means the same from any working directory.
    pub fn resolve_paths(&mut self, base: &Path) {
        let resolve = |path: &mut std::path::PathBuf| {
            if path.is_relative() {
                *path = absolute(&base.join(&*path));
            }
        };
        if let Some(csv) = &mut self.csv {
            resolve(&mut csv.path);
            csv.test_path.as_mut().map(resolve);
        }
        if let Some(idx) = &mut self.idx {
            resolve(&mut idx.train_images);
            resolve(&mut idx.train_labels);
            idx.test_images.as_mut().map(resolve);
            idx.test_labels.as_mut().map(resolve);
        }
    }

    /// Replaces each data file that does not exist on this host by `here`'s, where that one
    /// does: a paused trial continued on another host reads the data where this host has it.
    pub fn relocate_missing_files(&mut self, here: &DataConfig) {
        fn relocate(path: &mut std::path::PathBuf, here: &Path) {
            if !path.exists() && here.exists() {
                *path = here.to_path_buf();
            }
        }
        if let (Some(csv), Some(here)) = (&mut self.csv, &here.csv) {
            relocate(&mut csv.path, &here.path);
            if let (Some(test), Some(here)) = (&mut csv.test_path, &here.test_path) {
                relocate(test, here);
            }
        }
        if let (Some(idx), Some(here)) = (&mut self.idx, &here.idx) {
            relocate(&mut idx.train_images, &here.train_images);
            relocate(&mut idx.train_labels, &here.train_labels);
            if let (Some(p), Some(h)) = (&mut idx.test_images, &here.test_images) {
                relocate(p, h);
            }
            if let (Some(p), Some(h)) = (&mut idx.test_labels, &here.test_labels) {
                relocate(p, h);
            }
        }
    }

    /// The one data source the config names; an error when it names none or more than one.
    pub fn source(&self) -> Result<DataSource> {
        match (&self.dataset, &self.csv, &self.idx) {
            (Some(name), None, None) => Ok(DataSource::Bundled(name.clone())),
            (None, Some(csv), None) => Ok(DataSource::Csv(csv.clone())),
            (None, None, Some(idx)) => Ok(DataSource::Idx(idx.clone())),
            (None, None, None) => Err(TrainError::config(
                "data",
                "no data source: set `dataset` (a bundled dataset), `csv` or `idx`",
            )),
            _ => Err(TrainError::config(
                "data",
                "more than one data source: set exactly one of `dataset`, `csv` and `idx`",
            )),
        }
    }
}

/// How the model is trained: epochs and batches, optimizer, learning rate and schedule,
/// regularisation, clipping and early stopping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Epochs to train (early stopping may end the run sooner).
    pub epochs: usize,
    /// Training samples per batch.
    pub batch_size: usize,
    /// Seeds weight initialisation, dropout, shuffling and augmentation.
    pub seed: u64,
    /// The optimizer and its own settings.
    pub optimizer: OptimizerConfig,
    /// Base learning rate.
    pub lr: f64,
    /// How the learning rate changes over the run, after any warm-up.
    pub schedule: ScheduleKind,
    /// Linear warm-up length in epochs (fractions allowed), before the schedule takes over.
    pub warmup_epochs: f64,
    /// Weight decay: decoupled for AdamW; for SGD, Adam and RMSprop it is the classic coupled
    /// form (`weight_decay · w` added to every parameter's gradient, biases included).
    pub weight_decay: f64,
    /// `l1 · Σ|w|` added to the loss, over weight matrices and kernels (not biases or norms).
    pub l1: f64,
    /// `l2 · Σw²` added to the loss, over weight matrices and kernels (not biases or norms).
    pub l2: f64,
    /// Gradient clipping: `norm` rescales all gradients together when their global L2 norm
    /// exceeds it (PyTorch's `clip_grad_norm_`); `value` clamps every entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grad_clip: Option<GradClip>,
    /// The validation metric that picks the best epoch, and when to stop.
    pub early_stopping: EarlyStoppingConfig,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 10,
            batch_size: 64,
            seed: 0,
            optimizer: OptimizerConfig::default(),
            lr: 1e-3,
            schedule: ScheduleKind::Constant,
            warmup_epochs: 0.0,
            weight_decay: 0.0,
            l1: 0.0,
            l2: 0.0,
            grad_clip: None,
            early_stopping: EarlyStoppingConfig::default(),
        }
    }
}

impl TrainConfig {
    /// The learning-rate schedule these settings describe.
    pub fn lr_schedule(&self) -> LrSchedule {
        LrSchedule {
            lr: self.lr,
            schedule: self.schedule.clone(),
            warmup_epochs: self.warmup_epochs,
        }
    }
}

impl RunConfig {
    /// Reads a run config, applying `key=value` overrides (dotted paths into the TOML, values in
    /// TOML syntax, bare words taken as strings) before it is interpreted.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
        Self::parse(path, &text, overrides)
    }

    /// [`Self::load`] from text already read: `path` names the file in messages, and its folder is
    /// where relative data paths start.
    pub fn parse(path: &Path, text: &str, overrides: &[String]) -> Result<Self> {
        let parse_error = |message: String| TrainError::Parse {
            path: path.to_path_buf(),
            message,
        };
        let mut table: toml::Table =
            toml::from_str(text).map_err(|e| parse_error(e.to_string()))?;
        for item in overrides {
            apply_override(&mut table, item)?;
        }
        let filled = fill_default_optimizer(&mut table);
        if overrides.is_empty() && !filled {
            // Straight from the text, so errors point at the offending line.
            let mut config: Self = toml::from_str(text).map_err(|e| parse_error(e.to_string()))?;
            config.data.resolve_paths(config_folder(path));
            return Ok(config);
        }
        Self::from_table(path, table)
    }

    /// Interprets an already-assembled TOML table (a base config with values set on it, as the
    /// tuner builds one per trial).
    pub fn from_table(path: &Path, table: toml::Table) -> Result<Self> {
        Self::from_table_in(path, config_folder(path), table)
    }

    /// [`Self::from_table`] with relative data paths read from `base` rather than from the
    /// folder of `path` (which only names the config in messages).
    pub fn from_table_in(path: &Path, base: &Path, mut table: toml::Table) -> Result<Self> {
        fill_default_optimizer(&mut table);
        // The key path of a value that does not fit, since a table built in memory has no
        // line numbers to point at.
        let mut config: Self = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|e| {
                let key = e.path().to_string();
                let inner: toml::de::Error = e.into_inner();
                TrainError::Parse {
                    path: path.to_path_buf(),
                    message: if key == "." {
                        format!("{} (after --set overrides and defaults)", inner.message())
                    } else {
                        format!(
                            "{key}: {} (after --set overrides and defaults)",
                            inner.message()
                        )
                    },
                }
            })?;
        config.data.resolve_paths(base);
        Ok(config)
    }

    /// Checks everything that can be checked without the data; the rest (loss vs task, CNN vs
    /// image size, augmentation vs shape) is checked once the dataset is loaded, still before
    /// any training.
    pub fn validate(&self) -> Result<()> {
        self.data.source()?;
        self.data.split.validate()?;
        self.model.check()?;
        let t = &self.train;
        if t.epochs == 0 {
            return Err(TrainError::config("train.epochs", "must be at least 1"));
        }
        if t.batch_size == 0 {
            return Err(TrainError::config("train.batch_size", "must be at least 1"));
        }
        t.lr_schedule().validate()?;
        for (field, value) in [
            ("train.weight_decay", t.weight_decay),
            ("train.l1", t.l1),
            ("train.l2", t.l2),
            ("train.early_stopping.min_delta", t.early_stopping.min_delta),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(TrainError::config(
                    field,
                    format!("{value} must be a finite number ≥ 0"),
                ));
            }
        }
        if let Some(clip) = t.grad_clip {
            let (field, value) = match clip {
                GradClip::Norm(v) => ("train.grad_clip.norm", v),
                GradClip::Value(v) => ("train.grad_clip.value", v),
            };
            if !(value.is_finite() && value > 0.0) {
                return Err(TrainError::config(
                    field,
                    format!("{value} must be a finite number > 0"),
                ));
            }
        }
        if t.warmup_epochs >= t.epochs as f64 {
            return Err(TrainError::config(
                "train.warmup_epochs",
                format!(
                    "{} warm-up epochs leave nothing of the {} epochs for the schedule; use fewer",
                    t.warmup_epochs, t.epochs
                ),
            ));
        }
        if t.early_stopping.patience == Some(0) {
            return Err(TrainError::config(
                "train.early_stopping.patience",
                "must be at least 1 epoch (\"off\" trains every epoch)",
            ));
        }
        validate_optimizer(&t.optimizer)
    }
}

/// The folder a config file's relative paths start from.
fn config_folder(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new(""))
}

/// `path` made absolute against the working directory (left as it is if that cannot be known).
fn absolute(path: &Path) -> std::path::PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Sets `a.b.c=value` in a TOML table, creating intermediate tables.
pub fn apply_override(table: &mut toml::Table, item: &str) -> Result<()> {
    let (key, raw) = item.split_once('=').ok_or_else(|| {
        TrainError::config(
            "--set",
            format!("'{item}' is not key=value (e.g. train.lr=0.01)"),
        )
    })?;
    let key = key.trim();
    let raw = raw.trim();
    let parsed = toml::from_str::<toml::Table>(&format!("v = {raw}")).map(|mut t| t.remove("v"));
    let value = match parsed {
        Ok(Some(value)) => value,
        // A value that starts like TOML (a list, a table, a quoted string, a number, a
        // boolean) must be TOML; only bare words are taken as strings.
        Err(e) if looks_like_toml(raw) => {
            return Err(TrainError::config(
                "--set",
                format!(
                    "{key}: '{raw}' is not a valid TOML value ({})",
                    e.message().trim()
                ),
            ));
        }
        _ => toml::Value::String(raw.to_string()),
    };
    set_path(table, key, value)
}

/// Whether a `--set` value is written as TOML rather than as a bare word.
fn looks_like_toml(raw: &str) -> bool {
    raw.starts_with(['[', '{', '"', '\'', '+', '-', '.'])
        || raw.starts_with(|c: char| c.is_ascii_digit())
        || raw == "true"
        || raw == "false"
}

/// Sets the value at dotted path `key` (e.g. `train.optimizer.momentum`) in a TOML table,
/// creating intermediate tables.
pub fn set_path(table: &mut toml::Table, key: &str, value: toml::Value) -> Result<()> {
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(TrainError::config(
            "--set",
            format!("'{key}' is not a dotted key path"),
        ));
    }
    let mut current = table;
    for (i, part) in parts[..parts.len() - 1].iter().enumerate() {
        let entry = current
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = entry.as_table_mut().ok_or_else(|| {
            TrainError::config(
                "--set",
                format!(
                    "'{}' is a value, not a table, so '{key}' cannot be set",
                    parts[..=i].join(".")
                ),
            )
        })?;
    }
    current.insert(parts[parts.len() - 1].to_string(), value);
    Ok(())
}
