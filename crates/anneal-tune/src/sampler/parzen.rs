//! Parzen estimators on the unit interval, the kernels TPE builds its densities from, and the
//! truncated-normal maths they share with the other samplers.

use anneal_rng::SeededRng;
use rand::RngExt;

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

/// A Parzen estimator on [0, 1]: truncated Gaussians at the observations plus a broad prior
/// (centre 0.5, σ 1) of weight `prior_weight`. Bandwidths follow Optuna: the larger gap to a
/// neighbour, clipped to [1 / min(100, n + 1), 1].
pub(crate) struct Parzen {
    mus: Vec<f64>,
    sigmas: Vec<f64>,
    weights: Vec<f64>,
}

impl Parzen {
    pub(crate) fn fit(points: &[f64], prior_weight: f64) -> Self {
        let n = points.len();
        let mut mus: Vec<f64> = points.to_vec();
        mus.push(0.5); // the prior
        let mut order: Vec<usize> = (0..mus.len()).collect();
        order.sort_by(|&a, &b| mus[a].total_cmp(&mus[b]));
        // Bandwidth: the larger gap to a neighbour (an end kernel has only its inner one),
        // clipped to [1 / min(100, n + 2), 1] (the count includes the prior).
        let min_sigma = 1.0 / (n as f64 + 2.0).min(100.0);
        let mut sigmas = vec![1.0; mus.len()];
        for (rank, &i) in order.iter().enumerate() {
            if i == n {
                continue; // the prior keeps σ = 1
            }
            let left = (rank > 0).then(|| mus[i] - mus[order[rank - 1]]);
            let right = (rank + 1 < order.len()).then(|| mus[order[rank + 1]] - mus[i]);
            let gap = match (left, right) {
                (Some(l), Some(r)) => l.max(r),
                (Some(g), None) | (None, Some(g)) => g,
                (None, None) => 1.0,
            };
            sigmas[i] = gap.clamp(min_sigma, 1.0);
        }
        let mut weights = age_weights(n);
        weights.push(prior_weight);
        let total: f64 = weights.iter().sum();
        weights.iter_mut().for_each(|w| *w /= total);
        Self {
            mus,
            sigmas,
            weights,
        }
    }

    pub(crate) fn sample(&self, rng: &mut SeededRng) -> f64 {
        let k = sample_index(&self.weights, rng);
        sample_unit_normal(self.mus[k], self.sigmas[k], rng)
    }

    pub(crate) fn log_pdf(&self, x: f64) -> f64 {
        let p: f64 = self
            .mus
            .iter()
            .zip(&self.sigmas)
            .zip(&self.weights)
            .map(|((&mu, &sigma), &w)| w * unit_normal_pdf(x, mu, sigma))
            .sum();
        p.max(1e-300).ln()
    }
}

/// A draw from N(mu, sigma²) truncated to [0, 1], by rejection (the kernels used here keep at
/// least ~34% of their mass inside).
pub(crate) fn sample_unit_normal(mu: f64, sigma: f64, rng: &mut SeededRng) -> f64 {
    for _ in 0..1000 {
        let x = mu + sigma * standard_normal(rng);
        if (0.0..=1.0).contains(&x) {
            return x;
        }
    }
    mu.clamp(0.0, 1.0)
}

/// The density of N(mu, sigma²) truncated to [0, 1].
pub(crate) fn unit_normal_pdf(x: f64, mu: f64, sigma: f64) -> f64 {
    let mass = normal_cdf((1.0 - mu) / sigma) - normal_cdf(-mu / sigma);
    let z = (x - mu) / sigma;
    (-0.5 * z * z).exp() / (sigma * (2.0 * std::f64::consts::PI).sqrt() * mass.max(1e-12))
}

pub(crate) fn standard_normal(rng: &mut SeededRng) -> f64 {
    // Box–Muller.
    let u1: f64 = rng.random::<f64>().max(1e-300);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Φ(x) through erf (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7).
pub(crate) fn normal_cdf(x: f64) -> f64 {
    let z = x / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.3275911 * z.abs());
    let poly = t
        * (0.254829592
            + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    let erf = 1.0 - poly * (-z * z).exp();
    0.5 * (1.0 + if z >= 0.0 { erf } else { -erf })
}
