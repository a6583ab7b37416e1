//! From a run config to the three preprocessed sets a run trains and evaluates on, with every
//! data-dependent check done before training starts.

use anneal_data::formats::csv::{Delimiter, Header};
use anneal_data::manifest::SourceFormat;
use anneal_data::{
    Augmenter, Catalog, DataSource, DatasetInfo, Preprocessor, Samples, Splits, TabularData,
    TabularEncoder, Targets, Task, split,
};
use anneal_model::LossConfig;
use serde::{Deserialize, Serialize};

use crate::config::RunConfig;
use crate::error::{Result, TrainError};
use crate::evaluate::Scoring;
use crate::pipeline::{Inputs, PIPELINE_VERSION, Pipeline};

/// Regression targets are trained as `(y − mean) / std`; predictions are mapped back.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TargetScale {
    /// Mean of the training targets.
    pub mean: f32,
    /// Standard deviation of the training targets (1 when they are constant).
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

    /// Standardises the samples' regression targets in place (class targets are left alone).
    pub fn scale(&self, samples: &mut Samples) {
        if let Targets::Values(values) = &mut samples.targets {
            for v in values {
                *v = (*v - self.mean) / self.std;
            }
        }
    }

    /// Maps a standardised value back to the targets' own units.
    pub fn unscale(&self, value: f32) -> f32 {
        value * self.std + self.mean
    }
}

/// The data of one run, preprocessed; `info.shape` is the shape the model sees.
#[derive(Debug, Clone)]
pub struct PreparedData {
    /// The dataset's description, with the shape the model sees.
    pub info: DatasetInfo,
    /// The training split, preprocessed (with the validation split added when
    /// `train_on_validation` is on).
    pub train: Samples,
    /// The validation split, preprocessed.
    pub validation: Samples,
    /// The test split, preprocessed.
    pub test: Samples,
    /// The test set is the dataset's official one (MNIST, Fashion-MNIST) rather than held out.
    pub official_test: bool,
    /// Augmentation of the training batches, when the config asks for any.
    pub augmenter: Option<Augmenter>,
    /// What new inputs go through (and the loss and target scale): saved with the run for
    /// `anneal predict`.
    pub pipeline: Pipeline,
}

impl PreparedData {
    /// How many outputs the model has.
    pub fn num_outputs(&self) -> usize {
        self.pipeline.outputs
    }

    /// The loss the run trains with (the config's, or the task's usual one).
    pub fn loss(&self) -> &LossConfig {
        &self.pipeline.loss
    }

    /// What scoring the model's outputs needs (see [`Pipeline::scoring`]).
    pub fn scoring(&self) -> Scoring {
        self.pipeline.scoring()
    }
}

/// Loads and splits the data a config names, and says how its raw inputs are read.
fn load_splits(config: &RunConfig, catalog: &Catalog) -> Result<(Splits, Inputs)> {
    let data = &config.data;
    match data.source()? {
        DataSource::Csv(csv) => {
            let (splits, encoder) = TabularData::read(&csv)?.split(
                &data.split,
                &data.tabular_options(),
                data.train_on_validation,
            )?;
            let inputs = Inputs::Table {
                delimiter: csv.delimiter,
                header: csv.header,
                encoder,
                class_ids: false,
            };
            Ok((splits, inputs))
        }
        source => {
            let table = match &source {
                DataSource::Bundled(name) => {
                    matches!(catalog.manifest(name)?.source, SourceFormat::Csv { .. })
                }
                _ => false,
            };
            let splits = split(catalog.load_source(&source)?, &data.split)?;
            // A bundled table has plain numbers and no header names: new rows for it come as a
            // comma-separated file with a header line, features in order, target last if given.
            let inputs = if table {
                let features = splits.info.feature_len();
                Inputs::Table {
                    delimiter: Delimiter::Comma,
                    header: Header::Names,
                    encoder: TabularEncoder::numeric(features, features),
                    class_ids: true,
                }
            } else {
                Inputs::Images
            };
            Ok((splits, inputs))
        }
    }
}

/// Loads, splits and preprocesses the data, and checks the loss, model and augmentation
/// against it, so a bad config fails here and not in the middle of training.
pub fn prepare(config: &RunConfig, catalog: &Catalog) -> Result<PreparedData> {
    config.validate()?;
    let (mut splits, inputs) = load_splits(config, catalog)?;
    if config.data.train_on_validation {
        splits.train = splits.train.concat(&splits.validation);
    }
    let preprocessor = Preprocessor::fit(&config.data.preprocess, &splits.train)?;
    let raw_shape = splits.train.shape.clone();
    let model_shape = preprocessor.output_shape(&raw_shape);
    let info = DatasetInfo {
        shape: model_shape.clone(),
        ..splits.info
    };
    let target_scale = match (&splits.train.targets, config.data.standardize_target) {
        (Targets::Values(values), true) => Some(TargetScale::fit(values)),
        _ => None,
    };
    let loss = config
        .loss
        .clone()
        .unwrap_or_else(|| LossConfig::default_for(info.task));
    loss.validate(&info)?;
    let pipeline = Pipeline {
        version: PIPELINE_VERSION,
        dataset: info.name.clone(),
        task: info.task,
        class_names: info.class_names.clone(),
        inputs,
        raw_shape,
        preprocessor,
        model_shape,
        outputs: loss.outputs(&info),
        loss,
        target_scale,
    };
    let train = pipeline.transform(&splits.train);
    let validation = pipeline.transform(&splits.validation);
    let test = pipeline.transform(&splits.test);
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
        augmenter,
        pipeline,
    })
}
