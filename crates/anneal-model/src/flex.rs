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

/// A zero-filled buffer whose pages are first touched by rayon's workers rather than by the
/// calling thread: for multi-megabyte outputs, zeroing and page faults were a serial tenth of
/// a two-thread CNN step.
pub(crate) fn zeroed<T: Copy + Default + Send>(len: usize) -> Vec<T> {
    use rayon::prelude::*;
    const CHUNK: usize = 1 << 16;
    let mut buffer: Vec<T> = Vec::with_capacity(len);
    buffer.spare_capacity_mut()[..len]
        .par_chunks_mut(CHUNK)
        .for_each(|chunk| {
            chunk.iter_mut().for_each(|value| {
                value.write(T::default());
            })
        });
    // SAFETY: every one of the first `len` elements was written just above.
    unsafe { buffer.set_len(len) };
    buffer
}
