//! A whole recorded run: prepare the data, create the run folder, train while recording every
//! epoch, then evaluate on the test set and write the summary and curves. Also the reverse:
//! reload a finished run and re-evaluate its checkpoint.

use std::path::Path;
use std::time::{Duration, Instant};

use anneal_data::Catalog;
use anneal_model::{DataShape, Model};
use burn::tensor::Device;

use crate::config::{DataConfig, RunConfig};
use crate::error::{Result, TrainError};
use crate::evaluate::{Evaluation, evaluate};
use crate::inference::{self, InferenceCost, measure_latency};
use crate::pipeline::Pipeline;
use crate::plot::plot_curves;
use crate::prepare::{PreparedData, prepare};
use crate::resume::{self, RESUME_DIR};
use crate::run_dir::{CHECKPOINT_FILE, CURVES_FILE, MetricsWriter, RunDir, RunRecorder};
use crate::run_files::Summary;
use crate::trainer::{Control, EpochRecord, Observer, RunStatus, TrainOutcome, train_resumable};

/// Where and how a run executes.
pub struct RunTarget<'a> {
    /// The bundled datasets.
    pub catalog: &'a Catalog,
    /// The folder that holds the run folders.
    pub runs_root: &'a Path,
    /// The run's folder name under `runs_root`.
    pub name: &'a str,
    /// The device to train and evaluate on (training uses its autodiff wrapper).
    pub device: &'a Device,
    /// The backend's name for the summary (e.g. "flex", "wgpu").
    pub backend: &'a str,
}

/// Batch size for evaluation passes: no gradients are kept, so larger batches are cheap.
pub(crate) fn eval_batch(config: &RunConfig) -> usize {
    config.train.batch_size.max(256)
}

/// Trains `config` into a new run folder `runs_root/name`. Config and data errors come back
/// before the folder exists. A run that diverges still gets its folder and a `diverged`
/// summary; the caller decides the exit status from `summary.status`.
pub fn run_recorded(
    config: &RunConfig,
    target: &RunTarget,
    observer: &mut dyn Observer,
) -> Result<(RunDir, Summary)> {
    let started = Instant::now();
    let data = prepare(config, target.catalog)?;
    let mut resolved = config.clone();
    resolved.name = Some(target.name.to_string());
    resolved.loss = Some(data.loss().clone());
    let stopping = &mut resolved.train.early_stopping;
    stopping.mode = Some(stopping.mode());

    let run = RunDir::create(target.runs_root, target.name)?;
    finish_recorded(run, &resolved, &data, target, observer, started, None)
}

/// Continues the paused run in `runs_root/name` (see [`crate::resume`]) from the epoch after
/// its pause, appending to its metrics; it may pause again. The folder's own config is used;
/// `data_here` (the trial's config as this host would build it) supplies data files the folder's
/// config names where this host does not have them.
pub fn resume_recorded(
    target: &RunTarget,
    observer: &mut dyn Observer,
    data_here: Option<&DataConfig>,
) -> Result<(RunDir, Summary)> {
    crate::resume::pin_default_device(target.backend);
    let run = RunDir::open(&target.runs_root.join(target.name))?;
    // The wall time runs on from the segments before the pause (the paused summary has it),
    // not counting the time the run waited.
    let before = run.read_summary().map_or(0.0, |s| s.wall_seconds);
    let started = Instant::now()
        .checked_sub(Duration::try_from_secs_f64(before).unwrap_or_default())
        .unwrap_or_else(Instant::now);
    let mut config = run.read_config()?;
    if let Some(here) = data_here {
        config.data.relocate_missing_files(here);
    }
    let state_dir = run.file(RESUME_DIR);
    let paused = resume::read_state(&state_dir)?.ok_or_else(|| {
        TrainError::config(
            "run",
            format!(
                "{} is not paused: nothing to continue",
                run.path().display()
            ),
        )
    })?;
    let data = prepare(&config, target.catalog)?;
    finish_recorded(
        run,
        &config,
        &data,
        target,
        observer,
        started,
        Some(&paused.history),
    )
}

/// Ends the paused run in `runs_root/name` where it paused, without training further: like a
/// run stopped after that epoch, it gets its checkpoint (the best epoch's weights when
/// `restore_best` is on), validation and test metrics, summary and curves, and its saved
/// state is deleted.
pub fn stop_paused(target: &RunTarget) -> Result<(RunDir, Summary)> {
    struct StopAtOnce;
    impl Observer for StopAtOnce {
        fn resuming(&mut self, _epoch: usize) -> Control {
            Control::Stop
        }
    }
    resume_recorded(target, &mut StopAtOnce, None)
}

/// Trains into `run` (created, or reopened to continue when `paused_history` is given) and
/// writes the summary, marking the folder failed if anything goes wrong on the way.
fn finish_recorded(
    run: RunDir,
    resolved: &RunConfig,
    data: &PreparedData,
    target: &RunTarget,
    observer: &mut dyn Observer,
    started: Instant,
    paused_history: Option<&[EpochRecord]>,
) -> Result<(RunDir, Summary)> {
    match record(
        &run,
        resolved,
        data,
        target,
        observer,
        started,
        paused_history,
    ) {
        Ok(summary) => Ok((run, summary)),
        // The folder belongs to someone else now: leave it exactly as it is.
        Err(error @ TrainError::Abandoned(_)) => Err(error),
        Err(error) => {
            // Leave a failure marker, so the folder does not look like a run still going or
            // killed; what was recorded up to here (metrics, best checkpoint) stays.
            let status = RunStatus::Failed {
                error: error.to_string(),
            };
            let summary = summarize(resolved, data, target, status, started, None, None);
            if let Err(marker) = run.write_summary(&summary) {
                tracing::error!(
                    "could not mark {} as failed: {marker}",
                    run.path().display()
                );
            }
            Err(error)
        }
    }
}

fn record(
    run: &RunDir,
    config: &RunConfig,
    data: &PreparedData,
    target: &RunTarget,
    observer: &mut dyn Observer,
    started: Instant,
    paused_history: Option<&[EpochRecord]>,
) -> Result<Summary> {
    let classification = data.info.num_classes() > 0;
    let metrics = match paused_history {
        Some(history) => MetricsWriter::resume(run, classification, history)?,
        None => {
            run.write_config(config)?;
            run.write_pipeline(&data.pipeline)?;
            MetricsWriter::create(run, classification)?
        }
    };
    let mut recorder = RunRecorder {
        run,
        metrics,
        checkpoint_best: config.train.early_stopping.restore_best,
    };
    let state_dir = run.file(RESUME_DIR);
    let outcome = train_resumable(
        config,
        data,
        target.device,
        &mut Both(&mut recorder, observer),
        Some(&state_dir),
    )?;
    let inference = if outcome.status.is_success() {
        run.save_checkpoint(&outcome.model)?;
        inference_cost(run, &outcome.model, data, target.device)?
    } else {
        None
    };
    let title = format!("{} on {}", target.name, data.info.name);
    let history = outcome.history.clone();
    let summary = summarize(
        config,
        data,
        target,
        outcome.status.clone(),
        started,
        Some(&outcome),
        inference,
    );
    run.write_summary(&summary)?;
    // The saved state goes last: until the summary says how the run ended, the state is there,
    // so a kill at any point leaves a folder that ending it again repairs.
    if !matches!(outcome.status, RunStatus::Paused { .. }) {
        resume::discard(&state_dir)?;
    }
    // The curves are a convenience: a drawing failure must not turn a good run into a bad one.
    if let Err(e) = plot_curves(&history, &title, &run.file(CURVES_FILE)) {
        tracing::warn!("{e}");
    }
    Ok(summary)
}

/// The summary of a run; `outcome` is `None` when the run failed before training finished.
fn summarize(
    config: &RunConfig,
    data: &PreparedData,
    target: &RunTarget,
    status: RunStatus,
    started: Instant,
    outcome: Option<&TrainOutcome>,
    inference: Option<InferenceCost>,
) -> Summary {
    let es = &config.train.early_stopping;
    let evaluated = outcome.filter(|o| o.status.is_success()).map(|o| {
        let batch = eval_batch(config);
        (
            evaluate(
                &o.model,
                &data.validation,
                &data.scoring(),
                batch,
                target.device,
            ),
            evaluate(&o.model, &data.test, &data.scoring(), batch, target.device),
        )
    });
    let (validation, test) = match evaluated {
        Some((v, t)) => (Some(v), Some(t)),
        None => (None, None),
    };
    Summary {
        name: target.name.to_string(),
        message: status.describe(),
        status,
        dataset: data.info.name.clone(),
        task: Some(data.info.task),
        class_names: data.info.class_names.clone(),
        backend: target.backend.to_string(),
        epochs_run: outcome.map_or(0, |o| o.history.len()),
        best_epoch: outcome.and_then(|o| o.best.map(|b| b.0)),
        monitor: format!("{} ({})", es.monitor.name(), es.mode().name()),
        best_value: outcome.and_then(|o| o.best.map(|b| b.1)),
        restored_best: es.restore_best,
        wall_seconds: started.elapsed().as_secs_f64(),
        train_seconds: outcome.map_or(0.0, |o| o.train_seconds),
        train_samples_per_sec: outcome.map_or(0.0, |o| o.samples_per_sec),
        parameter_count: outcome.map_or(0, |o| o.parameter_count),
        train_samples: data.train.len(),
        validation_samples: data.validation.len(),
        test_samples: data.test.len(),
        official_test: data.official_test,
        validation,
        test,
        inference,
    }
}

/// The saved model's size and latency (see [`crate::inference`]), timed on the validation
/// samples (the test ones when there is no validation split).
fn inference_cost(
    run: &RunDir,
    model: &Model,
    data: &PreparedData,
    device: &Device,
) -> Result<Option<InferenceCost>> {
    let checkpoint = run.file(CHECKPOINT_FILE);
    let model_bytes = std::fs::metadata(&checkpoint)
        .map_err(|e| TrainError::io(&checkpoint, e))?
        .len();
    let samples = if data.validation.is_empty() {
        &data.test
    } else {
        &data.validation
    };
    Ok(
        measure_latency(model, samples, device).map(|(latency_ms, batch_latency_ms)| {
            InferenceCost {
                model_bytes,
                latency_ms,
                batch_latency_ms,
                batch_size: inference::BATCH,
            }
        }),
    )
}

/// A finished run reloaded: its config, data and checkpointed model.
#[derive(Debug)]
pub struct LoadedRun {
    /// The run's folder.
    pub run: RunDir,
    /// The run's resolved config.
    pub config: RunConfig,
    /// The run's data, prepared again from its config.
    pub data: PreparedData,
    /// The checkpointed model.
    pub model: Model,
    /// The run's summary.
    pub summary: Summary,
}

/// Reloads a run folder. The data is prepared again from the saved config (same split seed,
/// same preprocessing fitted on the same training split) and the checkpoint loaded into the
/// same architecture.
pub fn load_run(path: &Path, catalog: &Catalog, device: &Device) -> Result<LoadedRun> {
    let (run, summary) = finished_run(path)?;
    let config = run.read_config()?;
    let data = prepare(&config, catalog)?;
    let model = load_model(&run, &config, &data.pipeline, device)?;
    Ok(LoadedRun {
        run,
        config,
        data,
        model,
        summary,
    })
}

/// Opens a run folder whose run ended successfully, with its summary.
pub(crate) fn finished_run(path: &Path) -> Result<(RunDir, Summary)> {
    let run = RunDir::open(path)?;
    let summary = run.read_summary().map_err(|e| match e {
        TrainError::Io { path, .. } => TrainError::config(
            "run",
            format!(
                "{} has no summary: the run did not finish",
                path.parent().unwrap_or(&path).display()
            ),
        ),
        other => other,
    })?;
    if !summary.status.is_success() {
        return Err(TrainError::config(
            "run",
            format!(
                "{} did not succeed: {}",
                run.path().display(),
                summary.message
            ),
        ));
    }
    Ok((run, summary))
}

/// The run's checkpoint, loaded into the architecture its config and pipeline describe.
pub(crate) fn load_model(
    run: &RunDir,
    config: &RunConfig,
    pipeline: &Pipeline,
    device: &Device,
) -> Result<Model> {
    let shape = DataShape {
        input: pipeline.model_shape.clone(),
        outputs: pipeline.outputs,
    };
    let skeleton = {
        // Initial weights are overwritten by the checkpoint, but drawing them still uses the
        // shared generator a concurrent run may be relying on.
        let _rng = crate::trainer::rng_owner();
        config.model.init(device, &shape)?
    };
    run.load_checkpoint(skeleton)
}

/// Test-set evaluation of a reloaded run.
pub fn evaluate_run(loaded: &LoadedRun, device: &Device) -> Evaluation {
    evaluate(
        &loaded.model,
        &loaded.data.test,
        &loaded.data.scoring(),
        eval_batch(&loaded.config),
        device,
    )
}

/// Two observers in turn; the run stops if either asks, else pauses if either asks.
pub struct Both<'a, 'b>(pub &'a mut dyn Observer, pub &'b mut dyn Observer);

impl Observer for Both<'_, '_> {
    fn epoch_started(&mut self, epoch: usize, epochs: usize, batches: usize) {
        self.0.epoch_started(epoch, epochs, batches);
        self.1.epoch_started(epoch, epochs, batches);
    }

    fn batch_finished(&mut self, batch: usize, loss: f64, samples_per_sec: f64) {
        self.0.batch_finished(batch, loss, samples_per_sec);
        self.1.batch_finished(batch, loss, samples_per_sec);
    }

    fn epoch_finished(
        &mut self,
        record: &EpochRecord,
        new_best: Option<&Model>,
    ) -> Result<Control> {
        let a = self.0.epoch_finished(record, new_best)?;
        let b = self.1.epoch_finished(record, new_best)?;
        Ok(stricter(a, b))
    }

    fn resuming(&mut self, epoch: usize) -> Control {
        let a = self.0.resuming(epoch);
        let b = self.1.resuming(epoch);
        stricter(a, b)
    }
}

/// Stop over pause over continue.
fn stricter(a: Control, b: Control) -> Control {
    match (a, b) {
        (Control::Stop, _) | (_, Control::Stop) => Control::Stop,
        (Control::Pause, _) | (_, Control::Pause) => Control::Pause,
        _ => Control::Continue,
    }
}
