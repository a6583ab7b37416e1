//! Retraining a study's best trial on train + validation, as a final model.

use std::path::{Path, PathBuf};

use anneal_train::{RunConfig, RunDir, Summary, free_run_name, run_recorded};
use anneal_tune::Quiet;
use anneal_tune::TrialRecord;

use crate::error::{Result, SweepError};
use crate::training::TrainingContext;

/// A retrained model: where it went and its summary (with test figures).
#[derive(Debug)]
pub struct Retrained {
    /// The new run folder.
    pub folder: PathBuf,
    /// Epochs it trained (the trial's best epoch).
    pub epochs: usize,
    /// Its summary.
    pub summary: Summary,
}

/// Retrains `best`'s resolved config on train + validation for as many epochs as its best
/// epoch (no early stopping: there is no validation set left) into `<runs_root>/best-retrained`.
pub fn retrain_best(
    best: &TrialRecord,
    runs_root: &Path,
    context: &TrainingContext,
) -> Result<Retrained> {
    let folder = PathBuf::from(best.run_dir.as_ref().ok_or_else(|| {
        SweepError::config("trial", format!("trial {} has no run folder", best.number))
    })?);
    let summary = RunDir::open(&folder)?.read_summary()?;
    let epochs = summary.best_epoch.unwrap_or(summary.epochs_run).max(1);
    let overrides = [
        "data.train_on_validation=true".to_string(),
        format!("train.epochs={epochs}"),
        "train.early_stopping.restore_best=false".to_string(),
    ];
    let mut config = RunConfig::load(&folder.join("config.toml"), &overrides)?;
    config.train.early_stopping.patience = None;
    if config.train.warmup_epochs >= epochs as f64 {
        config.train.warmup_epochs = 0.0;
    }
    let name = free_run_name(runs_root, "best-retrained");
    let (_, summary) = run_recorded(&config, &context.target(runs_root, &name), &mut Quiet)?;
    Ok(Retrained {
        folder: runs_root.join(name),
        epochs,
        summary,
    })
}
