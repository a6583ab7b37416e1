//! The Parzen estimator TPE builds its two densities from: a mixture with one product kernel
//! per observation plus a broad prior kernel, over any mix of real, integer and categorical
//! parameters (Optuna 5's estimator; univariate TPE is the one-parameter case).
//!
//! Numeric parameters live on their unit scale. Each observation's kernel is a Gaussian
//! truncated to [0, 1] whose width is the larger gap to its neighbours (the two ends of the
//! range count as neighbours, except that the outermost observations use their inner gap),
//! clipped to [1 / min(100, n + 2), 1]; the prior kernel sits at 0.5 with width 1. An integer's
//! probability is the kernel's mass on the value's grid cell, so l(x)/g(x) compares like with
//! like. A categorical kernel puts weight 1 + p/(n+1) on its observed choice and p/(n+1) on
//! every choice (p the prior weight), normalised; the prior kernel is uniform.

use anneal_rng::SeededRng;
use rand::RngExt;

use super::normal;
use crate::distribution::{Distribution, Value};
use crate::space::Param;

/// Optuna's default observation weights, oldest first: equal up to 25 observations, beyond
/// that a ramp from 1/n up to 1 over the older ones and 1 for the newest 25.
pub(crate) fn age_weights(n: usize) -> Vec<f64> {
    if n < 25 {
        return vec![1.0; n];
    }
    let ramp = n - 25;
    let mut w: Vec<f64> = (0..ramp)
        .map(|i| {
            if ramp == 1 {
                1.0 / n as f64
            } else {
                1.0 / n as f64 + (1.0 - 1.0 / n as f64) * i as f64 / (ramp - 1) as f64
            }
        })
        .collect();
    w.extend(std::iter::repeat_n(1.0, 25));
    w
}

/// An index drawn with probability proportional to `weights` (which sum to 1).
pub(crate) fn sample_index(weights: &[f64], rng: &mut SeededRng) -> usize {
    let mut r = rng.random::<f64>();
    for (i, w) in weights.iter().enumerate() {
        if r < *w {
            return i;
        }
        r -= w;
    }
    weights.len() - 1
}

/// One parameter's kernels, one per observation and the prior last.
enum Axis {
    Numeric {
        distribution: Distribution,
        mus: Vec<f64>,
        sigmas: Vec<f64>,
        /// ln of each kernel's mass inside [0, 1] (its truncation constant).
        log_inside: Vec<f64>,
        /// Per kernel, 1/σ and the log density's constant −ln(√(2π)·σ·mass): precomputed, as
        /// every candidate evaluates every kernel.
        inv_sigmas: Vec<f64>,
        log_norms: Vec<f64>,
    },
    Categorical {
        /// Per kernel, the probability of each choice.
        probs: Vec<Vec<f64>>,
    },
}

/// A point as the estimator sees it: per parameter a unit-scale value, or a choice's index.
pub(crate) type Point = Vec<f64>;

/// A product-kernel Parzen estimator over `params`.
pub(crate) struct ParzenEstimator {
    axes: Vec<Axis>,
    weights: Vec<f64>,
}

/// `value` of `param` as the estimator's coordinate; `None` when it does not fit.
pub(crate) fn coordinate(param: &Param, value: &Value) -> Option<f64> {
    match &param.distribution {
        Distribution::Categorical(choices) => {
            choices.iter().position(|c| c == value).map(|i| i as f64)
        }
        Distribution::Fixed(_) => None,
        d => d.to_unit(value),
    }
}

/// The value a coordinate stands for.
pub(crate) fn value_of(param: &Param, x: f64) -> Value {
    match &param.distribution {
        Distribution::Categorical(choices) => choices[(x as usize).min(choices.len() - 1)].clone(),
        d => d.from_unit(x),
    }
}

/// The assignment a point stands for: each parameter's value at its coordinate.
pub(crate) fn assignment_of(params: &[&Param], x: &[f64]) -> crate::space::Assignment {
    params
        .iter()
        .zip(x)
        .map(|(p, &xj)| (p.name.clone(), value_of(p, xj)))
        .collect()
}

impl ParzenEstimator {
    /// Fits the estimator to `points` (each with one coordinate per parameter, oldest first).
    pub(crate) fn fit(params: &[&Param], points: &[Point], prior_weight: f64) -> Self {
        let n = points.len();
        let mut weights = age_weights(n);
        weights.push(if n == 0 { 1.0 } else { prior_weight });
        let total: f64 = weights.iter().sum();
        weights.iter_mut().for_each(|w| *w /= total);
        let axes = params
            .iter()
            .enumerate()
            .map(|(j, param)| {
                let column: Vec<f64> = points.iter().map(|p| p[j]).collect();
                match &param.distribution {
                    Distribution::Categorical(choices) => {
                        categorical_axis(&column, choices.len(), prior_weight)
                    }
                    d => numeric_axis(d.clone(), column),
                }
            })
            .collect();
        Self { axes, weights }
    }

    /// A point drawn from the mixture (integers snapped to their grid, so the point is a
    /// value the space allows).
    pub(crate) fn sample(&self, params: &[&Param], rng: &mut SeededRng) -> Point {
        let k = sample_index(&self.weights, rng);
        self.axes
            .iter()
            .zip(params)
            .map(|(axis, param)| match axis {
                Axis::Numeric {
                    distribution,
                    mus,
                    sigmas,
                    ..
                } => {
                    let u = normal::draw_unit(mus[k], sigmas[k], rng);
                    match distribution.unit_cell(&value_of(param, u)) {
                        Some((a, b)) => 0.5 * (a + b),
                        None => u,
                    }
                }
                Axis::Categorical { probs } => sample_index(&probs[k], rng) as f64,
            })
            .collect()
    }

    /// ln of the density at `x` (for integers, the probability of the value's cell; for
    /// choices, of the choice).
    pub(crate) fn log_pdf(&self, x: &[f64]) -> f64 {
        let mut per_kernel: Vec<f64> = self.weights.iter().map(|w| w.ln()).collect();
        for (axis, &xj) in self.axes.iter().zip(x) {
            match axis {
                Axis::Numeric {
                    distribution,
                    mus,
                    sigmas,
                    log_inside,
                    inv_sigmas,
                    log_norms,
                } => match distribution.unit_cell(&distribution.from_unit(xj)) {
                    Some((a, b)) => {
                        for (k, lp) in per_kernel.iter_mut().enumerate() {
                            let mass = normal::mass(mus[k], sigmas[k], a, b);
                            *lp += mass.max(1e-300).ln() - log_inside[k];
                        }
                    }
                    None => {
                        for (k, lp) in per_kernel.iter_mut().enumerate() {
                            let z = (xj - mus[k]) * inv_sigmas[k];
                            *lp += log_norms[k] - 0.5 * z * z;
                        }
                    }
                },
                Axis::Categorical { probs } => {
                    let i = xj as usize;
                    for (lp, p) in per_kernel.iter_mut().zip(probs) {
                        *lp += p.get(i).copied().unwrap_or(0.0).max(1e-300).ln();
                    }
                }
            }
        }
        log_sum_exp(&per_kernel)
    }
}

fn log_sum_exp(xs: &[f64]) -> f64 {
    let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return max;
    }
    max + xs.iter().map(|x| (x - max).exp()).sum::<f64>().ln()
}

fn numeric_axis(distribution: Distribution, column: Vec<f64>) -> Axis {
    let n = column.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| column[a].total_cmp(&column[b]));
    // The sorted centres with the range's ends as outer neighbours.
    let mut sorted = Vec::with_capacity(n + 2);
    sorted.push(0.0);
    sorted.extend(order.iter().map(|&i| column[i]));
    sorted.push(1.0);
    let min_sigma = 1.0 / (n as f64 + 2.0).min(100.0);
    let mut sigmas = vec![1.0; n];
    for (rank, &i) in order.iter().enumerate() {
        let at = rank + 1;
        let gap = if n >= 2 && rank == 0 {
            sorted[2] - sorted[1]
        } else if n >= 2 && rank == n - 1 {
            sorted[n] - sorted[n - 1]
        } else {
            (sorted[at] - sorted[at - 1]).max(sorted[at + 1] - sorted[at])
        };
        sigmas[i] = gap.clamp(min_sigma, 1.0);
    }
    let mut mus = column;
    mus.push(0.5);
    sigmas.push(1.0);
    let log_inside: Vec<f64> = mus
        .iter()
        .zip(&sigmas)
        .map(|(&mu, &sigma)| normal::mass(mu, sigma, 0.0, 1.0).max(1e-300).ln())
        .collect();
    let inv_sigmas = sigmas.iter().map(|s| 1.0 / s).collect();
    let log_norms = sigmas
        .iter()
        .zip(&log_inside)
        .map(|(s, inside)| -normal::LN_SQRT_2PI - s.ln() - inside)
        .collect();
    Axis::Numeric {
        distribution,
        mus,
        sigmas,
        log_inside,
        inv_sigmas,
        log_norms,
    }
}

fn categorical_axis(column: &[f64], choices: usize, prior_weight: f64) -> Axis {
    let kernels = column.len() + 1;
    let base = prior_weight / kernels as f64;
    let mut probs: Vec<Vec<f64>> = column
        .iter()
        .map(|&x| {
            let mut row = vec![base; choices];
            if let Some(slot) = row.get_mut(x as usize) {
                *slot += 1.0;
            }
            let total: f64 = row.iter().sum();
            row.iter().map(|p| p / total).collect()
        })
        .collect();
    probs.push(vec![1.0 / choices as f64; choices]);
    Axis::Categorical { probs }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::SearchSpace;
    use anneal_rng::derive_rng;

    fn param(name: &str, distribution: Distribution) -> Param {
        Param {
            name: name.into(),
            distribution,
            when: Default::default(),
            per_layer: None,
        }
    }

    #[test]
    fn a_real_density_integrates_to_one() {
        let x = param(
            "x",
            Distribution::Float {
                low: 0.0,
                high: 1.0,
                log: false,
            },
        );
        let points: Vec<Point> = [0.02, 0.3, 0.31, 0.97].iter().map(|&v| vec![v]).collect();
        let estimator = ParzenEstimator::fit(&[&x], &points, 1.0);
        // Simpson's rule on [0, 1].
        let m = 20_000;
        let h = 1.0 / m as f64;
        let integral: f64 = (0..=m)
            .map(|i| {
                let w = if i == 0 || i == m {
                    1.0
                } else if i % 2 == 1 {
                    4.0
                } else {
                    2.0
                };
                w * estimator.log_pdf(&[i as f64 * h]).exp()
            })
            .sum::<f64>()
            * h
            / 3.0;
        assert!((integral - 1.0).abs() < 1e-6, "∫ p = {integral}");
    }

    #[test]
    fn integer_and_choice_probabilities_sum_to_one() {
        let space = SearchSpace {
            params: vec![
                param(
                    "n",
                    Distribution::Int {
                        low: 1,
                        high: 64,
                        log: true,
                        step: 1,
                    },
                ),
                param(
                    "c",
                    Distribution::Categorical(vec!["a".into(), "b".into(), "c".into()]),
                ),
            ],
        };
        let params: Vec<&Param> = space.params.iter().collect();
        let points: Vec<Point> = [(3, 0), (4, 2), (60, 2)]
            .iter()
            .map(|&(n, c)| vec![coordinate(params[0], &Value::from(n)).unwrap(), c as f64])
            .collect();
        let estimator = ParzenEstimator::fit(&params, &points, 1.0);
        let mut total = 0.0;
        for n in 1..=64 {
            for c in 0..3 {
                let u = coordinate(params[0], &Value::from(n)).unwrap();
                total += estimator.log_pdf(&[u, c as f64]).exp();
            }
        }
        assert!((total - 1.0).abs() < 1e-9, "Σ p = {total}");
        // Draws are valid values.
        let mut rng = derive_rng(0, "parzen", 0);
        for _ in 0..200 {
            let x = estimator.sample(&params, &mut rng);
            let n = value_of(params[0], x[0]).as_i64().unwrap();
            assert!((1..=64).contains(&n));
            assert!(x[1] == 0.0 || x[1] == 1.0 || x[1] == 2.0);
        }
    }
}
