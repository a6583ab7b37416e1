//! The training objective: a trial's parameters set into the base run config, the model
//! trained into its own run folder, each epoch's validation metric reported to the study. A
//! trial paused at a successive-halving rung keeps its training state in its folder and
//! continues from there when promoted.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use anneal_data::Catalog;
use anneal_train::config::{Monitor, set_path};
use anneal_train::{
    Control, EpochRecord, Observer, RunConfig, RunStatus, RunTarget, Summary, resume_recorded,
    run_recorded,
};
use anneal_tune::{
    Assignment, BoxError, Objective, Trial, TrialRecord, TrialState, TuneError, Values,
};
use burn::tensor::Device;

use crate::file::{Sweep, SweepObjective};
use crate::metrics::{Constraint, TrialMetric};

/// Where training trials run.
pub struct TrainingContext<'a> {
    /// The datasets.
    pub catalog: &'a Catalog,
    /// The compute device.
    pub device: &'a Device,
    /// The backend's name for run summaries.
    pub backend: &'a str,
}

impl TrainingContext<'_> {
    /// The run folder `root/name` on this context's data and device.
    pub fn target<'t>(&'t self, root: &'t Path, name: &'t str) -> RunTarget<'t> {
        RunTarget {
            catalog: self.catalog,
            runs_root: root,
            name,
            device: self.device,
            backend: self.backend,
        }
    }
}

/// Trains a sweep's base config per trial.
pub struct TrainingObjective<'a> {
    sweep: &'a Sweep,
    context: &'a TrainingContext<'a>,
}

impl<'a> TrainingObjective<'a> {
    /// The objective of a training sweep.
    pub fn new(sweep: &'a Sweep, context: &'a TrainingContext<'a>) -> Self {
        Self { sweep, context }
    }
}

impl Objective for TrainingObjective<'_> {
    fn can_pause(&self) -> bool {
        true
    }

    fn evaluate(&mut self, trial: &mut Trial) -> Result<Values, BoxError> {
        let SweepObjective::Training {
            base_path,
            base,
            metrics,
        } = &self.sweep.objective
        else {
            return Err("the training objective needs a sweep with a base run config".into());
        };
        let resumed = trial.resumed_from().is_some();
        let (root, name, config) = if resumed {
            let (root, name) = paused_folder(trial.run_dir())?;
            (root, name, None)
        } else {
            let params = trial.suggest_space(&self.sweep.space)?;
            let root = self.sweep.runs_root();
            let name = anneal_train::free_run_name(&root, &format!("trial-{}", trial.number()));
            // Absolute, so `anneal study` finds the folder from any working directory.
            let folder = std::path::absolute(root.join(&name))?;
            trial.set_run_dir(Some(&folder.to_string_lossy()))?;
            let config = trial_config(base_path, base, &params, trial.seed())?;
            (root, name, Some(config))
        };
        let target = self.context.target(&root, &name);
        // Each epoch's figure of the first objective, when it is a validation metric: what the
        // pruner judges and the report's learning curves show.
        let reported = match metrics[0] {
            TrialMetric::Validation(monitor) => Some(monitor),
            _ => None,
        };
        let mut reporter = Reporter {
            trial,
            metric: reported,
            failure: None,
            stopped: None,
            epochs: usize::MAX,
            interrupted: false,
        };
        let ran = match &config {
            Some(config) => run_recorded(config, &target, &mut reporter),
            None => {
                // The data files as this host has them, for a trial paused on another host.
                let here = trial_config(
                    base_path,
                    base,
                    reporter.trial.params(),
                    reporter.trial.seed(),
                )
                .ok();
                resume_recorded(&target, &mut reporter, here.as_ref().map(|c| &c.data))
            }
        };
        let (_, summary) = match ran {
            Ok(ran) => ran,
            Err(error) => {
                // A run refused before its folder was made (a config the data rejects, a
                // model too large) has no folder to point at.
                if !root.join(&name).exists() {
                    trial.set_run_dir(None)?;
                }
                return Err(error.into());
            }
        };
        if let Some(failure) = reporter.failure {
            return Err(failure.into());
        }
        if reporter.interrupted {
            return Err(TuneError::Interrupted.into());
        }
        let stopped = reporter.stopped;
        match (summary.status.clone(), stopped) {
            (RunStatus::Paused { epoch }, _) => Err(TuneError::Paused { step: epoch }.into()),
            (status, _) if !status.is_success() => Err(summary.message.into()),
            (_, Some(step)) => Err(TuneError::Pruned { step }.into()),
            (_, None) => {
                let values = metrics
                    .iter()
                    .map(|&metric| match metric {
                        TrialMetric::Validation(monitor) if Some(monitor) == reported => {
                            kept_value(trial, &summary, monitor)
                        }
                        _ => metric.of(&summary).ok_or_else(|| {
                            format!("the trial's run has no {}", metric.name()).into()
                        }),
                    })
                    .collect::<Result<Vec<f64>, BoxError>>()?;
                let constraints = Constraint::values_of(&self.sweep.constraints, |name| {
                    name.parse::<TrialMetric>().ok()?.of(&summary)
                })?;
                if !constraints.is_empty() {
                    trial.set_constraints(&constraints)?;
                }
                Ok(Values::from(values))
            }
        }
    }

    /// A continuation whose process died goes back to the pause its run folder still holds.
    fn paused_at(&self, trial: &TrialRecord) -> Option<usize> {
        let folder = std::path::Path::new(trial.run_dir.as_deref()?);
        anneal_train::resume::read_state(&folder.join(anneal_train::resume::RESUME_DIR))
            .ok()
            .flatten()
            .map(|paused| paused.epoch)
    }

    fn discard_paused(&mut self, trial: &TrialRecord) {
        end_paused_run(self.context, trial);
    }

    /// Repairs what a killed process left, from what the study says: a pruned trial whose
    /// folder still holds its saved state (killed before or while its folder was ended) is
    /// ended again, and half-written files (`*.partial`) and half-removed ones (`*.discarded`)
    /// of finished trials are removed.
    fn tidy(&mut self, trials: &[TrialRecord]) {
        for trial in trials.iter().filter(|t| t.state.is_finished()) {
            let Ok((root, name)) = paused_folder(trial.run_dir.as_deref()) else {
                continue;
            };
            let folder = root.join(&name);
            let unended = || trial.state == TrialState::Pruned && holds_saved_state(&folder);
            // Most folders need nothing: only those that do are locked (and looked at again
            // under the lock, as a folder another process is ending right now is its business).
            if !unended() && leftovers(&folder).is_empty() {
                continue;
            }
            with_folder_lock(&folder, |folder| {
                if unended() {
                    end_locked(self.context, trial, &root, &name);
                }
                remove_leftovers(folder);
            });
        }
    }
}

/// A finished trial's value: its metric at the epoch whose weights it keeps (the best epoch by
/// the config's early-stopping monitor when it restores the best weights, else the last), so
/// the value and the saved model agree.
fn kept_value(trial: &Trial, summary: &Summary, metric: Monitor) -> Result<f64, BoxError> {
    let kept = match (summary.restored_best, summary.best_epoch) {
        (true, Some(best)) => best,
        _ => summary.epochs_run,
    };
    trial
        .reported()
        .iter()
        .find(|(epoch, _)| *epoch == kept)
        .map(|(_, v)| *v)
        .or_else(|| summary.validation.as_ref()?.monitored(metric))
        .ok_or_else(|| {
            format!(
                "the trial has no {} at its kept epoch {kept}",
                metric.name()
            )
            .into()
        })
}

/// A training trial's run config: the base with the trial's seed and parameters set.
pub fn trial_config(
    base_path: &Path,
    base: &toml::Table,
    params: &Assignment,
    seed: u64,
) -> Result<RunConfig, String> {
    let mut table = base.clone();
    let params: Vec<(&String, toml::Value)> = params
        .iter()
        .map(|(name, value)| {
            serde_json::from_value::<toml::Value>(value.clone())
                .map(|v| (name, v))
                .map_err(|e| format!("parameter '{name}' = {value} has no TOML form: {e}"))
        })
        .collect::<Result<_, _>>()?;
    // Another kind (of model, optimizer, schedule...) starts its table afresh: the base's keys
    // for its own kind (an MLP's depth and units, SGD's momentum) do not apply to the other.
    for (name, kind) in &params {
        let Some(path) = name.strip_suffix(".kind") else {
            continue;
        };
        let base_kind = lookup_path(&table, path).and_then(|t| t.get("kind"));
        if base_kind != Some(kind) {
            set_path(&mut table, path, toml::Value::Table(toml::Table::new()))
                .map_err(|e| e.to_string())?;
        }
    }
    set_path(&mut table, "train.seed", toml::Value::Integer(seed as i64))
        .map_err(|e| e.to_string())?;
    for (name, value) in params {
        set_path(&mut table, name, value).map_err(|e| e.to_string())?;
    }
    RunConfig::from_table(base_path, table).map_err(|e| e.to_string())
}

/// The table at a dotted path, if there is one.
fn lookup_path<'t>(table: &'t toml::Table, path: &str) -> Option<&'t toml::Table> {
    path.split('.')
        .try_fold(table, |table, key| table.get(key)?.as_table())
}

/// A paused trial's run folder as (runs root, run name): its own folder, wherever the study's
/// runs were when it started.
pub(crate) fn paused_folder(run_dir: Option<&str>) -> Result<(PathBuf, String), String> {
    let folder = PathBuf::from(run_dir.ok_or("a paused trial without a run folder")?);
    let name = folder
        .file_name()
        .ok_or("a run folder without a name")?
        .to_string_lossy()
        .into_owned();
    Ok((
        folder.parent().unwrap_or(Path::new(".")).to_path_buf(),
        name,
    ))
}

/// What interrupted writes left in a run folder: files and folders whose name holds
/// `.partial` (a write is made beside its target and renamed into place) or ends `.discarded`
/// (a saved state is renamed so before it is removed).
fn leftovers(folder: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name.contains(".partial") || name.ends_with(".discarded")
        })
        .map(|entry| entry.path())
        .collect()
}

/// Deletes a run folder's [`leftovers`].
fn remove_leftovers(folder: &Path) {
    for path in leftovers(folder) {
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        if let Err(e) = removed {
            tracing::warn!("cannot remove {}: {e}", path.display());
        }
    }
}

/// Ends a pruned paused trial's run folder like any pruned run's (checkpoint, test metrics,
/// summary "stopped after epoch N"), so `anneal eval` and reports treat both alike; its saved
/// state is deleted either way, and a failure (even a panic) is only a warning.
fn end_paused_run(context: &TrainingContext, trial: &TrialRecord) {
    let Ok((root, name)) = paused_folder(trial.run_dir.as_deref()) else {
        return;
    };
    with_folder_lock(&root.join(&name), |folder| {
        if holds_saved_state(folder) {
            end_locked(context, trial, &root, &name);
        }
    });
}

/// Runs `work` on a finished trial's run folder unless another process is at it. The study
/// records a trial pruned before its folder is ended, so another process's `tidy` may find
/// the folder still holding its state (or a half-written checkpoint) while the settling
/// process ends it: one process works on a folder at a time, under a lock the system drops
/// with a dead process.
fn with_folder_lock(folder: &Path, work: impl FnOnce(&Path)) {
    let lock_path = folder.join(ENDING_LOCK);
    let Ok(lock) = std::fs::File::create(&lock_path) else {
        return;
    };
    if lock.try_lock().is_err() {
        return;
    }
    work(folder);
    let _ = std::fs::remove_file(&lock_path);
}

/// Whether a run folder still holds a paused run's saved state.
fn holds_saved_state(folder: &Path) -> bool {
    anneal_train::resume::read_state(&folder.join(anneal_train::resume::RESUME_DIR))
        .is_ok_and(|state| state.is_some())
}

/// While a run folder is being ended or tidied, the process at it holds a lock on this file.
const ENDING_LOCK: &str = ".ending.lock";

/// [`end_paused_run`] under its lock.
fn end_locked(context: &TrainingContext, trial: &TrialRecord, root: &Path, name: &str) {
    let ended = catch_unwind(AssertUnwindSafe(|| {
        anneal_train::stop_paused(&context.target(root, name))
            .map(drop)
            .map_err(|e| e.to_string())
    }))
    .unwrap_or_else(|_| Err("panicked while ending the run".into()));
    if let Err(e) = ended {
        tracing::warn!("trial {}: {e}", trial.number);
        let state_dir = root.join(name).join(anneal_train::resume::RESUME_DIR);
        if let Err(e) = anneal_train::resume::discard(&state_dir) {
            tracing::warn!("{e}");
        }
    }
}

/// Reports each epoch's metric to the trial as it trains, and stops or pauses the run as the
/// pruner says.
struct Reporter<'t, 's> {
    trial: &'t mut Trial<'s>,
    /// The validation metric reported each epoch, if any.
    metric: Option<Monitor>,
    failure: Option<String>,
    /// The epoch the pruner stopped the run at.
    stopped: Option<usize>,
    /// The trial's epoch budget: its last epoch ends the trial, it is never a pruning point.
    epochs: usize,
    /// The user stopped the sweep (Ctrl-C): the run ended after its current epoch.
    interrupted: bool,
}

impl Observer for Reporter<'_, '_> {
    fn epoch_started(&mut self, _epoch: usize, epochs: usize, _batches: usize) {
        self.epochs = epochs;
    }

    fn epoch_finished(
        &mut self,
        record: &EpochRecord,
        _: Option<&anneal_model::Model>,
    ) -> anneal_train::Result<Control> {
        let Some(value) = self
            .metric
            .and_then(|metric| record.validation.monitored(metric))
        else {
            return Ok(Control::Continue);
        };
        let verdict = if record.epoch < self.epochs {
            self.trial.report(record.epoch, value)
        } else {
            self.trial.record(record.epoch, value)
        };
        Ok(match verdict {
            // Ctrl-C is noticed between epochs: the run stops with this epoch recorded.
            Ok(()) if crate::signals::interrupted() && record.epoch < self.epochs => {
                self.interrupted = true;
                Control::Stop
            }
            Ok(()) => Control::Continue,
            Err(TuneError::Pruned { step }) => {
                self.stopped = Some(step);
                Control::Stop
            }
            Err(TuneError::Paused { .. }) => Control::Pause,
            // Another process holds the trial now (and maybe its folder): stop writing at once.
            Err(e @ TuneError::LeaseLost { .. }) => {
                return Err(anneal_train::TrainError::Abandoned(e.to_string()));
            }
            Err(e) => {
                self.failure = Some(e.to_string());
                Control::Stop
            }
        })
    }
}
