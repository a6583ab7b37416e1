//! Gradient-norm clipping over all parameters at once, as PyTorch's `clip_grad_norm_` does
//! (Burn's own norm clipping rescales each parameter tensor separately).

use anneal_model::Model;
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;

/// Rescales every gradient by `min(1, max_norm / ‖g‖)`, where `‖g‖` is the L2 norm of all
/// gradients of `model` taken together. Stays on the device (no host round trip).
pub fn clip_global_norm(model: &Model, grads: GradientsParams, max_norm: f64) -> GradientsParams {
    let mut total = SquaredNorm {
        grads: &grads,
        sum: None,
    };
    model.visit(&mut total);
    let Some(sum) = total.sum else {
        return grads;
    };
    // 1e-6 keeps the division finite for a zero gradient, as in PyTorch.
    let scale = (sum.sqrt() + 1e-6)
        .recip()
        .mul_scalar(max_norm)
        .clamp_max(1.0);
    let mut rescale = Rescale { grads, scale };
    model.visit(&mut rescale);
    rescale.grads
}

struct SquaredNorm<'a> {
    grads: &'a GradientsParams,
    sum: Option<Tensor<1>>,
}

impl ModuleVisitor for SquaredNorm<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(grad) = self.grads.get::<D>(param.id) {
            let squares = grad.square().sum();
            self.sum = Some(match self.sum.take() {
                Some(sum) => sum + squares,
                None => squares,
            });
        }
    }
}

struct Rescale {
    grads: GradientsParams,
    scale: Tensor<1>,
}

impl ModuleVisitor for Rescale {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(grad) = self.grads.remove::<D>(param.id) {
            let scale = self.scale.clone().reshape([1usize; D]);
            self.grads.register::<D>(param.id, grad * scale);
        }
    }
}
