//! Getting at flex tensors' values for the hand-written CPU kernels ([`crate::conv`],
//! [`crate::pool`]), and wrapping results back into Burn tensors.

use std::borrow::Cow;

use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::tensor::TensorData;

/// The autodiff flavour Burn's training devices use (no gradient checkpointing).
pub(crate) type FlexAutodiff = Autodiff<Flex, NoCheckpointing>;

/// The tensor's values in row-major order, copied only when its layout is strided.
pub(crate) fn values(tensor: &FlexTensor) -> Cow<'_, [f32]> {
    match tensor.as_slice::<f32>() {
        Some(values) if tensor.is_contiguous() => Cow::Borrowed(values),
        _ => Cow::Owned(
            tensor
                .to_contiguous()
                .as_slice::<f32>()
                .expect("a contiguous float32 tensor")
                .to_vec(),
        ),
    }
}

/// A flex tensor over `values` (no copy).
pub(crate) fn tensor(values: Vec<f32>, shape: impl Into<Vec<usize>>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape.into()))
}
