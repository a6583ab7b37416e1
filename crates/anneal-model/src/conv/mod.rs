//! 2-D convolution as im2col + GEMM on the CPU, forward and backward.
//!
//! Burn 0.22's flex backend runs the convolution *backward* pass through generic fallbacks (a
//! transposed convolution for the input gradient, a convolution with an output-sized kernel for
//! the weight gradient) and reaches ≈ 25 GFLOP/s on one Zen 4 core, while the same three products
//! as dense GEMMs reach ≈ 100. This module computes all three as GEMMs, one image at a time so the
//! unfolded image (`channels_in · kernel` rows × `output pixels` columns) stays in cache, and the
//! batch is split across rayon's pool. [`conv2d`] routes tensors on the flex backend (tracked by
//! autodiff or not) here and leaves every other backend to Burn.

use burn::tensor::ops::ConvOptions;
use rayon::prelude::*;

use crate::flex;

mod routing;

pub use routing::{ConvPath, conv2d, conv2d_routed};

/// Sizes of one convolution: input `[batch, in_channels, in_height, in_width]`, weight
/// `[out_channels, in_channels, kernel_height, kernel_width]`, output
/// `[batch, out_channels, out_height, out_width]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Images in the batch.
    pub batch: usize,
    /// Input channels.
    pub in_channels: usize,
    /// Input height.
    pub in_height: usize,
    /// Input width.
    pub in_width: usize,
    /// Output channels (filters).
    pub out_channels: usize,
    /// Kernel size, `[height, width]`.
    pub kernel: [usize; 2],
    /// Step between kernel positions, `[vertical, horizontal]`.
    pub stride: [usize; 2],
    /// Zero rows/columns added before the first input row/column.
    pub padding_begin: [usize; 2],
    /// Spacing between kernel taps, `[vertical, horizontal]` (1: adjacent).
    pub dilation: [usize; 2],
    /// Output height.
    pub out_height: usize,
    /// Output width.
    pub out_width: usize,
}

impl ConvGeometry {
    /// The geometry of `conv2d(x, weight, options)`; `None` for what this module does not
    /// handle (grouped convolution) or an output with no pixels.
    pub fn new(
        x_shape: [usize; 4],
        weight_shape: [usize; 4],
        options: &ConvOptions<2>,
    ) -> Option<Self> {
        let [batch, in_channels, in_height, in_width] = x_shape;
        let [out_channels, weight_in, kernel_height, kernel_width] = weight_shape;
        let empty = [
            batch,
            in_channels,
            out_channels,
            kernel_height,
            kernel_width,
        ]
        .contains(&0);
        if options.groups != 1 || weight_in != in_channels || empty {
            return None;
        }
        let out_size = |input: usize, axis: usize, kernel: usize| {
            let (begin, end) = options.padding[axis];
            let padded = input + begin + end;
            let span = options.dilation[axis] * (kernel - 1) + 1;
            (padded >= span && options.stride[axis] > 0)
                .then(|| (padded - span) / options.stride[axis] + 1)
        };
        let out_height = out_size(in_height, 0, kernel_height)?;
        let out_width = out_size(in_width, 1, kernel_width)?;
        Some(Self {
            batch,
            in_channels,
            in_height,
            in_width,
            out_channels,
            kernel: [kernel_height, kernel_width],
            stride: options.stride,
            padding_begin: options.padding_begin(),
            dilation: options.dilation,
            out_height,
            out_width,
        })
    }

    fn input_len(&self) -> usize {
        self.in_channels * self.in_height * self.in_width
    }

    fn pixels(&self) -> usize {
        self.out_height * self.out_width
    }

    fn output_len(&self) -> usize {
        self.out_channels * self.pixels()
    }

    /// Rows of the unfolded image: one per (input channel, kernel row, kernel column).
    fn patch_len(&self) -> usize {
        self.in_channels * self.kernel[0] * self.kernel[1]
    }

    /// A 1×1 kernel with unit stride and no padding reads the image as it is: no unfolding.
    fn is_pointwise(&self) -> bool {
        self.kernel == [1, 1]
            && self.stride == [1, 1]
            && self.padding_begin == [0, 0]
            && self.out_height == self.in_height
            && self.out_width == self.in_width
    }

    /// For kernel offset `offset` (dilated, minus padding) along an axis with `stride`, the
    /// output positions whose input position lies inside `0..input`.
    fn valid_outputs(
        offset: isize,
        stride: usize,
        input: usize,
        outputs: usize,
    ) -> std::ops::Range<usize> {
        let stride = stride as isize;
        let first = if offset >= 0 {
            0
        } else {
            (-offset + stride - 1) / stride
        };
        let last = (input as isize - 1 - offset).div_euclid(stride) + 1;
        let first = (first as usize).min(outputs);
        let last = (last.max(0) as usize).min(outputs);
        first..last.max(first)
    }

    /// Visits every (unfolded row, output row) pair: `visit(row, out_y, Some((in_y, columns)))`
    /// where `columns` are the output columns inside the image (their input column is
    /// `out_x * stride + column_offset`), or `None` when the whole output row reads padding.
    fn for_each_patch_row(
        &self,
        mut visit: impl FnMut(usize, usize, Option<(usize, std::ops::Range<usize>, isize)>),
    ) {
        let [kernel_height, kernel_width] = self.kernel;
        for channel in 0..self.in_channels {
            for ky in 0..kernel_height {
                let row_offset = (ky * self.dilation[0]) as isize - self.padding_begin[0] as isize;
                for kx in 0..kernel_width {
                    let row = (channel * kernel_height + ky) * kernel_width + kx;
                    let column_offset =
                        (kx * self.dilation[1]) as isize - self.padding_begin[1] as isize;
                    let columns = Self::valid_outputs(
                        column_offset,
                        self.stride[1],
                        self.in_width,
                        self.out_width,
                    );
                    for out_y in 0..self.out_height {
                        let in_y = (out_y * self.stride[0]) as isize + row_offset;
                        if in_y < 0 || in_y >= self.in_height as isize || columns.is_empty() {
                            visit(row, out_y, None);
                        } else {
                            let source = (channel * self.in_height + in_y as usize) * self.in_width;
                            visit(row, out_y, Some((source, columns.clone(), column_offset)));
                        }
                    }
                }
            }
        }
    }

    /// Unfolds one image `[in_channels, in_height, in_width]` into `patches`
    /// (`patch_len` rows × `pixels` columns, zeros where the kernel reads padding).
    fn im2col(&self, image: &[f32], patches: &mut [f32]) {
        let (pixels, out_width, stride) = (self.pixels(), self.out_width, self.stride[1]);
        self.for_each_patch_row(|row, out_y, source| {
            let target = &mut patches[row * pixels + out_y * out_width..][..out_width];
            match source {
                None => target.fill(0.0),
                Some((start, columns, offset)) => {
                    target[..columns.start].fill(0.0);
                    target[columns.end..].fill(0.0);
                    let first_input = (columns.start * stride) as isize + offset;
                    let input = &image[start + first_input as usize..];
                    if stride == 1 {
                        copy_short(&mut target[columns.clone()], &input[..columns.len()]);
                    } else {
                        for (i, value) in target[columns].iter_mut().enumerate() {
                            *value = input[i * stride];
                        }
                    }
                }
            }
        });
    }

    /// Folds `patches` back onto one image gradient, adding where kernel windows overlap;
    /// `image` must come in zeroed (the backward pass allocates it so).
    fn col2im(&self, patches: &[f32], image: &mut [f32]) {
        let (pixels, out_width, stride) = (self.pixels(), self.out_width, self.stride[1]);
        self.for_each_patch_row(|row, out_y, source| {
            if let Some((start, columns, offset)) = source {
                let from = &patches[row * pixels + out_y * out_width..][columns.clone()];
                let first_input = (columns.start * stride) as isize + offset;
                let input = &mut image[start + first_input as usize..];
                if stride == 1 {
                    input
                        .iter_mut()
                        .zip(from)
                        .for_each(|(sum, value)| *sum += value);
                } else {
                    for (i, value) in from.iter().enumerate() {
                        input[i * stride] += value;
                    }
                }
            }
        });
    }
}

/// `target.copy_from_slice(source)` for the short rows of an unfolding (one output row, tens of
/// floats): fixed 8-float blocks the compiler keeps inline, where a call to `memcpy` per row
/// cost more than the copy.
fn copy_short(target: &mut [f32], source: &[f32]) {
    let mut blocks = target.chunks_exact_mut(8);
    let mut sources = source.chunks_exact(8);
    for (block, from) in (&mut blocks).zip(&mut sources) {
        let from: &[f32; 8] = from.try_into().expect("8 floats");
        block.copy_from_slice(from);
    }
    for (value, from) in blocks.into_remainder().iter_mut().zip(sources.remainder()) {
        *value = *from;
    }
}

/// One task's unfolding buffer, reused image after image.
struct Unfolder(Vec<f32>);

impl Unfolder {
    fn new(g: &ConvGeometry) -> Self {
        Self(if g.is_pointwise() {
            Vec::new()
        } else {
            vec![0.0; g.patch_len() * g.pixels()]
        })
    }

    /// The image as a `patch_len × pixels` matrix (the image itself for a pointwise kernel).
    fn unfold<'a>(&'a mut self, g: &ConvGeometry, image: &'a [f32]) -> &'a [f32] {
        if g.is_pointwise() {
            image
        } else {
            g.im2col(image, &mut self.0);
            &self.0
        }
    }
}

/// A row-major or transposed view of a matrix in a slice.
#[derive(Clone, Copy)]
struct MatrixView {
    rows: usize,
    columns: usize,
    row_stride: usize,
    column_stride: usize,
}

impl MatrixView {
    fn row_major(rows: usize, columns: usize) -> Self {
        Self {
            rows,
            columns,
            row_stride: columns,
            column_stride: 1,
        }
    }

    fn transposed(self) -> Self {
        Self {
            rows: self.columns,
            columns: self.rows,
            row_stride: self.column_stride,
            column_stride: self.row_stride,
        }
    }

    /// The smallest slice length that holds every element.
    fn extent(&self) -> usize {
        if self.rows == 0 || self.columns == 0 {
            0
        } else {
            (self.rows - 1) * self.row_stride + (self.columns - 1) * self.column_stride + 1
        }
    }
}

/// `out = lhs · rhs`, or `out += lhs · rhs` when `accumulate`; single-threaded (the batch is
/// what gets split across threads).
fn matmul(
    out: &mut [f32],
    out_view: MatrixView,
    lhs: &[f32],
    lhs_view: MatrixView,
    rhs: &[f32],
    rhs_view: MatrixView,
    accumulate: bool,
) {
    assert_eq!(lhs_view.columns, rhs_view.rows, "inner dimensions differ");
    assert_eq!(
        (out_view.rows, out_view.columns),
        (lhs_view.rows, rhs_view.columns),
        "output shape"
    );
    assert!(
        out.len() >= out_view.extent()
            && lhs.len() >= lhs_view.extent()
            && rhs.len() >= rhs_view.extent()
    );
    // SAFETY: the asserts above keep every index gemm touches inside the three slices, and
    // `out` is borrowed mutably, so it aliases neither input.
    unsafe {
        gemm::gemm(
            out_view.rows,
            out_view.columns,
            lhs_view.columns,
            out.as_mut_ptr(),
            out_view.column_stride as isize,
            out_view.row_stride as isize,
            accumulate,
            lhs.as_ptr(),
            lhs_view.column_stride as isize,
            lhs_view.row_stride as isize,
            rhs.as_ptr(),
            rhs_view.column_stride as isize,
            rhs_view.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// How many images each rayon task takes: one contiguous run per thread, so the per-task
/// buffers and weight-gradient partial sums are made once per thread, not once per image.
fn images_per_task(batch: usize) -> usize {
    batch.div_ceil(rayon::current_num_threads().max(1)).max(1)
}

/// Forward convolution of NCHW `input` with `weight` (`[out, in, kh, kw]`) and optional `bias`.
pub fn forward(
    geometry: &ConvGeometry,
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
) -> Vec<f32> {
    let g = *geometry;
    let (input_len, output_len, pixels, patch_len) =
        (g.input_len(), g.output_len(), g.pixels(), g.patch_len());
    let mut output = flex::zeroed::<f32>(g.batch * output_len);
    let chunk = images_per_task(g.batch);
    output
        .par_chunks_mut(chunk * output_len)
        .zip(input.par_chunks(chunk * input_len))
        .for_each(|(outputs, inputs)| {
            let mut patches = Unfolder::new(&g);
            for (out, image) in outputs.chunks_mut(output_len).zip(inputs.chunks(input_len)) {
                let unfolded = patches.unfold(&g, image);
                // The bias goes in first and the product is accumulated onto it: one pass
                // over the output instead of a second one to add the bias.
                if let Some(bias) = bias {
                    for (channel, &b) in out.chunks_mut(pixels).zip(bias) {
                        channel.fill(b);
                    }
                }
                matmul(
                    out,
                    MatrixView::row_major(g.out_channels, pixels),
                    weight,
                    MatrixView::row_major(g.out_channels, patch_len),
                    unfolded,
                    MatrixView::row_major(patch_len, pixels),
                    bias.is_some(),
                );
            }
        });
    output
}

/// Gradients of a convolution with respect to its input, weight and bias.
pub struct ConvGradients {
    /// The input gradient, `[batch, in_channels, in_height, in_width]`; `None` unless
    /// asked for.
    pub input: Option<Vec<f32>>,
    /// The weight gradient, `[out_channels, in_channels, kernel_height, kernel_width]`.
    pub weight: Vec<f32>,
    /// The bias gradient, one value per output channel.
    pub bias: Vec<f32>,
}

/// Backward convolution: given the forward `input`, `weight` and the output gradient, the
/// gradients of the input (when `want_input`), the weight and the bias.
pub fn backward(
    geometry: &ConvGeometry,
    input: &[f32],
    weight: &[f32],
    output_grad: &[f32],
    want_input: bool,
) -> ConvGradients {
    let g = *geometry;
    let (input_len, output_len, pixels, patch_len) =
        (g.input_len(), g.output_len(), g.pixels(), g.patch_len());
    let weight_len = g.out_channels * patch_len;
    let chunk = images_per_task(g.batch);
    let mut input_grad = if want_input {
        flex::zeroed::<f32>(g.batch * input_len)
    } else {
        Vec::new()
    };
    // One task per thread: each returns its partial weight and bias gradients.
    let task = |inputs: &[f32], grads: &[f32], mut input_grads: Option<&mut [f32]>| {
        let mut weight_grad = vec![0.0f32; weight_len];
        let mut bias_grad = vec![0.0f32; g.out_channels];
        let mut patches = Unfolder::new(&g);
        let mut patch_grads = if want_input && !g.is_pointwise() {
            vec![0.0f32; patch_len * pixels]
        } else {
            Vec::new()
        };
        for (index, (image, grad)) in inputs
            .chunks(input_len)
            .zip(grads.chunks(output_len))
            .enumerate()
        {
            let unfolded = patches.unfold(&g, image);
            // dW += dY · patchesᵀ
            matmul(
                &mut weight_grad,
                MatrixView::row_major(g.out_channels, patch_len),
                grad,
                MatrixView::row_major(g.out_channels, pixels),
                unfolded,
                MatrixView::row_major(patch_len, pixels).transposed(),
                true,
            );
            for (sum, channel) in bias_grad.iter_mut().zip(grad.chunks(pixels)) {
                *sum += channel.iter().sum::<f32>();
            }
            if let Some(input_grads) = input_grads.as_deref_mut() {
                let image_grad = &mut input_grads[index * input_len..][..input_len];
                // dPatches = Wᵀ · dY, then folded back onto the image.
                let target: &mut [f32] = if g.is_pointwise() {
                    image_grad
                } else {
                    &mut patch_grads
                };
                matmul(
                    target,
                    MatrixView::row_major(patch_len, pixels),
                    weight,
                    MatrixView::row_major(g.out_channels, patch_len).transposed(),
                    grad,
                    MatrixView::row_major(g.out_channels, pixels),
                    false,
                );
                if !g.is_pointwise() {
                    g.col2im(&patch_grads, image_grad);
                }
            }
        }
        (weight_grad, bias_grad)
    };
    let partials: Vec<(Vec<f32>, Vec<f32>)> = if want_input {
        input
            .par_chunks(chunk * input_len)
            .zip(output_grad.par_chunks(chunk * output_len))
            .zip(input_grad.par_chunks_mut(chunk * input_len))
            .map(|((inputs, grads), input_grads)| task(inputs, grads, Some(input_grads)))
            .collect()
    } else {
        input
            .par_chunks(chunk * input_len)
            .zip(output_grad.par_chunks(chunk * output_len))
            .map(|(inputs, grads)| task(inputs, grads, None))
            .collect()
    };
    let mut partials = partials.into_iter();
    let (mut weight_grad, mut bias_grad) = partials
        .next()
        .unwrap_or_else(|| (vec![0.0; weight_len], vec![0.0; g.out_channels]));
    for (weight_part, bias_part) in partials {
        weight_grad
            .iter_mut()
            .zip(weight_part)
            .for_each(|(sum, part)| *sum += part);
        bias_grad
            .iter_mut()
            .zip(bias_part)
            .for_each(|(sum, part)| *sum += part);
    }
    ConvGradients {
        input: want_input.then_some(input_grad),
        weight: weight_grad,
        bias: bias_grad,
    }
}
