//! Everything fitted on a run's training data that new inputs must go through before the model
//! sees them, and that its outputs must go through before a user reads them: the column encoder
//! (categories, fill values), the preprocessing (standardisation, PCA) and the target scale.
//! Saved as `pipeline.json` in the run folder, so predicting needs neither the training data nor
//! a refit.

use anneal_data::formats::csv::{Delimiter, Header};
use anneal_data::{Preprocessor, Samples, TabularEncoder, Task};
use anneal_model::LossConfig;
use serde::{Deserialize, Serialize};

use crate::evaluate::Scoring;
use crate::prepare::TargetScale;

/// Bumped when the file's meaning changes, so an old anneal refuses a newer file clearly.
pub const PIPELINE_VERSION: u32 = 1;

/// A run's fitted input and output transformations: what `pipeline.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pipeline {
    /// The file's version ([`PIPELINE_VERSION`] when written).
    pub version: u32,
    /// The dataset's name.
    pub dataset: String,
    /// Classification or regression.
    pub task: Task,
    /// Class names in class-index order (empty for regression).
    pub class_names: Vec<String>,
    /// How raw inputs are read and encoded.
    pub inputs: Inputs,
    /// One sample's shape before preprocessing (`[features]`, or `[channels, height, width]`).
    pub raw_shape: Vec<usize>,
    /// The preprocessing fitted on the training data.
    pub preprocessor: Preprocessor,
    /// The shape the model takes, after preprocessing.
    pub model_shape: Vec<usize>,
    /// The loss the model was trained with.
    pub loss: LossConfig,
    /// How many outputs the model has.
    pub outputs: usize,
    /// How regression targets were standardised (`None` for classification, or when
    /// `standardize_target` is off).
    pub target_scale: Option<TargetScale>,
}

/// What the model was trained on, and so what it can predict from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Inputs {
    /// Rows of a delimited table, read as the training file was and encoded column by column.
    Table {
        /// The column delimiter.
        delimiter: Delimiter,
        /// The header line's layout: column names, none, or scikit-learn's.
        header: Header,
        /// Turns the table's cells into features, as fitted on the training rows.
        encoder: TabularEncoder,
        /// The target column holds class indices rather than names (the bundled tables).
        #[serde(default)]
        class_ids: bool,
    },
    /// Images from IDX files.
    Images,
}

impl Pipeline {
    /// Raw samples (features as read, targets in the data's own units) as the model sees them:
    /// preprocessed, with regression targets scaled as in training.
    pub fn transform(&self, raw: &Samples) -> Samples {
        let mut samples = self.preprocessor.apply(raw);
        if let Some(scale) = &self.target_scale {
            scale.scale(&mut samples);
        }
        samples
    }

    /// What scoring the model's outputs needs: the loss, class count and target scale.
    pub fn scoring(&self) -> Scoring {
        Scoring {
            loss: self.loss.clone(),
            num_classes: self.class_names.len(),
            target_scale: self.target_scale,
        }
    }
}
