//! Batches: seeded per-epoch shuffling, on-the-fly augmentation, and conversion to Burn tensors
//! on whichever device the run chose.

use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::seq::SliceRandom;

use crate::augment::Augmenter;
use crate::rng::derive_rng;
use crate::samples::{Samples, Targets};

/// A batch still in host memory: what a loader yields, and what tests compare.
#[derive(Debug, Clone, PartialEq)]
pub struct HostBatch {
    /// Sample shape, e.g. `[64]` or `[1, 28, 28]`.
    pub shape: Vec<usize>,
    /// Row-major `len × feature_len` values.
    pub features: Vec<f32>,
    /// One target per sample, in batch order.
    pub targets: Targets,
    /// Which samples of the source set these are, in batch order.
    pub indices: Vec<usize>,
}

impl HostBatch {
    /// Number of samples in the batch.
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// Whether the batch has no samples.
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// Moves the batch onto `device` as tensors.
    pub fn to_device(&self, device: &Device) -> Batch {
        let feature_len: usize = self.shape.iter().product();
        let inputs = Tensor::<2>::from_data(
            TensorData::new(self.features.clone(), [self.len(), feature_len]),
            device,
        );
        let targets = match &self.targets {
            Targets::Classes(c) => {
                let ids: Vec<i64> = c.iter().map(|&c| i64::from(c)).collect();
                BatchTargets::Classes(Tensor::<1, Int>::from_data(
                    TensorData::new(ids, [self.len()]),
                    device,
                ))
            }
            Targets::Values(v) => BatchTargets::Values(Tensor::<2>::from_data(
                TensorData::new(v.clone(), [self.len(), 1]),
                device,
            )),
        };
        Batch {
            shape: self.shape.clone(),
            inputs,
            targets,
        }
    }
}

/// A batch on a device.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Sample shape, e.g. `[64]` or `[1, 28, 28]`.
    pub shape: Vec<usize>,
    /// `[batch, features]`; see [`Batch::images`] for the image view.
    pub inputs: Tensor<2>,
    /// The targets, on the same device as `inputs`.
    pub targets: BatchTargets,
}

/// A batch's targets on a device: class indices or real values.
#[derive(Debug, Clone)]
pub enum BatchTargets {
    /// `[batch]` class indices.
    Classes(Tensor<1, Int>),
    /// `[batch, 1]` real targets.
    Values(Tensor<2>),
}

impl Batch {
    /// Number of samples in the batch.
    pub fn len(&self) -> usize {
        self.inputs.dims()[0]
    }

    /// Whether the batch has no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The inputs as `[batch, channels, height, width]`, or `None` for tabular samples.
    pub fn images(&self) -> Option<Tensor<4>> {
        match self.shape.as_slice() {
            &[c, h, w] => Some(self.inputs.clone().reshape([self.len(), c, h, w])),
            _ => None,
        }
    }
}

/// Iterates over a set of samples in batches.
#[derive(Debug, Clone)]
pub struct Loader<'a> {
    samples: &'a Samples,
    batch_size: usize,
    shuffle: Option<u64>,
    augmenter: Option<Augmenter>,
}

impl<'a> Loader<'a> {
    /// Batches in the stored order, without augmentation (for validation and test data).
    ///
    /// # Panics
    /// If `batch_size` is 0 (configs reject that before a loader is built).
    pub fn sequential(samples: &'a Samples, batch_size: usize) -> Self {
        assert!(batch_size > 0, "batch size must be positive");
        Self {
            samples,
            batch_size,
            shuffle: None,
            augmenter: None,
        }
    }

    /// Batches in an order reshuffled every epoch from `seed`, optionally augmented.
    pub fn shuffled(
        samples: &'a Samples,
        batch_size: usize,
        seed: u64,
        augmenter: Option<Augmenter>,
    ) -> Self {
        Self {
            shuffle: Some(seed),
            augmenter,
            ..Self::sequential(samples, batch_size)
        }
    }

    /// Batches per epoch, counting a last partial batch.
    pub fn num_batches(&self) -> usize {
        self.samples.len().div_ceil(self.batch_size)
    }

    /// The batches of epoch `epoch` (0-based). The same seed and epoch always give the same
    /// order and augmentation, independent of earlier epochs.
    pub fn epoch(&self, epoch: u64) -> impl Iterator<Item = HostBatch> + '_ {
        let mut order: Vec<usize> = (0..self.samples.len()).collect();
        if let Some(seed) = self.shuffle {
            order.shuffle(&mut derive_rng(seed, "shuffle", epoch));
        }
        let mut augment_rng = self.shuffle.map(|seed| derive_rng(seed, "augment", epoch));
        let batches: Vec<Vec<usize>> = order
            .chunks(self.batch_size)
            .map(<[usize]>::to_vec)
            .collect();
        batches.into_iter().map(move |indices| {
            let mut batch = self.samples.select(&indices);
            if let (Some(augmenter), Some(rng)) = (&self.augmenter, augment_rng.as_mut()) {
                let n = batch.feature_len();
                for sample in batch.features.chunks_exact_mut(n) {
                    augmenter.apply(sample, rng);
                }
            }
            HostBatch {
                shape: batch.shape,
                features: batch.features,
                targets: batch.targets,
                indices,
            }
        })
    }
}
