//! Multivariate TPE: one joint Parzen estimator over the unconditional parameters (a product
//! kernel per observation), as Optuna's `multivariate=True`. Numeric dimensions use Scott-style
//! bandwidths `0.2 · n^(−1/(d+4))` on the unit scale; categorical ones a kernel that keeps most
//! of its mass on the observed category.

use anneal_rng::SeededRng;
use rand::RngExt;

use super::Observation;
use super::parzen::{age_weights, sample_index, sample_unit_normal, unit_normal_pdf};
use crate::distribution::Distribution;
use crate::space::{Assignment, Param, SearchSpace, lookup};

/// One observation (or the prior) as a kernel: per dimension a unit-scale centre, or a
/// category index (`None` for the prior's uniform categories).
struct Kernel {
    centres: Vec<Option<f64>>,
}

struct Joint<'a> {
    params: Vec<&'a Param>,
    kernels: Vec<Kernel>,
    weights: Vec<f64>,
    sigma: f64,
}

fn categories(param: &Param) -> Option<usize> {
    match &param.distribution {
        Distribution::Categorical(c) => Some(c.len()),
        _ => None,
    }
}

impl<'a> Joint<'a> {
    fn fit(params: Vec<&'a Param>, group: &[&Observation], prior_weight: f64) -> Self {
        let mut kernels: Vec<Kernel> = group
            .iter()
            .map(|o| Kernel {
                centres: params
                    .iter()
                    .map(|p| {
                        let v = lookup(&o.assignment, &p.name)?;
                        match &p.distribution {
                            Distribution::Categorical(c) => {
                                c.iter().position(|x| x == v).map(|i| i as f64)
                            }
                            d => d.to_unit(v),
                        }
                    })
                    .collect(),
            })
            .collect();
        let n = kernels.len();
        kernels.push(Kernel {
            centres: vec![None; params.len()],
        });
        let mut weights = age_weights(n);
        weights.push(prior_weight);
        let total: f64 = weights.iter().sum();
        weights.iter_mut().for_each(|w| *w /= total);
        let d = params.len() as f64;
        let sigma =
            (0.2 * (n.max(1) as f64).powf(-1.0 / (d + 4.0))).max(1.0 / (n as f64 + 2.0).min(100.0));
        Self {
            params,
            kernels,
            weights,
            sigma,
        }
    }

    /// Probability kept on a kernel's own category.
    fn keep(&self, k: usize) -> f64 {
        let n = (self.kernels.len() - 1) as f64;
        1.0 - (k as f64 - 1.0) / k as f64 / (n + 1.0)
    }

    fn sample(&self, rng: &mut SeededRng) -> Vec<f64> {
        let kernel = &self.kernels[sample_index(&self.weights, rng)];
        self.params
            .iter()
            .zip(&kernel.centres)
            .map(|(p, centre)| match (categories(p), centre) {
                (Some(k), Some(c)) if k < 2 || rng.random::<f64>() < self.keep(k) => *c,
                // Otherwise one of the other k − 1 categories, as `log_pdf` assumes.
                (Some(k), Some(c)) => {
                    let other = rng.random_range(0..k - 1) as f64;
                    if other >= *c { other + 1.0 } else { other }
                }
                (Some(k), None) => rng.random_range(0..k) as f64,
                (None, centre) => {
                    let (mu, sigma) = centre.map_or((0.5, 1.0), |c| (c, self.sigma));
                    sample_unit_normal(mu, sigma, rng)
                }
            })
            .collect()
    }

    fn log_pdf(&self, x: &[f64]) -> f64 {
        let mut total = 0.0;
        for (kernel, w) in self.kernels.iter().zip(&self.weights) {
            let mut p = *w;
            for ((param, centre), &xi) in self.params.iter().zip(&kernel.centres).zip(x) {
                p *= match (categories(param), centre) {
                    (Some(k), Some(c)) => {
                        if (*c - xi).abs() < 0.5 {
                            self.keep(k)
                        } else {
                            (1.0 - self.keep(k)) / (k as f64 - 1.0).max(1.0)
                        }
                    }
                    (Some(k), None) => 1.0 / k as f64,
                    (None, centre) => {
                        let (mu, sigma) = centre.map_or((0.5, 1.0), |c| (c, self.sigma));
                        unit_normal_pdf(xi, mu, sigma)
                    }
                };
            }
            total += p;
        }
        total.max(1e-300).ln()
    }
}

/// Values for the unconditional, single-valued parameters of `space`, chosen jointly by
/// l(x)/g(x); empty when fewer than two such parameters leave nothing joint to model.
pub(crate) fn suggest_joint(
    space: &SearchSpace,
    good: &[&Observation],
    bad: &[&Observation],
    candidates: usize,
    prior_weight: f64,
    rng: &mut SeededRng,
) -> Assignment {
    let params: Vec<&Param> = space
        .params
        .iter()
        .filter(|p| {
            p.when.is_empty()
                && p.per_layer.is_none()
                && !matches!(p.distribution, Distribution::Fixed(_))
        })
        .collect();
    if params.len() < 2 {
        return Vec::new(); // nothing joint to model: the univariate path covers it
    }
    let l = Joint::fit(params.clone(), good, prior_weight);
    let g = Joint::fit(params.clone(), bad, prior_weight);
    let mut best = (f64::NEG_INFINITY, Vec::new());
    for _ in 0..candidates {
        let x = l.sample(rng);
        let score = l.log_pdf(&x) - g.log_pdf(&x);
        if score > best.0 {
            best = (score, x);
        }
    }
    params
        .iter()
        .zip(best.1)
        .map(|(p, x)| {
            let value = match &p.distribution {
                Distribution::Categorical(c) => c[(x as usize).min(c.len() - 1)].clone(),
                d => d.from_unit(x),
            };
            (p.name.clone(), value)
        })
        .collect()
}
