//! The optimizer's settings in a run config (`train.optimizer`, `train.grad_clip`): which
//! optimizer and its own parameters, checked when the config is read.

use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};

/// The optimizer and its own settings; the learning rate and weight decay are in `train`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum OptimizerConfig {
    /// Stochastic gradient descent, with optional momentum.
    Sgd {
        /// Momentum factor in [0, 1); 0 turns momentum off.
        #[serde(default)]
        momentum: f64,
        /// Dampening of the momentum, in [0, 1); only with momentum.
        #[serde(default)]
        dampening: f64,
        /// Nesterov momentum (needs momentum > 0 and dampening 0).
        #[serde(default)]
        nesterov: bool,
    },
    /// Adam, with the coupled (L2) form of weight decay.
    Adam(AdamSettings),
    /// Adam with decoupled weight decay.
    #[serde(rename = "adamw")]
    AdamW(AdamSettings),
    /// RMSprop.
    #[serde(rename = "rmsprop")]
    RmsProp {
        /// Smoothing constant of the squared-gradient average, in [0, 1) (default 0.99).
        #[serde(default = "alpha")]
        alpha: f64,
        /// Momentum factor in [0, 1) (default 0).
        #[serde(default)]
        momentum: f64,
        /// Added to the denominator for numerical stability (default 1e-8).
        #[serde(default = "epsilon")]
        epsilon: f64,
        /// Centred RMSprop: normalise by an estimate of the gradient's variance.
        #[serde(default)]
        centered: bool,
    },
}

/// The moment estimates Adam and AdamW share.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdamSettings {
    /// Decay rate of the first-moment (mean) estimate, in [0, 1) (default 0.9).
    #[serde(default = "beta1")]
    pub beta1: f64,
    /// Decay rate of the second-moment estimate, in [0, 1) (default 0.999).
    #[serde(default = "beta2")]
    pub beta2: f64,
    /// Added to the denominator for numerical stability (default 1e-8).
    #[serde(default = "epsilon")]
    pub epsilon: f64,
    /// Use the AMSGrad variant (the running maximum of the second-moment estimate).
    #[serde(default)]
    pub amsgrad: bool,
}

impl Default for AdamSettings {
    fn default() -> Self {
        Self {
            beta1: beta1(),
            beta2: beta2(),
            epsilon: epsilon(),
            amsgrad: false,
        }
    }
}

fn beta1() -> f64 {
    0.9
}
fn beta2() -> f64 {
    0.999
}
fn epsilon() -> f64 {
    1e-8
}
fn alpha() -> f64 {
    0.99
}

impl Default for OptimizerConfig {
    fn default() -> Self {
        OptimizerConfig::Adam(AdamSettings::default())
    }
}

impl OptimizerConfig {
    /// The optimizer's `kind` as the config writes it.
    pub fn name(&self) -> &'static str {
        match self {
            OptimizerConfig::Sgd { .. } => "sgd",
            OptimizerConfig::Adam(_) => "adam",
            OptimizerConfig::AdamW(_) => "adamw",
            OptimizerConfig::RmsProp { .. } => "rmsprop",
        }
    }
}

/// `grad_clip = { norm = 1.0 }` or `grad_clip = { value = 0.5 }`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum GradClip {
    /// Rescale all gradients together when their global L2 norm exceeds this.
    Norm(f64),
    /// Clamp every gradient entry into `[-value, value]`.
    Value(f64),
}

/// Refuses optimizer settings out of their ranges, naming the field.
pub(crate) fn validate_optimizer(optimizer: &OptimizerConfig) -> Result<()> {
    let unit = |field: &str, value: f64, closed_low: bool| -> Result<()> {
        let ok = value < 1.0
            && if closed_low {
                value >= 0.0
            } else {
                value > 0.0
            };
        if ok {
            Ok(())
        } else {
            Err(TrainError::config(
                format!("train.optimizer.{field}"),
                format!(
                    "{value} is not in {}0, 1)",
                    if closed_low { "[" } else { "(" }
                ),
            ))
        }
    };
    let positive = |field: &str, value: f64| -> Result<()> {
        if value.is_finite() && value > 0.0 {
            Ok(())
        } else {
            Err(TrainError::config(
                format!("train.optimizer.{field}"),
                format!("{value} must be > 0"),
            ))
        }
    };
    match *optimizer {
        OptimizerConfig::Sgd {
            momentum,
            dampening,
            nesterov,
        } => {
            unit("momentum", momentum, true)?;
            unit("dampening", dampening, true)?;
            if momentum == 0.0 && dampening != 0.0 {
                return Err(TrainError::config(
                    "train.optimizer.dampening",
                    "dampening only applies with momentum > 0",
                ));
            }
            if nesterov && (momentum == 0.0 || dampening != 0.0) {
                return Err(TrainError::config(
                    "train.optimizer.nesterov",
                    format!(
                        "Nesterov momentum needs momentum > 0 and dampening = 0 (got momentum {momentum}, dampening {dampening})"
                    ),
                ));
            }
            Ok(())
        }
        OptimizerConfig::Adam(AdamSettings {
            beta1,
            beta2,
            epsilon,
            ..
        })
        | OptimizerConfig::AdamW(AdamSettings {
            beta1,
            beta2,
            epsilon,
            ..
        }) => {
            unit("beta1", beta1, true)?;
            unit("beta2", beta2, true)?;
            positive("epsilon", epsilon)
        }
        OptimizerConfig::RmsProp {
            alpha,
            momentum,
            epsilon,
            ..
        } => {
            unit("alpha", alpha, true)?;
            unit("momentum", momentum, true)?;
            positive("epsilon", epsilon)
        }
    }
}

/// An optimizer table without `kind` (`optimizer = { beta1 = 0.8 }`, or `--set
/// train.optimizer.momentum=0.9` on a config that never named one) means the default optimizer,
/// Adam, which then judges the other keys. Returns whether a kind was filled in.
pub(crate) fn fill_default_optimizer(table: &mut toml::Table) -> bool {
    let Some(optimizer) = table
        .get_mut("train")
        .and_then(|t| t.get_mut("optimizer"))
        .and_then(|o| o.as_table_mut())
    else {
        return false;
    };
    if optimizer.contains_key("kind") {
        return false;
    }
    optimizer.insert(
        "kind".into(),
        toml::Value::String(OptimizerConfig::default().name().into()),
    );
    true
}
