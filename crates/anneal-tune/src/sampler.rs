//! Samplers: grid, random and TPE (tree-structured Parzen estimators, with Optuna's defaults).
//! Every sampler minimises: callers pass `loss` = value for minimised objectives and −value
//! for maximised ones.

use anneal_data::rng::SeededRng;
use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::space::{Assignment, Distribution, Param, SearchSpace, lookup};

/// A finished trial as the samplers see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub assignment: Assignment,
    /// Lower is better.
    pub loss: f64,
    /// A trial still running elsewhere, entered with a made-up ("constant liar") loss.
    pub pending: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SamplerConfig {
    Random,
    /// Every combination, in order; float ranges contribute `points` evenly spaced values
    /// (log-spaced on log ranges), int ranges at most `points` values.
    Grid {
        #[serde(default = "grid_points")]
        points: usize,
    },
    /// Gaussian-process Bayesian optimisation (Matérn-5/2, ARD length scales fitted by marginal
    /// likelihood, expected improvement over `candidates` random points plus local search).
    Gp {
        #[serde(default = "startup")]
        startup_trials: usize,
        #[serde(default = "gp_candidates")]
        candidates: usize,
    },
    /// Optuna's TPE defaults: 10 random start-up trials, 24 expected-improvement candidates,
    /// γ(n) = min(⌈0.1·n⌉, 25) trials in the "good" group, prior weight 1.
    Tpe {
        #[serde(default = "startup")]
        startup_trials: usize,
        #[serde(default = "candidates")]
        candidates: usize,
        #[serde(default = "prior_weight")]
        prior_weight: f64,
        /// Model the unconditional parameters jointly (Optuna's `multivariate=True`), so
        /// interactions such as learning rate × batch size are learnt; conditional and
        /// per-layer parameters are still modelled one by one.
        #[serde(default)]
        multivariate: bool,
    },
}

fn grid_points() -> usize {
    5
}
fn startup() -> usize {
    10
}
fn candidates() -> usize {
    24
}
fn gp_candidates() -> usize {
    500
}
fn prior_weight() -> f64 {
    1.0
}

impl Default for SamplerConfig {
    fn default() -> Self {
        SamplerConfig::Tpe {
            startup_trials: startup(),
            candidates: candidates(),
            prior_weight: prior_weight(),
            multivariate: false,
        }
    }
}

impl SamplerConfig {
    pub fn name(&self) -> &'static str {
        match self {
            SamplerConfig::Random => "random",
            SamplerConfig::Grid { .. } => "grid",
            SamplerConfig::Tpe { .. } => "tpe",
            SamplerConfig::Gp { .. } => "gp",
        }
    }

    /// The parameters of the next trial, or `None` when a grid is exhausted.
    pub fn suggest(
        &self,
        space: &SearchSpace,
        history: &[Observation],
        rng: &mut SeededRng,
    ) -> Option<Assignment> {
        match *self {
            SamplerConfig::Random => Some(random_assignment(space, rng)),
            SamplerConfig::Gp {
                startup_trials,
                candidates,
            } => {
                let completed = history.iter().filter(|o| !o.pending).count();
                if completed < startup_trials.max(2) {
                    return Some(random_assignment(space, rng));
                }
                Some(
                    crate::gp::suggest(space, history, candidates.max(1), rng)
                        .unwrap_or_else(|| random_assignment(space, rng)),
                )
            }
            // The first point no finished or running trial holds: points of failed or
            // interrupted trials are tried again, and parallel workers take different points.
            SamplerConfig::Grid { points } => grid(space, points.max(1))
                .into_iter()
                .find(|point| !history.iter().any(|o| &o.assignment == point)),
            SamplerConfig::Tpe {
                startup_trials,
                candidates,
                prior_weight,
                multivariate,
            } => {
                let completed = history.iter().filter(|o| !o.pending).count();
                if completed < startup_trials {
                    return Some(sample_each(space, |_, d, _| random_value(d, rng)));
                }
                // One split of all trials into the best γ(n) and the rest (history is in
                // trial order, which the split keeps for the age weights).
                let mut ranked: Vec<usize> = (0..history.len()).collect();
                ranked.sort_by(|&a, &b| history[a].loss.total_cmp(&history[b].loss));
                let n_good = gamma(history.len()).max(1);
                let mut good_flags = vec![false; history.len()];
                for &i in &ranked[..n_good] {
                    good_flags[i] = true;
                }
                let group = |want: bool| -> Vec<&Observation> {
                    history
                        .iter()
                        .zip(&good_flags)
                        .filter(|(_, g)| **g == want)
                        .map(|(o, _)| o)
                        .collect()
                };
                let (good, bad) = (group(true), group(false));
                let joint = if multivariate {
                    crate::multivariate::suggest_joint(
                        space,
                        &good,
                        &bad,
                        candidates.max(1),
                        prior_weight,
                        rng,
                    )
                } else {
                    Vec::new()
                };
                Some(sample_each(space, |param, d, _| {
                    match lookup(&joint, &param.name) {
                        Some(v) => v.clone(),
                        None => {
                            tpe_value(param, d, &good, &bad, candidates.max(1), prior_weight, rng)
                        }
                    }
                }))
            }
        }
    }
}

/// A uniformly random point of the space (conditional parameters only where active).
pub(crate) fn random_assignment(space: &SearchSpace, rng: &mut SeededRng) -> Assignment {
    sample_each(space, |_, d, _| random_value(d, rng))
}

/// Walks the space in order, choosing a value for each active parameter.
pub(crate) fn sample_each(
    space: &SearchSpace,
    mut choose: impl FnMut(&Param, &Distribution, &Assignment) -> toml::Value,
) -> Assignment {
    let mut chosen: Assignment = Vec::with_capacity(space.params.len());
    for param in &space.params {
        if !SearchSpace::is_active(param, &chosen) {
            continue;
        }
        let value = match &param.per_layer {
            None => choose(param, &param.distribution, &chosen),
            Some(size) => {
                let layers = lookup(&chosen, size)
                    .and_then(toml::Value::as_integer)
                    .unwrap_or(1)
                    .max(1);
                let entries = (0..layers)
                    .map(|i| {
                        let layer = Param {
                            name: format!("{}[{i}]", param.name),
                            distribution: param.distribution.clone(),
                            when: Default::default(),
                            per_layer: None,
                        };
                        choose(&layer, &layer.distribution, &chosen)
                    })
                    .collect();
                toml::Value::Array(entries)
            }
        };
        chosen.push((param.name.clone(), value));
    }
    chosen
}

fn random_value(distribution: &Distribution, rng: &mut SeededRng) -> toml::Value {
    match distribution {
        Distribution::Fixed(v) => v.clone(),
        Distribution::Categorical(choices) => choices[rng.random_range(0..choices.len())].clone(),
        d => d.from_unit(rng.random::<f64>()),
    }
}

/// The grid's points in order; conditional parameters appear only where active, and
/// combinations that differ only in inactive parameters appear once.
pub fn grid(space: &SearchSpace, points: usize) -> Vec<Assignment> {
    let axes: Vec<Vec<toml::Value>> = space
        .params
        .iter()
        .map(|p| match &p.distribution {
            Distribution::Fixed(v) => vec![v.clone()],
            Distribution::Categorical(choices) => choices.clone(),
            Distribution::Int {
                low, high, step, ..
            } if ((high - low) / step + 1) as usize <= points => (0..=(high - low) / step)
                .map(|k| toml::Value::Integer(low + k * step))
                .collect(),
            d => {
                let mut values: Vec<toml::Value> = (0..points)
                    .map(|k| {
                        d.from_unit(if points == 1 {
                            0.5
                        } else {
                            k as f64 / (points - 1) as f64
                        })
                    })
                    .collect();
                values.dedup();
                values
            }
        })
        .collect();
    let mut out: Vec<Assignment> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut index = vec![0usize; axes.len()];
    loop {
        let mut chosen: Assignment = Vec::new();
        for (k, param) in space.params.iter().enumerate() {
            if SearchSpace::is_active(param, &chosen) {
                let value = axes[k][index[k]].clone();
                // A per-layer list on a grid: one value for every layer.
                let value = match &param.per_layer {
                    Some(size) => {
                        let layers = lookup(&chosen, size)
                            .and_then(toml::Value::as_integer)
                            .unwrap_or(1)
                            .max(1);
                        toml::Value::Array(vec![value; layers as usize])
                    }
                    None => value,
                };
                chosen.push((param.name.clone(), value));
            }
        }
        if seen.insert(format!("{chosen:?}")) {
            out.push(chosen);
        }
        // Odometer increment, last parameter fastest.
        let mut k = axes.len();
        loop {
            if k == 0 {
                return out;
            }
            k -= 1;
            index[k] += 1;
            if index[k] < axes[k].len() {
                break;
            }
            index[k] = 0;
        }
    }
}

/// γ(n) = min(⌈0.1·n⌉, 25): how many of the best trials form the "good" density.
pub fn gamma(n: usize) -> usize {
    n.div_ceil(10).min(25)
}

fn tpe_value(
    param: &Param,
    distribution: &Distribution,
    good: &[&Observation],
    bad: &[&Observation],
    candidates: usize,
    prior_weight: f64,
    rng: &mut SeededRng,
) -> toml::Value {
    if let Distribution::Fixed(v) = distribution {
        return v.clone();
    }
    // Each group's values of this parameter, from the trials where it was active.
    let values = |group: &[&Observation]| -> Vec<toml::Value> {
        group
            .iter()
            .filter_map(|o| lookup(&o.assignment, &param.name))
            .cloned()
            .collect()
    };
    let (good, bad) = (values(good), values(bad));
    match distribution {
        Distribution::Categorical(choices) => {
            let weights = |group: &[toml::Value]| -> Vec<f64> {
                let ages = age_weights(group.len());
                let mut w = vec![prior_weight / choices.len() as f64; choices.len()];
                for (v, age) in group.iter().zip(ages) {
                    if let Some(i) = choices.iter().position(|c| c == v) {
                        w[i] += age;
                    }
                }
                let total: f64 = w.iter().sum();
                w.iter().map(|x| x / total).collect()
            };
            let (l, g) = (weights(&good), weights(&bad));
            let mut best = (f64::NEG_INFINITY, 0);
            for _ in 0..candidates {
                let i = sample_index(&l, rng);
                let score = l[i].ln() - g[i].ln();
                if score > best.0 {
                    best = (score, i);
                }
            }
            choices[best.1].clone()
        }
        d => {
            let unit = |group: &[toml::Value]| -> Vec<f64> {
                group.iter().filter_map(|v| d.to_unit(v)).collect()
            };
            let l = Parzen::fit(&unit(&good), prior_weight);
            let g = Parzen::fit(&unit(&bad), prior_weight);
            let mut best = (f64::NEG_INFINITY, 0.5);
            for _ in 0..candidates {
                let x = l.sample(rng);
                let score = l.log_pdf(x) - g.log_pdf(x);
                if score > best.0 {
                    best = (score, x);
                }
            }
            d.from_unit(best.1)
        }
    }
}

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
struct Parzen {
    mus: Vec<f64>,
    sigmas: Vec<f64>,
    weights: Vec<f64>,
}

impl Parzen {
    fn fit(points: &[f64], prior_weight: f64) -> Self {
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

    fn sample(&self, rng: &mut SeededRng) -> f64 {
        let k = sample_index(&self.weights, rng);
        sample_unit_normal(self.mus[k], self.sigmas[k], rng)
    }

    fn log_pdf(&self, x: f64) -> f64 {
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
