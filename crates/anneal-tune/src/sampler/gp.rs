//! Gaussian-process Bayesian optimisation: a Matérn-5/2 kernel with one length scale per
//! input (ARD), its hyperparameters fitted by maximising the log marginal likelihood, and
//! expected improvement maximised over candidates drawn from the space itself, so integer and
//! categorical parameters are only ever proposed at valid values.

use anneal_rng::SeededRng;
use nalgebra::{Cholesky, DMatrix, DVector, Dyn};
use rand::RngExt;

use super::parzen::{normal_cdf, standard_normal};
use super::{Observation, RandomSampler, SampleContext, Sampler, random_assignment, sample_each};
use crate::distribution::{Distribution, Value};
use crate::error::Result;
use crate::space::{Assignment, Param, SearchSpace, lookup};

/// The GP sampler; [`super::SamplerConfig::Gp`] documents the settings. It models the
/// parameters every finished trial has (one-hot for choices); others are drawn at random.
#[derive(Debug, Clone, PartialEq)]
pub struct GpSampler {
    /// Random trials before the model is used (at least two).
    pub startup_trials: usize,
    /// Random candidate points scored per suggestion.
    pub candidates: usize,
}

impl Default for GpSampler {
    fn default() -> Self {
        Self {
            startup_trials: 10,
            candidates: 500,
        }
    }
}

impl Sampler for GpSampler {
    fn name(&self) -> &str {
        "gp"
    }

    fn sample_relative(
        &self,
        context: &SampleContext,
        space: &SearchSpace,
        rng: &mut SeededRng,
    ) -> Result<Option<Assignment>> {
        if context.finished() < self.startup_trials.max(2) || space.params.is_empty() {
            return Ok(Some(Vec::new()));
        }
        Ok(Some(
            suggest(space, context.history, self.candidates.max(1), rng)
                .unwrap_or_else(|| random_assignment(space, rng)),
        ))
    }

    /// Parameters outside the modelled space are drawn at random, as Optuna's GP sampler does.
    fn sample_independent(
        &self,
        context: &SampleContext,
        param: &Param,
        rng: &mut SeededRng,
    ) -> Result<Value> {
        RandomSampler.sample_independent(context, param, rng)
    }
}

/// Inputs as the GP sees them: numeric parameters on their unit scale, categories one-hot,
/// inactive parameters at a neutral value.
fn encode(space: &SearchSpace, assignment: &Assignment) -> Vec<f64> {
    let mut x = Vec::new();
    for param in &space.params {
        let value = assignment
            .iter()
            .find(|(n, _)| n == &param.name)
            .map(|(_, v)| v);
        match &param.distribution {
            Distribution::Fixed(_) => {}
            Distribution::Categorical(choices) => {
                x.extend(
                    choices
                        .iter()
                        .map(|c| if Some(c) == value { 1.0 } else { 0.0 }),
                );
            }
            d => x.push(value.and_then(|v| d.to_unit(v)).unwrap_or(0.5)),
        }
    }
    x
}

#[derive(Debug, Clone)]
struct Hyper {
    lengths: Vec<f64>,
    noise: f64,
}

fn matern52(a: &[f64], b: &[f64], lengths: &[f64]) -> f64 {
    let r2: f64 = a
        .iter()
        .zip(b)
        .zip(lengths)
        .map(|((x, y), l)| ((x - y) / l).powi(2))
        .sum();
    let r = (5.0 * r2).sqrt();
    (1.0 + r + 5.0 * r2 / 3.0) * (-r).exp()
}

struct Fitted {
    xs: Vec<Vec<f64>>,
    chol: Cholesky<f64, Dyn>,
    alpha: DVector<f64>,
    hyper: Hyper,
}

/// Fits the GP to standardised targets `y` for hyperparameters `hyper`; returns it with the
/// log marginal likelihood.
fn fit(xs: &[Vec<f64>], y: &DVector<f64>, hyper: Hyper) -> Option<(Fitted, f64)> {
    let n = xs.len();
    let k = DMatrix::from_fn(n, n, |i, j| {
        matern52(&xs[i], &xs[j], &hyper.lengths) + if i == j { hyper.noise + 1e-8 } else { 0.0 }
    });
    let chol = k.cholesky()?;
    let alpha = chol.solve(y);
    let log_det: f64 = chol.l().diagonal().iter().map(|d| d.ln()).sum::<f64>() * 2.0;
    let lml =
        -0.5 * y.dot(&alpha) - 0.5 * log_det - 0.5 * n as f64 * (2.0 * std::f64::consts::PI).ln();
    Some((
        Fitted {
            xs: xs.to_vec(),
            chol,
            alpha,
            hyper,
        },
        lml,
    ))
}

impl Fitted {
    /// Posterior mean and standard deviation (standardised units).
    fn predict(&self, x: &[f64]) -> (f64, f64) {
        let k_star = DVector::from_iterator(
            self.xs.len(),
            self.xs
                .iter()
                .map(|xi| matern52(xi, x, &self.hyper.lengths)),
        );
        let mean = k_star.dot(&self.alpha);
        let v = self
            .chol
            .l()
            .solve_lower_triangular(&k_star)
            .unwrap_or_else(|| k_star.clone());
        let var = (1.0 - v.dot(&v)).max(1e-12);
        (mean, var.sqrt())
    }
}

/// Maximises the marginal likelihood over an isotropic grid, then refines each length scale.
fn fit_hyperparameters(xs: &[Vec<f64>], y: &DVector<f64>) -> Option<Fitted> {
    let d = xs.first().map_or(0, Vec::len);
    let mut best: Option<(Fitted, f64)> = None;
    let consider = |hyper: Hyper, best: &mut Option<(Fitted, f64)>| {
        if let Some((f, lml)) = fit(xs, y, hyper) {
            if best.as_ref().is_none_or(|(_, b)| lml > *b) {
                *best = Some((f, lml));
            }
        }
    };
    for &length in &[0.05, 0.1, 0.2, 0.4, 0.8, 1.6] {
        for &noise in &[1e-6, 1e-3, 1e-1] {
            consider(
                Hyper {
                    lengths: vec![length; d],
                    noise,
                },
                &mut best,
            );
        }
    }
    // Coordinate refinement: halve or double each length scale if that helps.
    for j in 0..d {
        for factor in [0.5, 2.0] {
            let mut hyper = best.as_ref()?.0.hyper.clone();
            hyper.lengths[j] = (hyper.lengths[j] * factor).clamp(0.01, 10.0);
            consider(hyper, &mut best);
        }
    }
    best.map(|(f, _)| f)
}

fn normal_pdf(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Expected improvement below `best` (all in standardised units, minimising).
fn expected_improvement(mean: f64, sd: f64, best: f64) -> f64 {
    let z = (best - mean) / sd;
    (best - mean) * normal_cdf(z) + sd * normal_pdf(z)
}

/// The next point by expected improvement, or `None` to fall back to random sampling.
fn suggest(
    space: &SearchSpace,
    history: &[Observation],
    candidates: usize,
    rng: &mut SeededRng,
) -> Option<Assignment> {
    let xs: Vec<Vec<f64>> = history
        .iter()
        .map(|o| encode(space, &o.assignment))
        .collect();
    if xs.first().is_none_or(|x| x.is_empty()) {
        return None;
    }
    let losses: Vec<f64> = history.iter().map(|o| o.loss).collect();
    let mean = losses.iter().sum::<f64>() / losses.len() as f64;
    let sd = (losses.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / losses.len() as f64)
        .sqrt()
        .max(1e-12);
    let y = DVector::from_iterator(losses.len(), losses.iter().map(|l| (l - mean) / sd));
    let gp = fit_hyperparameters(&xs, &y)?;
    let best = y.min();

    // Candidates: random points of the space, then local moves around the incumbents.
    let score = |a: &Assignment| {
        let (m, s) = gp.predict(&encode(space, a));
        expected_improvement(m, s, best)
    };
    let mut pool: Vec<(f64, Assignment)> = (0..candidates)
        .map(|_| {
            let a = random_assignment(space, rng);
            (score(&a), a)
        })
        .collect();
    let mut incumbents: Vec<Assignment> = {
        let mut ranked: Vec<&Observation> = history.iter().collect();
        ranked.sort_by(|a, b| a.loss.total_cmp(&b.loss));
        ranked
            .iter()
            .take(3)
            .map(|o| o.assignment.clone())
            .collect()
    };
    pool.sort_by(|a, b| b.0.total_cmp(&a.0));
    incumbents.extend(pool.iter().take(3).map(|(_, a)| a.clone()));
    for start in incumbents {
        let mut current = (score(&start), start);
        for step in [0.1, 0.05, 0.02, 0.01] {
            for _ in 0..10 {
                let moved = perturb(space, &current.1, step, rng);
                let s = score(&moved);
                if s > current.0 {
                    current = (s, moved);
                }
            }
        }
        pool.push(current);
    }
    pool.into_iter()
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, a)| a)
}

/// Moves every numeric parameter by a Gaussian step on its unit scale (snapped to valid
/// values); re-draws a category with probability `5 · step` (a larger chance than a numeric
/// move gets, since a category has no small steps).
fn perturb(space: &SearchSpace, from: &Assignment, step: f64, rng: &mut SeededRng) -> Assignment {
    sample_each(space, |param, _| {
        let old = lookup(from, &param.name).cloned();
        match (&param.distribution, old) {
            (Distribution::Fixed(v), _) => v.clone(),
            (Distribution::Categorical(choices), Some(v))
                if rng.random::<f64>() >= step * 5.0 && choices.contains(&v) =>
            {
                v
            }
            (Distribution::Categorical(choices), _) => {
                choices[rng.random_range(0..choices.len())].clone()
            }
            (d, Some(v)) => {
                let u = d.to_unit(&v).unwrap_or(0.5) + step * standard_normal(rng);
                d.from_unit(u)
            }
            (d, None) => d.from_unit(rng.random::<f64>()),
        }
    })
}
