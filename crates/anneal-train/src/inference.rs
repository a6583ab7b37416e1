//! What a trained model costs to use: its checkpoint's size and how long it takes to answer,
//! measured once after training by one fixed protocol, so runs (and a sweep's trials) compare.
//!
//! The protocol: on the run's own device and backend, with the final model in evaluation
//! mode, inputs taken from the first validation samples (repeated when there are fewer), each
//! timed pass copies the inputs to the device, runs the forward pass and reads the outputs
//! back to the host (which waits for the device). [`WARM_UP`] untimed passes come first
//! (allocations, kernel compilation on a GPU), then [`TIMED`] timed ones; the figure is their
//! median. One sample and a batch of [`BATCH`] samples are timed separately.

use std::time::Instant;

use anneal_data::{Loader, Samples};
use anneal_model::Model;
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

/// Untimed passes before the timed ones.
pub const WARM_UP: usize = 3;
/// Timed passes; odd, so the median is one of them.
pub const TIMED: usize = 15;
/// Samples in the batch whose latency is measured.
pub const BATCH: usize = 64;

/// A trained model's size and latency.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct InferenceCost {
    /// Size of the checkpoint file (`model.bpk`) in bytes.
    pub model_bytes: u64,
    /// Median milliseconds to answer one sample.
    pub latency_ms: f64,
    /// Median milliseconds to answer a batch of `batch_size` samples.
    pub batch_latency_ms: f64,
    /// Samples in the timed batch ([`BATCH`]).
    pub batch_size: usize,
}

/// Times `model` on one sample and on a batch of [`BATCH`] drawn from `samples`, in
/// milliseconds; `None` when there are no samples to time it on.
pub fn measure_latency(model: &Model, samples: &Samples, device: &Device) -> Option<(f64, f64)> {
    let first = Loader::sequential(samples, BATCH).epoch(0).next()?;
    let per_sample = first.features.len() / first.len().max(1);
    // The first samples, repeated when the set is smaller than a batch.
    let batch: Vec<f32> = first
        .features
        .chunks(per_sample)
        .cycle()
        .take(BATCH)
        .flatten()
        .copied()
        .collect();
    let one = &first.features[..per_sample];
    Some((
        median_ms(model, one, per_sample, device),
        median_ms(model, &batch, per_sample, device),
    ))
}

/// The median of [`TIMED`] passes of `features` (row-major, `per_sample` values a row) through
/// `model`, after [`WARM_UP`] untimed ones.
fn median_ms(model: &Model, features: &[f32], per_sample: usize, device: &Device) -> f64 {
    let rows = features.len() / per_sample;
    let pass = || {
        let inputs = Tensor::<2>::from_data(
            TensorData::new(features.to_vec(), [rows, per_sample]),
            device,
        );
        std::hint::black_box(model.forward(inputs).into_data());
    };
    for _ in 0..WARM_UP {
        pass();
    }
    let mut times: Vec<f64> = (0..TIMED)
        .map(|_| {
            let start = Instant::now();
            pass();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[TIMED / 2]
}
