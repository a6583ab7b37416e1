//! Routing a convolution: float32 tensors on the flex backend, tracked by autodiff or not, go
//! through this module's kernels ([`super::forward`], [`super::backward`]) as a custom
//! autodiff op; everything else goes to Burn's own `conv2d`.

use burn::backend::Flex;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{DType, Tensor};

use super::{ConvGeometry, backward, forward};
use crate::flex::{self, FlexAutodiff};

/// Which implementation ran a convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvPath {
    /// This module's im2col + GEMM (float32 on flex, groups = 1).
    Gemm,
    /// Burn's own `conv2d` (every other backend, dtype or grouping).
    Burn,
}

/// `burn::tensor::module::conv2d` with the same arguments and result; float32 tensors on the
/// flex backend go through [`forward`] / [`backward`], everything else through Burn.
pub fn conv2d(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    options: ConvOptions<2>,
) -> Tensor<4> {
    conv2d_routed(x, weight, bias, options).0
}

/// [`conv2d`], also saying which implementation ran.
pub fn conv2d_routed(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    options: ConvOptions<2>,
) -> (Tensor<4>, ConvPath) {
    let geometry = ConvGeometry::new(x.dims(), weight.dims(), &options)
        .filter(|g| bias.as_ref().is_none_or(|b| b.dims() == [g.out_channels]));
    let is_f32 = [
        Some(x.dtype()),
        Some(weight.dtype()),
        bias.as_ref().map(|b| b.dtype()),
    ]
    .into_iter()
    .flatten()
    .all(|dtype| dtype == DType::F32);
    if let (Some(geometry), true) = (geometry, is_f32) {
        let fast = flex_tracked(&geometry, &x, &weight, bias.as_ref())
            .or_else(|| flex_untracked(&geometry, &x, &weight, bias.as_ref()));
        if let Some(output) = fast {
            return (output, ConvPath::Gemm);
        }
    }
    (
        burn::tensor::module::conv2d(x, weight, bias, options),
        ConvPath::Burn,
    )
}

fn output_shape(g: &ConvGeometry) -> Vec<usize> {
    vec![g.batch, g.out_channels, g.out_height, g.out_width]
}

/// Inference on flex: no autodiff graph to record.
fn flex_untracked(
    g: &ConvGeometry,
    x: &Tensor<4>,
    weight: &Tensor<4>,
    bias: Option<&Tensor<1>>,
) -> Option<Tensor<4>> {
    let x = x.clone().try_into_primitive::<Flex>().ok()?;
    let weight = weight.clone().try_into_primitive::<Flex>().ok()?;
    let bias = match bias {
        Some(bias) => Some(bias.clone().try_into_primitive::<Flex>().ok()?),
        None => None,
    };
    let bias_values = bias.as_ref().map(flex::values);
    let output = forward(
        g,
        &flex::values(&x),
        &flex::values(&weight),
        bias_values.as_deref(),
    );
    Some(Tensor::from_primitive::<Flex>(flex::tensor(
        output,
        output_shape(g),
    )))
}

/// Training on flex: the forward result is registered with a backward step that computes
/// the three gradients with [`backward`].
fn flex_tracked(
    g: &ConvGeometry,
    x: &Tensor<4>,
    weight: &Tensor<4>,
    bias: Option<&Tensor<1>>,
) -> Option<Tensor<4>> {
    let x = x.clone().try_into_primitive::<FlexAutodiff>().ok()?;
    let weight = weight.clone().try_into_primitive::<FlexAutodiff>().ok()?;
    let bias = match bias {
        Some(bias) => Some(bias.clone().try_into_primitive::<FlexAutodiff>().ok()?),
        None => None,
    };
    let forward_output = |x: &FlexTensor, weight: &FlexTensor, bias: Option<&FlexTensor>| {
        let bias_values = bias.map(flex::values);
        let output = forward(
            g,
            &flex::values(x),
            &flex::values(weight),
            bias_values.as_deref(),
        );
        flex::tensor(output, output_shape(g))
    };
    let state = ConvState {
        geometry: *g,
        x: x.primitive().clone(),
        weight: weight.primitive().clone(),
    };
    let output = match bias {
        Some(bias) => {
            let output = forward_output(x.primitive(), weight.primitive(), Some(bias.primitive()));
            match ConvBackward::<3>
                .prepare::<NoCheckpointing>([x.node(), weight.node(), bias.node()])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => prep.finish(state, output),
                OpsKind::UnTracked(prep) => prep.finish(output),
            }
        }
        None => {
            let output = forward_output(x.primitive(), weight.primitive(), None);
            match ConvBackward::<2>
                .prepare::<NoCheckpointing>([x.node(), weight.node()])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => prep.finish(state, output),
                OpsKind::UnTracked(prep) => prep.finish(output),
            }
        }
    };
    Some(Tensor::from_primitive::<FlexAutodiff>(output))
}

/// What the backward step keeps from the forward pass: the input and the weight.
#[derive(Clone, Debug)]
struct ConvState {
    geometry: ConvGeometry,
    x: FlexTensor,
    weight: FlexTensor,
}

/// Backward step of [`flex_tracked`]; `PARENTS` is 3 with a bias, 2 without.
#[derive(Debug)]
struct ConvBackward<const PARENTS: usize>;

impl<const PARENTS: usize> Backward<Flex, PARENTS> for ConvBackward<PARENTS> {
    type State = ConvState;

    fn backward(self, ops: Ops<Self::State, PARENTS>, grads: &mut Gradients, _: &mut Checkpointer) {
        let output_grad = grads.consume::<Flex>(&ops.node);
        let ConvState {
            geometry,
            x,
            weight,
        } = ops.state;
        let [node_x, node_weight] = [&ops.parents[0], &ops.parents[1]];
        let node_bias = ops.parents.get(2).and_then(Option::as_ref);
        if node_x.is_none() && node_weight.is_none() && node_bias.is_none() {
            return;
        }
        let computed = backward(
            &geometry,
            &flex::values(&x),
            &flex::values(&weight),
            &flex::values(&output_grad),
            node_x.is_some(),
        );
        if let (Some(node), Some(values)) = (node_x, computed.input) {
            grads.register::<Flex>(
                node.id,
                flex::tensor(
                    values,
                    vec![
                        geometry.batch,
                        geometry.in_channels,
                        geometry.in_height,
                        geometry.in_width,
                    ],
                ),
            );
        }
        if let Some(node) = node_weight {
            grads.register::<Flex>(
                node.id,
                flex::tensor(
                    computed.weight,
                    vec![
                        geometry.out_channels,
                        geometry.in_channels,
                        geometry.kernel[0],
                        geometry.kernel[1],
                    ],
                ),
            );
        }
        if let Some(node) = node_bias {
            grads.register::<Flex>(
                node.id,
                flex::tensor(computed.bias, vec![geometry.out_channels]),
            );
        }
    }
}
