//! The hand-written CPU kernels compute what Burn's own ops compute. The im2col + GEMM
//! convolution: outputs and the gradients of input, weight and bias agree to a relative error
//! of 1e-4 over strides, paddings (symmetric, asymmetric, "same"), dilation, 1×1 kernels,
//! batches that do not split evenly across threads, and with or without a bias. Max pooling:
//! outputs and input gradients are equal, overlapping windows included.

mod common;

use anneal_model::conv::{ConvPath, conv2d_routed};
use burn::tensor::ops::{ConvOptions, MaxPoolOptions};
use burn::tensor::{Device, Tensor, TensorData};
use common::{relative_error, values};

/// Deterministic values in [-1, 1) that differ from position to position.
fn pattern(len: usize, seed: usize) -> Vec<f32> {
    (0..len)
        .map(|i| (((i * 7919 + seed * 104_729) % 2003) as f32 / 1001.5) - 1.0)
        .collect()
}

struct Case {
    x: [usize; 4],
    out_channels: usize,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [(usize, usize); 2],
    dilation: [usize; 2],
    bias: bool,
}

struct Result {
    output: Vec<f32>,
    x_grad: Vec<f32>,
    weight_grad: Vec<f32>,
    bias_grad: Option<Vec<f32>>,
    path: ConvPath,
}

/// Forward and backward of one case on `device`, with the loss Σ output · pattern so every
/// output element has its own upstream gradient.
fn run(case: &Case, device: &Device, reference: bool) -> Result {
    let weight_shape = [case.out_channels, case.x[1], case.kernel[0], case.kernel[1]];
    let x = Tensor::<4>::from_data(
        TensorData::new(pattern(case.x.iter().product(), 1), case.x),
        device,
    )
    .require_grad();
    let weight = Tensor::<4>::from_data(
        TensorData::new(
            pattern(weight_shape.iter().product(), 2)
                .iter()
                .map(|v| v * 0.3)
                .collect(),
            weight_shape,
        ),
        device,
    )
    .require_grad();
    let bias = case.bias.then(|| {
        Tensor::<1>::from_data(
            TensorData::new(pattern(case.out_channels, 3), [case.out_channels]),
            device,
        )
        .require_grad()
    });
    let options = ConvOptions::new_with_padding(case.stride, case.padding, case.dilation, 1);
    let (output, path) = if reference {
        (
            burn::tensor::module::conv2d(x.clone(), weight.clone(), bias.clone(), options),
            ConvPath::Burn,
        )
    } else {
        conv2d_routed(x.clone(), weight.clone(), bias.clone(), options)
    };
    let upstream = Tensor::<4>::from_data(
        TensorData::new(pattern(output.shape().num_elements(), 4), output.dims()),
        device,
    );
    let grads = (output.clone() * upstream).sum().backward();
    Result {
        output: values(output.detach()),
        x_grad: values(x.grad(&grads).expect("input gradient")),
        weight_grad: values(weight.grad(&grads).expect("weight gradient")),
        bias_grad: bias.map(|b| values(b.grad(&grads).expect("bias gradient"))),
        path,
    }
}

fn cases() -> Vec<Case> {
    let base = Case {
        x: [5, 3, 9, 8],
        out_channels: 4,
        kernel: [3, 3],
        stride: [1, 1],
        padding: [(0, 0); 2],
        dilation: [1, 1],
        bias: true,
    };
    vec![
        Case { ..base },
        Case {
            padding: [(1, 1), (1, 1)],
            bias: false,
            ..base
        },
        Case {
            stride: [2, 2],
            padding: [(1, 1), (1, 1)],
            ..base
        },
        Case {
            stride: [2, 1],
            padding: [(0, 2), (1, 0)],
            ..base
        },
        Case {
            kernel: [3, 2],
            dilation: [2, 2],
            padding: [(2, 1), (0, 1)],
            ..base
        },
        Case {
            kernel: [1, 1],
            out_channels: 6,
            ..base
        },
        Case {
            kernel: [5, 5],
            padding: [(2, 2), (2, 2)],
            x: [1, 2, 6, 7],
            ..base
        },
        Case {
            x: [7, 1, 12, 12],
            out_channels: 8,
            ..base
        },
    ]
}

#[test]
fn gemm_convolution_matches_burn_forward_and_backward() {
    let device = Device::flex().autodiff();
    for (index, case) in cases().iter().enumerate() {
        let expected = run(case, &device, true);
        let actual = run(case, &device, false);
        assert_eq!(
            actual.path,
            ConvPath::Gemm,
            "case {index} should take the GEMM path"
        );
        for (what, reference, ours) in [
            ("output", &expected.output, &actual.output),
            ("input gradient", &expected.x_grad, &actual.x_grad),
            (
                "weight gradient",
                &expected.weight_grad,
                &actual.weight_grad,
            ),
        ] {
            let error = relative_error(reference, ours);
            assert!(error <= 1e-4, "case {index}: {what} differs by {error:e}");
        }
        match (&expected.bias_grad, &actual.bias_grad) {
            (Some(reference), Some(ours)) => {
                let error = relative_error(reference, ours);
                assert!(
                    error <= 1e-4,
                    "case {index}: bias gradient differs by {error:e}"
                );
            }
            (None, None) => {}
            _ => panic!("case {index}: bias gradient present on one side only"),
        }
    }
}

#[test]
fn inference_without_autodiff_takes_the_gemm_path_too() {
    let device = Device::flex();
    let x = Tensor::<4>::from_data(
        TensorData::new(pattern(2 * 3 * 7 * 7, 5), [2, 3, 7, 7]),
        &device,
    );
    let weight = Tensor::<4>::from_data(
        TensorData::new(pattern(4 * 3 * 9, 6), [4, 3, 3, 3]),
        &device,
    );
    let bias = Tensor::<1>::from_data(TensorData::new(pattern(4, 7), [4]), &device);
    let options = ConvOptions::new_with_padding([1, 1], [(1, 1), (1, 1)], [1, 1], 1);
    let expected = burn::tensor::module::conv2d(
        x.clone(),
        weight.clone(),
        Some(bias.clone()),
        options.clone(),
    );
    let (actual, path) = conv2d_routed(x, weight, Some(bias), options);
    assert_eq!(path, ConvPath::Gemm);
    let error = relative_error(&values(expected), &values(actual));
    assert!(error <= 1e-4, "output differs by {error:e}");
}

#[test]
fn other_backends_and_grouped_convolutions_fall_back_to_burn() {
    #[allow(deprecated)] // burn-ndarray: still a backend anneal offers
    let ndarray = Device::ndarray().autodiff();
    let x = Tensor::<4>::zeros([1, 2, 5, 5], &ndarray);
    let weight = Tensor::<4>::zeros([2, 2, 3, 3], &ndarray);
    let (_, path) = conv2d_routed(x, weight, None, ConvOptions::new([1, 1], [0, 0], [1, 1], 1));
    assert_eq!(path, ConvPath::Burn);

    let flex = Device::flex().autodiff();
    let x = Tensor::<4>::zeros([1, 4, 5, 5], &flex);
    let weight = Tensor::<4>::zeros([4, 2, 3, 3], &flex);
    let (output, path) =
        conv2d_routed(x, weight, None, ConvOptions::new([1, 1], [0, 0], [1, 1], 2));
    assert_eq!(path, ConvPath::Burn);
    assert_eq!(output.dims(), [1, 4, 3, 3]);
}

#[test]
fn max_pooling_matches_burn_forward_and_backward() {
    let device = Device::flex().autodiff();
    // (input, kernel, stride): the CNN's 2×2/2, overlapping 3×3/2, odd sizes that drop an edge.
    for (input, kernel, stride) in [
        ([3, 4, 8, 8], [2, 2], [2, 2]),
        ([2, 3, 9, 7], [3, 3], [2, 2]),
        ([1, 2, 7, 5], [2, 2], [2, 2]),
        ([2, 1, 6, 6], [2, 3], [1, 2]),
    ] {
        let x = Tensor::<4>::from_data(
            TensorData::new(pattern(input.iter().product(), 8), input),
            &device,
        )
        .require_grad();
        let expected = burn::tensor::module::max_pool2d(
            x.clone(),
            MaxPoolOptions::new(kernel).with_stride(stride),
        );
        let actual = anneal_model::pool::max_pool2d(x.clone(), kernel, stride);
        assert_eq!(expected.dims(), actual.dims());
        let upstream = Tensor::<4>::from_data(
            TensorData::new(pattern(expected.shape().num_elements(), 9), expected.dims()),
            &device,
        );
        let expected_grad = x
            .grad(&(expected.clone() * upstream.clone()).sum().backward())
            .unwrap();
        let actual_grad = x
            .grad(&(actual.clone() * upstream).sum().backward())
            .unwrap();
        assert_eq!(
            values(expected.detach()),
            values(actual.detach()),
            "{input:?} {kernel:?}/{stride:?} output"
        );
        let error = relative_error(&values(expected_grad), &values(actual_grad));
        assert!(
            error <= 1e-6,
            "{input:?} {kernel:?}/{stride:?}: input gradient differs by {error:e}"
        );
    }
}
