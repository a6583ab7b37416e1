//! A whole recorded run: prepare the data, create the run folder, train while recording every
//! epoch, then evaluate on the test set and write the summary and curves. Also the reverse:
//! reload a finished run and re-evaluate its checkpoint.

use std::path::Path;
use std::time::Instant;

use anneal_data::Catalog;
use anneal_model::{DataShape, Model};
use burn::tensor::Device;

use crate::config::RunConfig;
use crate::error::{Result, TrainError};
use crate::evaluate::{Evaluation, evaluate};
use crate::plot::plot_curves;
use crate::prepare::{PreparedData, prepare};
use crate::run_dir::{CURVES_FILE, MetricsWriter, RunDir, RunRecorder, Summary};
use crate::trainer::{Control, EpochRecord, Observer, train};

/// Where and how a run executes.
pub struct RunTarget<'a> {
    pub catalog: &'a Catalog,
    pub runs_root: &'a Path,
    pub name: &'a str,
    pub device: &'a Device,
    /// The backend's name for the summary (e.g. "flex", "wgpu").
    pub backend: &'a str,
}

/// Batch size for evaluation passes: no gradients are kept, so larger batches are cheap.
fn eval_batch(config: &RunConfig) -> usize {
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
    resolved.loss = Some(data.loss.clone());

    let run = RunDir::create(target.runs_root, target.name)?;
    run.write_config(&resolved)?;
    let mut recorder = RunRecorder {
        run: &run,
        metrics: MetricsWriter::create(&run, data.info.num_classes() > 0)?,
        checkpoint_best: config.train.early_stopping.restore_best,
    };
    let outcome = train(
        &resolved,
        &data,
        target.device,
        &mut Both(&mut recorder, observer),
    )?;

    let (validation, test) = if outcome.status.is_success() {
        run.save_checkpoint(&outcome.model)?;
        let batch = eval_batch(config);
        (
            Some(evaluate(
                &outcome.model,
                &data.validation,
                &data,
                batch,
                target.device,
            )),
            Some(evaluate(
                &outcome.model,
                &data.test,
                &data,
                batch,
                target.device,
            )),
        )
    } else {
        (None, None)
    };
    let title = format!("{} on {}", target.name, data.info.name);
    plot_curves(&outcome.history, &title, &run.file(CURVES_FILE))?;
    let es = &config.train.early_stopping;
    let summary = Summary {
        name: target.name.to_string(),
        message: outcome.status.describe(),
        status: outcome.status,
        dataset: data.info.name.clone(),
        class_names: data.info.class_names.clone(),
        backend: target.backend.to_string(),
        epochs_run: outcome.history.len(),
        best_epoch: outcome.best.map(|b| b.0),
        monitor: format!("{} ({:?})", es.monitor.name(), es.mode()).to_lowercase(),
        best_value: outcome.best.map(|b| b.1),
        wall_seconds: started.elapsed().as_secs_f64(),
        train_seconds: outcome.train_seconds,
        train_samples_per_sec: outcome.samples_per_sec,
        parameter_count: outcome.parameter_count,
        train_samples: data.train.len(),
        validation_samples: data.validation.len(),
        test_samples: data.test.len(),
        official_test: data.official_test,
        validation,
        test,
    };
    run.write_summary(&summary)?;
    Ok((run, summary))
}

/// A finished run reloaded: its config, data and checkpointed model.
#[derive(Debug)]
pub struct LoadedRun {
    pub run: RunDir,
    pub config: RunConfig,
    pub data: PreparedData,
    pub model: Model,
    pub summary: Summary,
}

/// Reloads a run folder. The data is prepared again from the saved config (same split seed,
/// same preprocessing fitted on the same training split) and the checkpoint loaded into the
/// same architecture.
pub fn load_run(path: &Path, catalog: &Catalog, device: &Device) -> Result<LoadedRun> {
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
    let config = run.read_config()?;
    let data = prepare(&config, catalog)?;
    let shape = DataShape {
        input: data.info.shape.clone(),
        outputs: data.num_outputs(),
    };
    let skeleton = config.model.init(device, &shape)?;
    let model = run.load_checkpoint(skeleton)?;
    Ok(LoadedRun {
        run,
        config,
        data,
        model,
        summary,
    })
}

/// Test-set evaluation of a reloaded run.
pub fn evaluate_run(loaded: &LoadedRun, device: &Device) -> Evaluation {
    evaluate(
        &loaded.model,
        &loaded.data.test,
        &loaded.data,
        eval_batch(&loaded.config),
        device,
    )
}

/// Two observers in turn; the run stops if either asks.
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
        Ok(if a == Control::Stop || b == Control::Stop {
            Control::Stop
        } else {
            Control::Continue
        })
    }
}
