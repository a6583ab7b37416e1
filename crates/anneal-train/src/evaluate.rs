//! Evaluation of a model on a set of samples: mean loss and the task's metrics.

use anneal_data::{Loader, Samples, Targets};
use anneal_model::{LossConfig, Model, predict_classes};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::config::Monitor;
use crate::metrics::{ClassificationMetrics, RegressionMetrics};
use crate::prepare::TargetScale;

/// What scoring a model's outputs needs besides the samples: the loss, the number of classes,
/// and how regression targets were scaled for training.
#[derive(Debug, Clone, PartialEq)]
pub struct Scoring {
    /// The loss the outputs are scored with.
    pub loss: LossConfig,
    /// Number of classes (0 for regression).
    pub num_classes: usize,
    /// How regression targets were scaled for training; the metrics are reported unscaled.
    pub target_scale: Option<TargetScale>,
}

/// The metrics of the task at hand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TaskMetrics {
    /// Accuracy, macro F1, per-class scores and the confusion matrix.
    Classification(ClassificationMetrics),
    /// Mean squared error, mean absolute error and R².
    Regression(RegressionMetrics),
}

/// A model's mean loss and task metrics on a set of samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Mean loss per sample (on standardized targets for regression).
    pub loss: f64,
    /// The task's metrics.
    #[serde(flatten)]
    pub metrics: TaskMetrics,
}

impl Evaluation {
    /// The value an early-stopping monitor watches, or `None` when it does not apply.
    pub fn monitored(&self, monitor: Monitor) -> Option<f64> {
        match (&self.metrics, monitor) {
            (_, Monitor::ValLoss) => Some(self.loss),
            (TaskMetrics::Classification(m), Monitor::ValAccuracy) => Some(m.accuracy),
            (TaskMetrics::Classification(m), Monitor::ValF1) => Some(m.macro_f1),
            (TaskMetrics::Regression(m), Monitor::ValMse) => Some(m.mse),
            (TaskMetrics::Regression(m), Monitor::ValMae) => Some(m.mae),
            (TaskMetrics::Regression(m), Monitor::ValR2) => Some(m.r2),
            _ => None,
        }
    }

    /// The accuracy for classification, `None` for regression.
    pub fn accuracy(&self) -> Option<f64> {
        match &self.metrics {
            TaskMetrics::Classification(m) => Some(m.accuracy),
            TaskMetrics::Regression(_) => None,
        }
    }
}

/// Evaluates `model` (in evaluation mode, on `device`) on `samples` in batches.
pub fn evaluate(
    model: &Model,
    samples: &Samples,
    data: &Scoring,
    batch_size: usize,
    device: &Device,
) -> Evaluation {
    evaluate_batches(model, samples, data, batch_size, device, None)
}

/// [`evaluate`], also returning the model's raw outputs for every sample (row-major
/// `len × outputs`) from the same forward passes.
pub fn evaluate_with_outputs(
    model: &Model,
    samples: &Samples,
    data: &Scoring,
    batch_size: usize,
    device: &Device,
) -> (Evaluation, Vec<f32>) {
    let mut raw = Vec::new();
    let evaluation = evaluate_batches(model, samples, data, batch_size, device, Some(&mut raw));
    (evaluation, raw)
}

fn evaluate_batches(
    model: &Model,
    samples: &Samples,
    data: &Scoring,
    batch_size: usize,
    device: &Device,
    mut keep: Option<&mut Vec<f32>>,
) -> Evaluation {
    let mut loss_sum = 0.0f64;
    let mut outputs: Vec<f32> = Vec::with_capacity(samples.len());
    let mut classes: Vec<u32> = Vec::with_capacity(samples.len());
    for host in Loader::sequential(samples, batch_size.max(1)).epoch(0) {
        let batch = host.to_device(device);
        let logits = model.forward(batch.inputs.clone());
        let batch_loss: f32 = data
            .loss
            .compute(logits.clone(), &batch.targets)
            .into_scalar();
        loss_sum += batch_loss as f64 * host.len() as f64;
        if let Some(keep) = keep.as_deref_mut() {
            keep.extend(host_floats(logits.clone()));
        }
        match &host.targets {
            Targets::Classes(_) => classes.extend(
                predict_classes(logits)
                    .into_data()
                    .convert::<i64>()
                    .try_into_vec::<i64>()
                    .expect("class predictions are integers")
                    .into_iter()
                    .map(|c| c as u32),
            ),
            Targets::Values(_) => outputs.extend(host_floats(logits)),
        }
    }
    let metrics =
        match &samples.targets {
            Targets::Classes(actual) => TaskMetrics::Classification(
                ClassificationMetrics::compute(&classes, actual, data.num_classes),
            ),
            Targets::Values(actual) => {
                let unscale = |v: f32| data.target_scale.map_or(v, |s| s.unscale(v));
                let predicted: Vec<f32> = outputs.into_iter().map(unscale).collect();
                let actual: Vec<f32> = actual.iter().copied().map(unscale).collect();
                TaskMetrics::Regression(RegressionMetrics::compute(&predicted, &actual))
            }
        };
    Evaluation {
        loss: loss_sum / samples.len().max(1) as f64,
        metrics,
    }
}

/// The model's raw outputs for every sample, row-major `len × outputs`, computed in batches of
/// `batch_size` (the same batches [`evaluate`] uses, so the same numbers).
pub fn outputs(model: &Model, samples: &Samples, batch_size: usize, device: &Device) -> Vec<f32> {
    let mut all = Vec::new();
    for host in Loader::sequential(samples, batch_size.max(1)).epoch(0) {
        all.extend(host_floats(model.forward(host.to_device(device).inputs)));
    }
    all
}

fn host_floats(tensor: burn::tensor::Tensor<2>) -> Vec<f32> {
    tensor
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("outputs are floats")
}
