//! Feature preprocessing fitted on the training split only, then applied unchanged to
//! validation and test data (fitting on all data would leak test statistics into training).

use nalgebra::{DMatrix, SymmetricEigen};
use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};
use crate::samples::Samples;

/// One preprocessing step as a config names it; steps run in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PreprocessStep {
    /// z-score: subtract the mean, divide by the (population) standard deviation.
    Standardize {
        /// Per-feature or global statistics.
        #[serde(default)]
        scope: Scope,
    },
    /// Scale to [0, 1] using the training minimum and maximum.
    MinMax {
        /// Per-feature or global statistics.
        #[serde(default)]
        scope: Scope,
    },
    /// Principal component analysis: centre, then project on the top components, keeping either
    /// `components` of them or as many as explain `variance` (a ratio in (0, 1]).
    Pca {
        /// How many components to keep (give this or `variance`).
        components: Option<usize>,
        /// Keep the fewest components that explain this ratio of the variance (give this or
        /// `components`).
        variance: Option<f64>,
        /// Divide each component by its standard deviation.
        #[serde(default)]
        whiten: bool,
    },
}

/// Whether statistics are per feature (each pixel or column its own) or one for all values
/// (images: keeps relative pixel intensities, like MNIST's usual global mean 0.1307 / std 0.3081).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Statistics of each feature on its own.
    #[default]
    Feature,
    /// One statistic over all values.
    Global,
}

/// A fitted step: what is applied to every sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FittedStep {
    /// `x' = (x - shift) * scale`, per feature (or one value broadcast to all).
    Affine {
        /// Subtracted first: one value per feature, or a single one for all.
        shift: Vec<f32>,
        /// Multiplied after the shift; as many values as `shift`.
        scale: Vec<f32>,
    },
    /// `x' = W (x - mean)`, `W` row-major `components × input features`.
    Projection {
        /// Per-feature training mean, subtracted first.
        mean: Vec<f32>,
        /// The matrix `W`: one row of input-feature weights per kept component.
        weights: Vec<f32>,
        /// Number of components kept, which is the number of output features.
        components: usize,
        /// Fraction of the training variance each kept component explains.
        explained_variance_ratio: Vec<f64>,
    },
}

/// The fitted preprocessing of a run; serialisable so a checkpoint can be evaluated later on
/// data preprocessed exactly as in training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Preprocessor {
    /// The fitted steps, applied in order.
    pub steps: Vec<FittedStep>,
}

impl Preprocessor {
    /// Fits `steps` in order on `train` (each on the output of the previous ones).
    pub fn fit(steps: &[PreprocessStep], train: &Samples) -> Result<Self> {
        let mut fitted = Vec::with_capacity(steps.len());
        let mut current = train.clone();
        for (i, step) in steps.iter().enumerate() {
            let step = fit_step(step, &current, i)?;
            current = apply_step(&step, &current);
            fitted.push(step);
        }
        Ok(Self { steps: fitted })
    }

    /// Applies the fitted steps, in order, to `samples`.
    pub fn apply(&self, samples: &Samples) -> Samples {
        let mut current = samples.clone();
        for step in &self.steps {
            current = apply_step(step, &current);
        }
        current
    }

    /// The sample shape after preprocessing (PCA flattens to `[components]`).
    pub fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        self.steps
            .iter()
            .fold(input.to_vec(), |shape, step| match step {
                FittedStep::Affine { .. } => shape,
                FittedStep::Projection { components, .. } => vec![*components],
            })
    }
}

impl PreprocessStep {
    /// Checks the settings (for PCA: exactly one of `components` ≥ 1 or `variance` in (0, 1]);
    /// `field` names the step in errors.
    pub fn validate(&self, field: &str) -> Result<()> {
        if let PreprocessStep::Pca {
            components,
            variance,
            ..
        } = self
        {
            match (components, variance) {
                (Some(0), _) => {
                    return Err(DataError::config(
                        field,
                        "pca components must be at least 1",
                    ));
                }
                (Some(_), None) => {}
                (None, Some(v)) if *v > 0.0 && *v <= 1.0 => {}
                (None, Some(v)) => {
                    return Err(DataError::config(
                        field,
                        format!("pca variance {v} is not a ratio in (0, 1]"),
                    ));
                }
                _ => {
                    return Err(DataError::config(
                        field,
                        "pca needs exactly one of `components` (a count) or `variance` (a ratio in (0, 1])",
                    ));
                }
            }
        }
        Ok(())
    }
}

fn fit_step(step: &PreprocessStep, train: &Samples, index: usize) -> Result<FittedStep> {
    let field = format!("preprocess[{index}]");
    step.validate(&field)?;
    let d = train.feature_len();
    let n = train.len();
    if n == 0 {
        return Err(DataError::config(
            field,
            "cannot fit preprocessing on an empty training set",
        ));
    }
    Ok(match *step {
        PreprocessStep::Standardize { scope } => {
            let (mean, var) = moments(train, scope);
            let scale = var
                .iter()
                .map(|&v| {
                    if v > 1e-12 {
                        (1.0 / v.sqrt()) as f32
                    } else {
                        1.0
                    }
                })
                .collect();
            FittedStep::Affine {
                shift: mean.iter().map(|&m| m as f32).collect(),
                scale,
            }
        }
        PreprocessStep::MinMax { scope } => {
            let width = if scope == Scope::Global { 1 } else { d };
            let mut lo = vec![f32::INFINITY; width];
            let mut hi = vec![f32::NEG_INFINITY; width];
            for row in train.features.chunks_exact(d) {
                for (j, &x) in row.iter().enumerate() {
                    let k = j % width;
                    lo[k] = lo[k].min(x);
                    hi[k] = hi[k].max(x);
                }
            }
            let scale = lo
                .iter()
                .zip(&hi)
                .map(|(l, h)| if h > l { 1.0 / (h - l) } else { 1.0 })
                .collect();
            FittedStep::Affine { shift: lo, scale }
        }
        PreprocessStep::Pca {
            components,
            variance,
            whiten,
        } => fit_pca(train, components, variance, whiten, &field)?,
    })
}

/// Per-feature (or global) mean and population variance, accumulated in f64.
fn moments(train: &Samples, scope: Scope) -> (Vec<f64>, Vec<f64>) {
    let d = train.feature_len();
    let width = if scope == Scope::Global { 1 } else { d };
    let mut sum = vec![0.0f64; width];
    let mut count = vec![0usize; width];
    for row in train.features.chunks_exact(d) {
        for (j, &x) in row.iter().enumerate() {
            sum[j % width] += x as f64;
            count[j % width] += 1;
        }
    }
    let mean: Vec<f64> = sum.iter().zip(&count).map(|(s, &c)| s / c as f64).collect();
    let mut sq = vec![0.0f64; width];
    for row in train.features.chunks_exact(d) {
        for (j, &x) in row.iter().enumerate() {
            let dx = x as f64 - mean[j % width];
            sq[j % width] += dx * dx;
        }
    }
    let var = sq.iter().zip(&count).map(|(s, &c)| s / c as f64).collect();
    (mean, var)
}

fn fit_pca(
    train: &Samples,
    components: Option<usize>,
    variance: Option<f64>,
    whiten: bool,
    field: &str,
) -> Result<FittedStep> {
    let d = train.feature_len();
    let n = train.len();
    if n < 2 {
        return Err(DataError::config(
            field,
            "pca needs at least 2 training samples",
        ));
    }
    let (mean, _) = moments(train, Scope::Feature);
    let centred = DMatrix::<f64>::from_fn(n, d, |i, j| train.features[i * d + j] as f64 - mean[j]);
    let covariance = centred.tr_mul(&centred) / (n as f64 - 1.0);
    let eigen = SymmetricEigen::new(covariance);
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| eigen.eigenvalues[b].total_cmp(&eigen.eigenvalues[a]));
    // Rounding can leave tiny negative eigenvalues for rank-deficient data: they explain nothing.
    let values: Vec<f64> = order
        .iter()
        .map(|&i| eigen.eigenvalues[i].max(0.0))
        .collect();
    let total: f64 = values.iter().sum();
    if total <= 0.0 {
        return Err(DataError::config(
            field,
            "pca: the training features have zero variance",
        ));
    }
    let ratios: Vec<f64> = values.iter().map(|v| v / total).collect();
    let keep = match (components, variance) {
        (Some(k), _) if k > d => {
            return Err(DataError::config(
                field,
                format!("pca components {k} exceeds the {d} input features"),
            ));
        }
        (Some(k), _) => k,
        (None, Some(target)) => {
            let mut cumulative = 0.0;
            ratios
                .iter()
                .position(|r| {
                    cumulative += r;
                    cumulative >= target - 1e-12
                })
                .map_or(d, |i| i + 1)
        }
        (None, None) => unreachable!("validated above"),
    };
    let mut weights = Vec::with_capacity(keep * d);
    for (rank, &i) in order.iter().take(keep).enumerate() {
        let column = eigen.eigenvectors.column(i);
        // Eigenvectors are defined up to sign; fix it (largest entry positive) so fits are reproducible.
        let pivot = column
            .iter()
            .copied()
            .fold(0.0f64, |a, b| if b.abs() > a.abs() { b } else { a });
        let sign = if pivot < 0.0 { -1.0 } else { 1.0 };
        let scale = if whiten && values[rank] > 1e-12 {
            1.0 / values[rank].sqrt()
        } else {
            1.0
        };
        weights.extend(column.iter().map(|&w| (w * sign * scale) as f32));
    }
    Ok(FittedStep::Projection {
        mean: mean.iter().map(|&m| m as f32).collect(),
        weights,
        components: keep,
        explained_variance_ratio: ratios[..keep].to_vec(),
    })
}

fn apply_step(step: &FittedStep, samples: &Samples) -> Samples {
    let d = samples.feature_len();
    match step {
        FittedStep::Affine { shift, scale } => {
            let width = shift.len();
            let mut features = samples.features.clone();
            for row in features.chunks_exact_mut(d) {
                for (j, x) in row.iter_mut().enumerate() {
                    *x = (*x - shift[j % width]) * scale[j % width];
                }
            }
            Samples::new(samples.shape.clone(), features, samples.targets.clone())
        }
        FittedStep::Projection {
            mean,
            weights,
            components,
            ..
        } => {
            let mut features = Vec::with_capacity(samples.len() * components);
            let mut centred = vec![0.0f32; d];
            for row in samples.features.chunks_exact(d) {
                for ((c, &x), &m) in centred.iter_mut().zip(row).zip(mean) {
                    *c = x - m;
                }
                for w in weights.chunks_exact(d) {
                    features.push(w.iter().zip(&centred).map(|(a, b)| a * b).sum());
                }
            }
            Samples::new(vec![*components], features, samples.targets.clone())
        }
    }
}
