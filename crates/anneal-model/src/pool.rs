//! 2-D max pooling without padding on the CPU, forward and backward.
//!
//! Burn 0.22's flex backend pools through its generic 3-D kernel, which took 10% of a CNN
//! training step on one core, more than the rest of the step outside the convolutions.
//! [`max_pool2d`] routes float32 flex tensors here and everything else to Burn.

use burn::backend::Flex;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::tensor::ops::MaxPoolOptions;
use burn::tensor::{DType, Tensor};
use rayon::prelude::*;

use crate::flex::{self, FlexAutodiff};

/// Sizes of one pooling: input `[batch, channels, in_height, in_width]`, windows of
/// `kernel` moved by `stride`, no padding, output rows/columns rounded down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolGeometry {
    /// Images in the batch.
    pub batch: usize,
    /// Channels per image.
    pub channels: usize,
    /// Input height.
    pub in_height: usize,
    /// Input width.
    pub in_width: usize,
    /// Window size, `[height, width]`.
    pub kernel: [usize; 2],
    /// Step between windows, `[vertical, horizontal]`.
    pub stride: [usize; 2],
    /// Output height.
    pub out_height: usize,
    /// Output width.
    pub out_width: usize,
}

impl PoolGeometry {
    /// The geometry for `input` of shape `[batch, channels, height, width]`; `None` when a
    /// kernel or stride side is 0 or the window is larger than the input.
    pub fn new(input: [usize; 4], kernel: [usize; 2], stride: [usize; 2]) -> Option<Self> {
        let [batch, channels, in_height, in_width] = input;
        if kernel.contains(&0)
            || stride.contains(&0)
            || in_height < kernel[0]
            || in_width < kernel[1]
        {
            return None;
        }
        Some(Self {
            batch,
            channels,
            in_height,
            in_width,
            kernel,
            stride,
            out_height: (in_height - kernel[0]) / stride[0] + 1,
            out_width: (in_width - kernel[1]) / stride[1] + 1,
        })
    }

    fn planes(&self) -> usize {
        self.batch * self.channels
    }

    fn in_plane(&self) -> usize {
        self.in_height * self.in_width
    }

    fn out_plane(&self) -> usize {
        self.out_height * self.out_width
    }
}

/// Window maxima and, for each, the position (within its input plane) it came from; the
/// first maximum wins ties, a NaN wins over numbers.
pub fn forward(g: &PoolGeometry, input: &[f32]) -> (Vec<f32>, Vec<u32>) {
    let mut output = flex::zeroed::<f32>(g.planes() * g.out_plane());
    let mut argmax = flex::zeroed::<u32>(g.planes() * g.out_plane());
    output
        .par_chunks_mut(g.out_plane())
        .zip(argmax.par_chunks_mut(g.out_plane()))
        .zip(input.par_chunks(g.in_plane()))
        .for_each(|((out, arg), plane)| {
            // One output row at a time, sweeping kernel rows and columns over whole rows so
            // the inner loop is a branch-light pass over contiguous outputs.
            if g.kernel == [2, 2] && g.stride == [2, 2] {
                forward_2x2(g, plane, out, arg);
                return;
            }
            let rows = out.chunks_mut(g.out_width).zip(arg.chunks_mut(g.out_width));
            for (out_y, (out_row, arg_row)) in rows.enumerate() {
                out_row.fill(f32::NEG_INFINITY);
                let top = out_y * g.stride[0];
                arg_row
                    .iter_mut()
                    .enumerate()
                    .for_each(|(out_x, a)| *a = (top * g.in_width + out_x * g.stride[1]) as u32);
                for y in top..top + g.kernel[0] {
                    let row = &plane[y * g.in_width..][..g.in_width];
                    for kx in 0..g.kernel[1] {
                        for (out_x, (best, best_at)) in
                            out_row.iter_mut().zip(arg_row.iter_mut()).enumerate()
                        {
                            let x = out_x * g.stride[1] + kx;
                            let value = row[x];
                            if value > *best || (value.is_nan() && !best.is_nan()) {
                                *best = value;
                                *best_at = (y * g.in_width + x) as u32;
                            }
                        }
                    }
                }
            }
        });
    (output, argmax)
}

/// The CNN's 2×2 windows with stride 2, on one plane: each output reads two pairs of
/// neighbours, without the general path's index arithmetic.
fn forward_2x2(g: &PoolGeometry, plane: &[f32], out: &mut [f32], arg: &mut [u32]) {
    let better = |candidate: (f32, usize), best: (f32, usize)| {
        if candidate.0 > best.0 || (candidate.0.is_nan() && !best.0.is_nan()) {
            candidate
        } else {
            best
        }
    };
    let rows = out.chunks_mut(g.out_width).zip(arg.chunks_mut(g.out_width));
    for (out_y, (out_row, arg_row)) in rows.enumerate() {
        let top = 2 * out_y * g.in_width;
        let upper = plane[top..top + 2 * g.out_width].chunks_exact(2);
        let lower = plane[top + g.in_width..top + g.in_width + 2 * g.out_width].chunks_exact(2);
        for (out_x, ((value, at), (up, down))) in out_row
            .iter_mut()
            .zip(arg_row.iter_mut())
            .zip(upper.zip(lower))
            .enumerate()
        {
            let left = top + 2 * out_x;
            let mut best = (up[0], left);
            best = better((up[1], left + 1), best);
            best = better((down[0], left + g.in_width), best);
            best = better((down[1], left + g.in_width + 1), best);
            *value = best.0;
            *at = best.1 as u32;
        }
    }
}

/// The input gradient: each output's gradient goes to the position its maximum came from.
pub fn backward(g: &PoolGeometry, argmax: &[u32], output_grad: &[f32]) -> Vec<f32> {
    let mut input_grad = flex::zeroed::<f32>(g.planes() * g.in_plane());
    input_grad
        .par_chunks_mut(g.in_plane())
        .zip(argmax.par_chunks(g.out_plane()))
        .zip(output_grad.par_chunks(g.out_plane()))
        .for_each(|((plane, arg), grad)| {
            for (&position, &value) in arg.iter().zip(grad) {
                plane[position as usize] += value;
            }
        });
    input_grad
}

/// `burn::tensor::module::max_pool2d` with no padding, no dilation and floor rounding;
/// float32 flex tensors go through [`forward`] / [`backward`], the rest through Burn.
pub fn max_pool2d(x: Tensor<4>, kernel: [usize; 2], stride: [usize; 2]) -> Tensor<4> {
    if let (Some(geometry), DType::F32) = (PoolGeometry::new(x.dims(), kernel, stride), x.dtype()) {
        let shape = [
            geometry.batch,
            geometry.channels,
            geometry.out_height,
            geometry.out_width,
        ];
        if let Ok(tracked) = x.clone().try_into_primitive::<FlexAutodiff>() {
            let (output, argmax) = forward(&geometry, &flex::values(tracked.primitive()));
            let output = flex::tensor(output, shape);
            let output = match MaxPoolBackward
                .prepare::<NoCheckpointing>([tracked.node()])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => prep.finish(
                    PoolState {
                        geometry,
                        argmax: argmax.into(),
                    },
                    output,
                ),
                OpsKind::UnTracked(prep) => prep.finish(output),
            };
            return Tensor::from_primitive::<FlexAutodiff>(output);
        }
        if let Ok(plain) = x.clone().try_into_primitive::<Flex>() {
            let (output, _) = forward(&geometry, &flex::values(&plain));
            return Tensor::from_primitive::<Flex>(flex::tensor(output, shape));
        }
    }
    burn::tensor::module::max_pool2d(x, MaxPoolOptions::new(kernel).with_stride(stride))
}

#[derive(Clone, Debug)]
struct PoolState {
    geometry: PoolGeometry,
    argmax: std::sync::Arc<[u32]>,
}

#[derive(Debug)]
struct MaxPoolBackward;

impl Backward<Flex, 1> for MaxPoolBackward {
    type State = PoolState;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let output_grad = grads.consume::<Flex>(&ops.node);
        let [Some(node)] = &ops.parents else { return };
        let g = ops.state.geometry;
        let input_grad = backward(&g, &ops.state.argmax, &flex::values(&output_grad));
        let shape = [g.batch, g.channels, g.in_height, g.in_width];
        grads.register::<Flex>(node.id, flex::tensor(input_grad, shape));
    }
}
