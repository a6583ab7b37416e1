//! From a run config to the three preprocessed sets a run trains and evaluates on, with every
//! data-dependent check done before training starts.

use anneal_data::{Augmenter, Catalog, DatasetInfo, Preprocessor, Samples, Targets, Task, split};
use anneal_model::LossConfig;
use serde::{Deserialize, Serialize};

use crate::config::RunConfig;
use crate::error::{Result, TrainError};

/// Regression targets are trained as `(y − mean) / std`; predictions are mapped back.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TargetScale {
    pub mean: f32,
    pub std: f32,
}

impl TargetScale {
    fn fit(values: &[f32]) -> Self {
        let n = values.len().max(1) as f64;
        let mean = values.iter().map(|&v| v as f64).sum::<f64>() / n;
        let var = values
            .iter()
            .map(|&v| (v as f64 - mean).powi(2))
            .sum::<f64>()
            / n;
        let std = if var > 0.0 { var.sqrt() } else { 1.0 };
        Self {
            mean: mean as f32,
            std: std as f32,
        }
    }

    fn scale(&self, samples: &mut Samples) {
        if let Targets::Values(values) = &mut samples.targets {
            for v in values {
                *v = (*v - self.mean) / self.std;
            }
        }
    }

    pub fn unscale(&self, value: f32) -> f32 {
        value * self.std + self.mean
    }
}

/// The data of one run, preprocessed; `info.shape` is the shape the model sees.
#[derive(Debug, Clone)]
pub struct PreparedData {
    pub info: DatasetInfo,
    pub train: Samples,
    pub validation: Samples,
    pub test: Samples,
    /// The test set is the dataset's official one (MNIST, Fashion-MNIST) rather than held out.
    pub official_test: bool,
    pub target_scale: Option<TargetScale>,
    pub augmenter: Option<Augmenter>,
    pub loss: LossConfig,
}

impl PreparedData {
    pub fn num_outputs(&self) -> usize {
        self.loss.outputs(&self.info)
    }
}

/// Loads, splits and preprocesses the data, and checks the loss, model and augmentation
/// against it, so a bad config fails here and not in the middle of training.
pub fn prepare(config: &RunConfig, catalog: &Catalog) -> Result<PreparedData> {
    config.validate()?;
    let dataset = catalog.load_source(&config.data.source()?)?;
    let mut splits = split(dataset, &config.data.split)?;
    if config.data.train_on_validation {
        splits.train = splits.train.concat(&splits.validation);
    }
    let preprocessor = Preprocessor::fit(&config.data.preprocess, &splits.train)?;
    let mut train = preprocessor.apply(&splits.train);
    let mut validation = preprocessor.apply(&splits.validation);
    let mut test = preprocessor.apply(&splits.test);
    let info = DatasetInfo {
        shape: train.shape.clone(),
        ..splits.info
    };

    let target_scale = match (&train.targets, config.data.standardize_target) {
        (Targets::Values(values), true) => Some(TargetScale::fit(values)),
        _ => None,
    };
    if let Some(scale) = &target_scale {
        for set in [&mut train, &mut validation, &mut test] {
            scale.scale(set);
        }
    }

    let loss = config
        .loss
        .clone()
        .unwrap_or_else(|| LossConfig::default_for(info.task));
    loss.validate(&info)?;
    config.model.validate(&info)?;
    crate::memory::check_fits(config, &info)?;
    let monitor = config.train.early_stopping.monitor;
    if !monitor.fits(info.task) {
        let fitting: Vec<&str> = crate::config::Monitor::ALL
            .iter()
            .filter(|m| m.fits(info.task))
            .map(|m| m.name())
            .collect();
        return Err(TrainError::config(
            "train.early_stopping.monitor",
            format!(
                "{} does not apply to {} ({}); use one of: {}",
                monitor.name(),
                info.name,
                info.task,
                fitting.join(", ")
            ),
        ));
    }
    let augmenter = if config.data.augment.is_active() {
        Some(Augmenter::new(
            config.data.augment.clone(),
            &info,
            &info.shape,
        )?)
    } else {
        None
    };
    let batch_norm = match &config.model {
        anneal_model::ModelConfig::Mlp(m) => m.batch_norm,
        anneal_model::ModelConfig::Cnn(c) => c.batch_norm,
    };
    let batch_size = config.train.batch_size;
    if batch_norm && (batch_size == 1 || train.len() % batch_size == 1) {
        // A batch of one sample has no batch statistics (PyTorch refuses it too).
        return Err(TrainError::config(
            "train.batch_size",
            format!(
                "with batch_norm, {batch_size} leaves a batch of a single sample ({} training samples); choose another batch size",
                train.len()
            ),
        ));
    }
    if info.task == Task::Classification && validation.is_empty() {
        return Err(TrainError::config(
            "data.split.validation",
            "the validation split is empty; raise the fraction",
        ));
    }
    Ok(PreparedData {
        info,
        train,
        validation,
        test,
        official_test: splits.official_test,
        target_scale,
        augmenter,
        loss,
    })
}
