//! Turns the run config's optimizer settings into one of Burn's optimizers.

use burn::grad_clipping::GradientClippingConfig;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, AdamWConfig, ModuleOptimizer, RmsPropConfig, SgdConfig};

use crate::config::{GradClip, OptimizerConfig, TrainConfig};

/// Builds the optimizer for a run. Weight decay is decoupled for AdamW (Loshchilov & Hutter) and
/// the coupled L2 form everywhere else, as in PyTorch.
pub fn build_optimizer(train: &TrainConfig) -> ModuleOptimizer {
    let coupled_decay =
        (train.weight_decay > 0.0).then(|| WeightDecayConfig::new(train.weight_decay as f32));
    // Norm clipping is global over all parameters and done by the trainer (see `clip`);
    // value clipping is element-wise, so Burn's per-tensor clipping is the same thing.
    let clipping = match train.grad_clip {
        Some(GradClip::Value(v)) => Some(GradientClippingConfig::Value(v as f32)),
        Some(GradClip::Norm(_)) | None => None,
    };
    match train.optimizer {
        OptimizerConfig::Sgd {
            momentum,
            dampening,
            nesterov,
        } => SgdConfig::new()
            .with_momentum((momentum > 0.0).then(|| MomentumConfig {
                momentum,
                dampening,
                nesterov,
            }))
            .with_weight_decay(coupled_decay)
            .with_gradient_clipping(clipping)
            .init(),
        OptimizerConfig::Adam(a) => AdamConfig::new()
            .with_beta_1(a.beta1 as f32)
            .with_beta_2(a.beta2 as f32)
            .with_epsilon(a.epsilon as f32)
            .with_amsgrad(a.amsgrad)
            .with_weight_decay(coupled_decay)
            .with_grad_clipping(clipping)
            .init(),
        OptimizerConfig::AdamW(a) => AdamWConfig::new()
            .with_beta_1(a.beta1 as f32)
            .with_beta_2(a.beta2 as f32)
            .with_epsilon(a.epsilon as f32)
            .with_amsgrad(a.amsgrad)
            .with_weight_decay(train.weight_decay as f32)
            .with_grad_clipping(clipping)
            .init(),
        OptimizerConfig::RmsProp {
            alpha,
            momentum,
            epsilon,
            centered,
        } => RmsPropConfig::new()
            .with_alpha(alpha as f32)
            .with_momentum(momentum as f32)
            .with_epsilon(epsilon as f32)
            .with_centered(centered)
            .with_weight_decay(coupled_decay)
            .with_grad_clipping(clipping)
            .init(),
    }
}
