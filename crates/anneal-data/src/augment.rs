//! On-the-fly augmentation of training samples (never validation or test data), drawn afresh
//! every epoch from a seeded stream: random shifts, small rotations and horizontal flips for
//! images, Gaussian noise for any data.

use rand::RngExt;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};
use crate::rng::SeededRng;
use crate::samples::DatasetInfo;

/// Which augmentations to apply to training samples, and how strongly; the default applies none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AugmentConfig {
    /// Largest shift, in pixels, along each axis (uniform in `[-shift, shift]`); images only.
    pub shift: f32,
    /// Largest rotation in degrees (uniform in `[-rotation, rotation]`); images only.
    pub rotation: f32,
    /// Standard deviation of Gaussian noise added to every feature (in preprocessed units).
    pub noise: f32,
    /// Mirror left-right with probability 1/2; only for datasets where that keeps the class.
    pub horizontal_flip: bool,
}

impl Default for AugmentConfig {
    fn default() -> Self {
        Self {
            shift: 0.0,
            rotation: 0.0,
            noise: 0.0,
            horizontal_flip: false,
        }
    }
}

impl AugmentConfig {
    /// Whether any augmentation is turned on.
    pub fn is_active(&self) -> bool {
        self.shift > 0.0 || self.rotation > 0.0 || self.noise > 0.0 || self.horizontal_flip
    }

    fn is_geometric(&self) -> bool {
        self.shift > 0.0 || self.rotation > 0.0 || self.horizontal_flip
    }

    /// Checks the settings against the dataset they will be applied to.
    pub fn validate(&self, info: &DatasetInfo, shape: &[usize]) -> Result<()> {
        for (field, value, max) in [
            (
                "augment.shift",
                self.shift,
                // Half the shorter side: a larger shift can move the whole image out of frame.
                shape.iter().skip(1).copied().min().unwrap_or(0) as f32 / 2.0,
            ),
            ("augment.rotation", self.rotation, 180.0),
            ("augment.noise", self.noise, f32::INFINITY),
        ] {
            if !(value >= 0.0 && value.is_finite()) {
                return Err(DataError::config(
                    field,
                    format!("{value} must be a finite number ≥ 0"),
                ));
            }
            if shape.len() == 3 && value > max {
                return Err(DataError::config(
                    field,
                    format!("{value} is larger than the allowed {max}"),
                ));
            }
        }
        if shape.len() != 3 && self.is_geometric() {
            return Err(DataError::config(
                "augment",
                format!(
                    "shift, rotation and horizontal_flip need image data ([channels, height, width]); \
                     {} has sample shape {shape:?} here, so only `noise` applies",
                    info.name
                ),
            ));
        }
        if self.horizontal_flip && !info.flip_invariant {
            return Err(DataError::config(
                "augment.horizontal_flip",
                format!(
                    "not allowed for {}: mirroring changes the class (e.g. a mirrored digit)",
                    info.name
                ),
            ));
        }
        Ok(())
    }
}

/// Applies an [`AugmentConfig`] to samples of one shape.
#[derive(Debug, Clone)]
pub struct Augmenter {
    config: AugmentConfig,
    shape: Vec<usize>,
    noise: Option<Normal<f32>>,
}

impl Augmenter {
    /// Validates the config against the dataset and sample shape.
    pub fn new(config: AugmentConfig, info: &DatasetInfo, shape: &[usize]) -> Result<Self> {
        config.validate(info, shape)?;
        let noise = (config.noise > 0.0)
            .then(|| Normal::new(0.0, config.noise).expect("std validated ≥ 0"));
        Ok(Self {
            config,
            shape: shape.to_vec(),
            noise,
        })
    }

    /// Augments one sample in place.
    pub fn apply(&self, sample: &mut [f32], rng: &mut SeededRng) {
        if self.config.is_geometric() {
            let dy = uniform(rng, self.config.shift);
            let dx = uniform(rng, self.config.shift);
            let angle = uniform(rng, self.config.rotation).to_radians();
            let flip = self.config.horizontal_flip && rng.random_bool(0.5);
            let [channels, height, width] = [self.shape[0], self.shape[1], self.shape[2]];
            for plane in sample.chunks_exact_mut(height * width).take(channels) {
                transform_plane(plane, height, width, dy, dx, angle, flip);
            }
        }
        if let Some(noise) = &self.noise {
            for x in sample.iter_mut() {
                *x += noise.sample(rng);
            }
        }
    }
}

fn uniform(rng: &mut SeededRng, half_width: f32) -> f32 {
    if half_width > 0.0 {
        rng.random_range(-half_width..=half_width)
    } else {
        0.0
    }
}

/// Shifts by `(dy, dx)`, rotates by `angle` about the centre and optionally mirrors one image
/// plane, sampling bilinearly. Pixels that come from outside the image take the plane's minimum,
/// which is the background whatever the preprocessing (0 raw, negative after z-scoring).
fn transform_plane(
    plane: &mut [f32],
    height: usize,
    width: usize,
    dy: f32,
    dx: f32,
    angle: f32,
    flip: bool,
) {
    let source = plane.to_vec();
    let fill = source.iter().copied().fold(f32::INFINITY, f32::min);
    let (cy, cx) = ((height as f32 - 1.0) / 2.0, (width as f32 - 1.0) / 2.0);
    let (sin, cos) = angle.sin_cos();
    let at = |y: isize, x: isize| -> f32 {
        if y < 0 || x < 0 || y >= height as isize || x >= width as isize {
            fill
        } else {
            source[y as usize * width + x as usize]
        }
    };
    for y in 0..height {
        for x in 0..width {
            let xo = if flip { width - 1 - x } else { x };
            // Inverse mapping: where in the source does output pixel (y, xo) come from?
            let (ry, rx) = (y as f32 - cy - dy, xo as f32 - cx - dx);
            let sy = cos * ry + sin * rx + cy;
            let sx = -sin * ry + cos * rx + cx;
            let (y0, x0) = (sy.floor(), sx.floor());
            let (fy, fx) = (sy - y0, sx - x0);
            let (y0, x0) = (y0 as isize, x0 as isize);
            let top = at(y0, x0) * (1.0 - fx) + at(y0, x0 + 1) * fx;
            let bottom = at(y0 + 1, x0) * (1.0 - fx) + at(y0 + 1, x0 + 1) * fx;
            plane[y * width + x] = top * (1.0 - fy) + bottom * fy;
        }
    }
}
