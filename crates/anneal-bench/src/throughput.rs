//! Training throughput: full training steps (forward, loss, backward, optimizer update, one
//! host read, as training takes them) on one fixed random MNIST-shaped batch, so only the
//! model's compute is measured, not data loading.

use std::time::Instant;

use anneal_data::{Batch, BatchTargets};
use anneal_model::{DataShape, LossConfig, ModelConfig};
use anneal_train::{TrainConfig, build_optimizer, train_step};
use burn::module::Module;
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};

use crate::{BenchError, Result};

/// The MLP 784-512-256-10.
pub const MLP: &str = r#"
kind = "mlp"
depth = 2
units = [512, 256]
"#;

/// The CNN conv3×3(32)-conv3×3(64)-maxpool2-fc128-fc10.
pub const CNN: &str = r#"
kind = "cnn"
blocks = 2
filters = [32, 64]
kernel_size = 3
padding = "valid"
pooling = "max"
pool_every = 2
head_depth = 1
head_units = 128
"#;

/// How much to time.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Samples per step.
    pub batch_size: usize,
    /// Timed steps per round.
    pub steps: usize,
    /// Untimed steps first.
    pub warmup: usize,
    /// Timed rounds.
    pub rounds: usize,
}

/// Samples per second of each timed round, for the model `model_toml` describes.
pub fn samples_per_second(model_toml: &str, shape: &Shape, device: &Device) -> Result<Vec<f64>> {
    let config: ModelConfig = toml::from_str(model_toml)
        .map_err(|e| BenchError::Setting(format!("model config: {e}")))?;
    let train_device = device.clone().autodiff();
    device.seed(0);
    let mut model = config.init(
        &train_device,
        &DataShape {
            input: vec![1, 28, 28],
            outputs: 10,
        },
    )?;
    let train = TrainConfig::default();
    let mut optimizer = build_optimizer(&train);
    let loss = LossConfig::default();
    let b = shape.batch_size.max(1);
    let labels = (0..b as i64).map(|i| i % 10).collect::<Vec<_>>();
    let batch = Batch {
        shape: vec![1, 28, 28],
        inputs: Tensor::<2>::random([b, 784], Distribution::Normal(0.0, 1.0), &train_device),
        targets: BatchTargets::Classes(Tensor::<1, Int>::from_data(
            TensorData::new(labels, [b]),
            &train_device,
        )),
    };
    for _ in 0..shape.warmup {
        model = train_step(model, &mut optimizer, &batch, &loss, &train, 1e-3).0;
    }
    let mut rates = Vec::with_capacity(shape.rounds.max(1));
    for _ in 0..shape.rounds.max(1) {
        let started = Instant::now();
        for _ in 0..shape.steps.max(1) {
            model = train_step(model, &mut optimizer, &batch, &loss, &train, 1e-3).0;
        }
        // Make sure queued work (GPU backends) is finished before the clock stops.
        let _ = model.clone().valid().num_params();
        let seconds = started.elapsed().as_secs_f64();
        rates.push((shape.steps.max(1) * b) as f64 / seconds);
    }
    Ok(rates)
}
