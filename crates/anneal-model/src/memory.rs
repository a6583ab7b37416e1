//! How much memory training a model takes, estimated from its config before anything is built,
//! so a model far too large for the machine is refused with a clear message instead of the
//! process aborting on a failed allocation.

use crate::config::{CnnConfig, ModelConfig, Padding, Pooling};
use crate::error::Result;
use crate::network::DataShape;

/// A model's size as training sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// Trainable parameters.
    pub parameters: u64,
    /// Values one sample's forward pass produces (inputs, every layer's outputs).
    pub activations_per_sample: u64,
}

/// Copies of the parameters training holds: weights, gradients, two Adam moments, the best
/// epoch's weights and the evaluation copy.
const PARAMETER_COPIES: u64 = 6;
/// Per activation: its value, the pre-activation kept for the backward pass, and its gradient.
const ACTIVATION_COPIES: u64 = 3;

impl MemoryEstimate {
    /// Bytes training with batches of `batch` samples needs (f32 throughout).
    pub fn training_bytes(&self, batch: usize) -> u64 {
        let parameters = PARAMETER_COPIES.saturating_mul(self.parameters);
        let activations = ACTIVATION_COPIES
            .saturating_mul(self.activations_per_sample)
            .saturating_mul(batch as u64);
        parameters.saturating_add(activations).saturating_mul(4)
    }
}

/// The estimate for `config` on data of `shape`, from the same layer plan the network is
/// built from.
pub fn estimate(config: &ModelConfig, shape: &DataShape) -> Result<MemoryEstimate> {
    let inputs = shape.input.iter().product::<usize>() as u64;
    let outputs = shape.outputs as u64;
    match config {
        ModelConfig::Mlp(mlp) => {
            let widths = mlp.hidden_widths()?;
            let (parameters, activations) = dense(inputs, &widths, outputs, mlp.batch_norm);
            Ok(MemoryEstimate {
                parameters,
                activations_per_sample: inputs + activations,
            })
        }
        ModelConfig::Cnn(cnn) => cnn_estimate(cnn, shape, outputs),
    }
}

/// Parameters and activations of dense layers from `inputs` through `widths` to `outputs`.
fn dense(inputs: u64, widths: &[usize], outputs: u64, batch_norm: bool) -> (u64, u64) {
    let (mut parameters, mut activations, mut previous) = (0u64, 0u64, inputs);
    for &width in widths {
        let width = width as u64;
        let norm = if batch_norm { 2 * width } else { 0 };
        parameters = parameters
            .saturating_add(previous.saturating_mul(width))
            .saturating_add(width + norm);
        activations = activations.saturating_add(width);
        previous = width;
    }
    (
        parameters
            .saturating_add(previous.saturating_mul(outputs))
            .saturating_add(outputs),
        activations.saturating_add(outputs),
    )
}

fn cnn_estimate(cnn: &CnnConfig, shape: &DataShape, outputs: u64) -> Result<MemoryEstimate> {
    let plan = cnn.plan(&shape.input)?;
    let (mut channels, mut height, mut width) = (
        shape.input[0] as u64,
        shape.input[1] as u64,
        shape.input[2] as u64,
    );
    let kernel = cnn.kernel_size as u64;
    let mut parameters = 0u64;
    let mut activations = channels * height * width;
    for &(filters, pools) in &plan.blocks {
        let filters = filters as u64;
        if cnn.padding == Padding::Valid {
            height = height.saturating_sub(kernel - 1);
            width = width.saturating_sub(kernel - 1);
        }
        parameters = parameters.saturating_add(
            channels
                .saturating_mul(filters)
                .saturating_mul(kernel * kernel)
                .saturating_add(filters),
        );
        if cnn.batch_norm {
            parameters += 2 * filters;
        }
        activations = activations.saturating_add(filters.saturating_mul(height * width));
        if pools && cnn.pooling != Pooling::None {
            height /= 2;
            width /= 2;
            activations = activations.saturating_add(filters.saturating_mul(height * width));
        }
        channels = filters;
    }
    let head = cnn
        .head_units
        .expand(cnn.head_depth, false, "model.head_units")?;
    let (head_parameters, head_activations) =
        dense(plan.flat_features as u64, &head, outputs, cnn.batch_norm);
    Ok(MemoryEstimate {
        parameters: parameters + head_parameters,
        activations_per_sample: activations + head_activations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_mlp_estimate_counts_its_parameters_exactly() {
        let config: ModelConfig =
            toml::from_str("kind = \"mlp\"\ndepth = 2\nunits = [512, 256]").unwrap();
        let shape = DataShape {
            input: vec![1, 28, 28],
            outputs: 10,
        };
        let e = estimate(&config, &shape).unwrap();
        assert_eq!(
            e.parameters,
            784 * 512 + 512 + 512 * 256 + 256 + 256 * 10 + 10
        );
        assert_eq!(e.activations_per_sample, 784 + 512 + 256 + 10);
    }

    #[test]
    fn estimates_match_the_built_networks_parameter_counts() {
        let device = burn::tensor::Device::flex();
        let shape = DataShape {
            input: vec![1, 28, 28],
            outputs: 10,
        };
        for text in [
            "kind = \"cnn\"\nblocks = 2\nfilters = [32, 64]\nkernel_size = 3\npadding = \"valid\"\npooling = \"max\"\npool_every = 2\nhead_depth = 1\nhead_units = 128",
            "kind = \"cnn\"\nblocks = 3\nfilters = 8\nbatch_norm = true\nhead_depth = 2\nhead_units = [64, 32]",
            "kind = \"mlp\"\ndepth = 3\nunits = 48\nbatch_norm = true",
        ] {
            let config: ModelConfig = toml::from_str(text).unwrap();
            let built = config.init(&device, &shape).unwrap().parameter_count() as u64;
            assert_eq!(
                estimate(&config, &shape).unwrap().parameters,
                built,
                "{text}"
            );
        }
    }
}
