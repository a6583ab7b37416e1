//! Training losses. Each takes the network's logits and the batch targets and returns the mean
//! loss over the batch as a one-element tensor.

use anneal_data::{BatchTargets, DatasetInfo, Task};
use burn::tensor::activation::{log_softmax, relu, softmax, softplus};
use burn::tensor::{Int, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::{ConfigError, Result};

/// Which loss to train with (`loss.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    /// Softmax cross-entropy, with optional label smoothing (PyTorch's convention: the target
    /// is `(1 − ε)·one_hot + ε / K`).
    CrossEntropy,
    /// Mean squared error: against the target value (regression), or between the softmax
    /// probabilities and the one-hot target (classification), averaged over classes.
    Mse,
    /// Multi-class hinge, Weston–Watkins form: `Σ_{j≠y} max(0, 1 + z_j − z_y)` per sample.
    Hinge,
    /// Binary cross-entropy on one logit (two-class datasets only).
    Bce,
}

impl LossKind {
    /// Every loss kind.
    pub const ALL: [LossKind; 4] = [
        LossKind::CrossEntropy,
        LossKind::Mse,
        LossKind::Hinge,
        LossKind::Bce,
    ];

    /// The name configs and messages use, e.g. `cross_entropy`.
    pub fn name(self) -> &'static str {
        match self {
            LossKind::CrossEntropy => "cross_entropy",
            LossKind::Mse => "mse",
            LossKind::Hinge => "hinge",
            LossKind::Bce => "bce",
        }
    }

    fn fits(self, info: &DatasetInfo) -> bool {
        match (self, info.task) {
            (LossKind::Mse, _) => true,
            (LossKind::CrossEntropy | LossKind::Hinge, Task::Classification) => true,
            (LossKind::Bce, Task::Classification) => info.num_classes() == 2,
            _ => false,
        }
    }
}

/// The training loss and its settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LossConfig {
    /// Which loss.
    pub kind: LossKind,
    /// ε in [0, 1); cross-entropy only.
    pub label_smoothing: f64,
}

impl Default for LossConfig {
    fn default() -> Self {
        Self {
            kind: LossKind::CrossEntropy,
            label_smoothing: 0.0,
        }
    }
}

impl LossConfig {
    /// The usual loss for a task: cross-entropy for classification, MSE for regression.
    pub fn default_for(task: Task) -> Self {
        Self {
            kind: match task {
                Task::Classification => LossKind::CrossEntropy,
                Task::Regression => LossKind::Mse,
            },
            label_smoothing: 0.0,
        }
    }

    /// Checks that the loss fits the dataset's task.
    pub fn validate(&self, info: &DatasetInfo) -> Result<()> {
        if !self.kind.fits(info) {
            let fitting: Vec<&str> = LossKind::ALL
                .iter()
                .filter(|k| k.fits(info))
                .map(|k| k.name())
                .collect();
            return Err(ConfigError::new(
                "loss.kind",
                format!(
                    "{} does not fit {} ({}{}); losses that fit: {}",
                    self.kind.name(),
                    info.name,
                    info.task,
                    if info.task == Task::Classification {
                        format!(", {} classes", info.num_classes())
                    } else {
                        String::new()
                    },
                    fitting.join(", ")
                ),
            ));
        }
        if !(0.0..1.0).contains(&self.label_smoothing) {
            return Err(ConfigError::new(
                "loss.label_smoothing",
                format!("{} is not in [0, 1)", self.label_smoothing),
            ));
        }
        if self.label_smoothing > 0.0 && self.kind != LossKind::CrossEntropy {
            return Err(ConfigError::new(
                "loss.label_smoothing",
                format!(
                    "label smoothing applies to cross_entropy only, not {}",
                    self.kind.name()
                ),
            ));
        }
        Ok(())
    }

    /// Outputs the network needs: one logit for BCE, else one per class (or 1 for regression).
    pub fn outputs(&self, info: &DatasetInfo) -> usize {
        match (self.kind, info.task) {
            (LossKind::Bce, _) | (_, Task::Regression) => 1,
            (_, Task::Classification) => info.num_classes(),
        }
    }

    /// Mean loss over the batch, as a one-element tensor.
    pub fn compute(&self, logits: Tensor<2>, targets: &BatchTargets) -> Tensor<1> {
        match targets {
            BatchTargets::Values(y) => (logits - y.clone()).square().mean(),
            BatchTargets::Classes(classes) => self.classification(logits, classes.clone()),
        }
    }

    fn classification(&self, logits: Tensor<2>, classes: Tensor<1, Int>) -> Tensor<1> {
        let [batch, k] = logits.dims();
        match self.kind {
            LossKind::Bce => {
                let y = classes.float().reshape([batch, 1]);
                // log(1 + e^z) − y·z: the numerically stable form of −[y log σ(z) + (1−y) log(1−σ(z))].
                (softplus(logits.clone(), 1.0) - y * logits).mean()
            }
            kind => {
                let one_hot: Tensor<2> = classes.one_hot::<2>(k).float();
                match kind {
                    LossKind::CrossEntropy => {
                        let eps = self.label_smoothing;
                        let target = one_hot * (1.0 - eps) + eps / k as f64;
                        (target * log_softmax(logits, 1)).sum_dim(1).mean().neg()
                    }
                    LossKind::Mse => (softmax(logits, 1) - one_hot).square().mean(),
                    LossKind::Hinge => {
                        let true_score = (logits.clone() * one_hot.clone()).sum_dim(1);
                        let margins = relu(logits - true_score + 1.0) * (one_hot.neg() + 1.0);
                        margins.sum_dim(1).mean()
                    }
                    LossKind::Bce => unreachable!("handled above"),
                }
            }
        }
    }
}

/// Predicted classes from logits: arg-max, or `logit > 0` for a single BCE logit.
pub fn predict_classes(logits: Tensor<2>) -> Tensor<1, Int> {
    let [batch, outputs] = logits.dims();
    if outputs == 1 {
        logits.greater_elem(0.0).int().reshape([batch])
    } else {
        logits.argmax(1).reshape([batch])
    }
}
