//! Log expected improvement (Ament et al., 2023) and its maximisation over a mixed space:
//! 2,048 scrambled Sobol points, then local searches from the best of them, from points picked
//! by a roulette on their values, and from the incumbents. A local search alternates L-BFGS-B
//! over the continuous inputs with an exhaustive pass over each discrete one, as Optuna's does.

use anneal_rng::SeededRng;
use rand::RngExt;
use rcompat_lbfgsb::{Bounds, OptimControl, optim_lbfgsb_with_gradient};

use super::model::Gp;
use crate::sampler::normal;

/// How an input may vary, on its unit scale.
#[derive(Debug, Clone)]
pub(crate) enum Input {
    /// Any value in [0, 1].
    Continuous,
    /// One of these values (an integer's cell centres, or a choice's index).
    Discrete(Vec<f64>),
}

impl Input {
    /// The nearest allowed value.
    fn snap(&self, x: f64) -> f64 {
        match self {
            Input::Continuous => x.clamp(0.0, 1.0),
            Input::Discrete(values) => *values
                .iter()
                .min_by(|a, b| (*a - x).abs().total_cmp(&(*b - x).abs()))
                .unwrap_or(&x),
        }
    }

    /// Searched by L-BFGS-B (and snapped after) rather than value by value: reals, and
    /// integers with many values.
    fn is_smooth(&self, categorical: bool) -> bool {
        match self {
            Input::Continuous => true,
            Input::Discrete(values) => !categorical && values.len() > EXHAUSTIVE_LIMIT,
        }
    }
}

/// Integers with at most this many values are searched value by value.
const EXHAUSTIVE_LIMIT: usize = 32;
const PRELIMINARY_POINTS: u32 = 2048;
const LOCAL_SEARCHES: usize = 10;

/// ln h(z) with h(z) = φ(z) + z·Φ(z), so that EI = σ·h((best − μ)/σ), accurate for any z:
/// directly where h is not small, through the scaled complementary error function
/// (h = φ(z)·(1 − |z|·√(π/2)·erfcx(|z|/√2))) in the lower tail, and by its asymptotic series
/// (h ≈ φ(z)/z²·(1 − 3/z² + 15/z⁴)) far out, where even erfcx's last bits would cancel.
pub(crate) fn log_h(z: f64) -> f64 {
    let log_phi = -0.5 * z * z - normal::LN_SQRT_2PI;
    if z > -1.0 {
        (normal::pdf(z) + z * normal::cdf(z)).ln()
    } else if z > -1e3 {
        let a = -z;
        let t =
            (a * (std::f64::consts::PI / 2.0).sqrt() * pxfm::f_erfcx(a / std::f64::consts::SQRT_2))
                .ln();
        log_phi + log1mexp(t)
    } else {
        let w = 1.0 / (z * z);
        log_phi + w.ln() + (-3.0 * w + 15.0 * w * w).ln_1p()
    }
}

/// ln(1 − eᵗ) for t < 0, without cancellation.
fn log1mexp(t: f64) -> f64 {
    if t > -std::f64::consts::LN_2 {
        (-t.exp_m1()).ln()
    } else {
        (-t.exp()).ln_1p()
    }
}

/// ln Φ(z), accurate in the lower tail.
fn log_cdf(z: f64) -> f64 {
    if z < 0.0 {
        (0.5 * pxfm::f_erfcx(-z / std::f64::consts::SQRT_2)).ln() - 0.5 * z * z
    } else {
        (-0.5 * pxfm::f_erfc(z / std::f64::consts::SQRT_2)).ln_1p()
    }
}

/// ln EI of improving on `best` (minimising) for a posterior N(mean, var), with its
/// derivatives in the mean and the variance.
pub(crate) fn log_ei(mean: f64, var: f64, best: f64) -> (f64, f64, f64) {
    let sigma = var.sqrt();
    let z = (best - mean) / sigma;
    let lh = log_h(z);
    // h'(z) = Φ(z); the ratio Φ/h stays finite in the tail.
    let ratio = (log_cdf(z) - lh).exp();
    let d_mean = -ratio / sigma;
    let d_sigma = 1.0 / sigma - ratio * z / sigma;
    (sigma.ln() + lh, d_mean, d_sigma / (2.0 * sigma))
}

/// The acquisition's maximiser over the space described by `inputs` (`categorical[i]` when
/// input `i` is a choice), searched from Sobol points and from `incumbents`, among the points
/// no trial has taken (`taken`: within 10⁻⁶ of the range in every input is the same point).
/// Where the model has converged, expected improvement peaks at the incumbent itself, and
/// evaluating a point again teaches a deterministic objective nothing: the best search result
/// elsewhere goes instead, else the best Sobol point elsewhere.
pub(crate) fn maximise(
    gp: &Gp,
    inputs: &[Input],
    best: f64,
    incumbents: &[Vec<f64>],
    taken: &[Vec<f64>],
    rng: &mut SeededRng,
) -> Vec<f64> {
    let d = inputs.len();
    let seed: u32 = rng.random();
    let points: Vec<Vec<f64>> = (0..PRELIMINARY_POINTS)
        .map(|i| {
            (0..d)
                .map(|j| {
                    // Sobol has 256 dimensions; beyond them, plain random numbers.
                    let u = if j < 256 {
                        f64::from(sobol_burley::sample(i, j as u32, seed))
                    } else {
                        rng.random()
                    };
                    match &inputs[j] {
                        Input::Discrete(values) => {
                            values[((u * values.len() as f64) as usize).min(values.len() - 1)]
                        }
                        Input::Continuous => u,
                    }
                })
                .collect()
        })
        .collect();
    let values: Vec<f64> = gp
        .predict_many(&points)
        .into_iter()
        .map(|(m, v)| log_ei(m, v, best).0)
        .collect();
    let top = (0..values.len())
        .max_by(|&a, &b| values[a].total_cmp(&values[b]))
        .unwrap_or(0);
    let mut starts: Vec<Vec<f64>> = incumbents.to_vec();
    starts.push(points[top].clone());
    // Roulette on exp(value − max): good regions get most starts, others a chance.
    let mut weights: Vec<f64> = values.iter().map(|v| (v - values[top]).exp()).collect();
    weights[top] = 0.0;
    while starts.len() < LOCAL_SEARCHES {
        let total: f64 = weights.iter().sum();
        if !(total > 0.0) {
            break;
        }
        let mut r = rng.random::<f64>() * total;
        let mut pick = weights.len() - 1;
        for (i, w) in weights.iter().enumerate() {
            if r < *w {
                pick = i;
                break;
            }
            r -= w;
        }
        weights[pick] = 0.0;
        starts.push(points[pick].clone());
    }
    let categorical = gp.categorical.clone();
    let fresh = |x: &Vec<f64>| !taken.iter().any(|t| same_point(t, x));
    let mut found: Vec<(Vec<f64>, f64)> = starts
        .into_iter()
        .map(|start| local_search(gp, inputs, &categorical, best, start))
        .collect();
    found.sort_by(|a, b| b.1.total_cmp(&a.1));
    if let Some((x, _)) = found.iter().find(|(x, _)| fresh(x)) {
        return x.clone();
    }
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    order
        .into_iter()
        .map(|i| &points[i])
        .find(|x| fresh(x))
        .or(found.first().map(|(x, _)| x))
        .unwrap_or(&points[top])
        .clone()
}

/// Whether two points on the unit scale are the same trial: within 10⁻⁶ of the range in every
/// input (discrete inputs, which sit on their values, must be equal).
fn same_point(a: &[f64], b: &[f64]) -> bool {
    a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-6)
}

fn value_at(gp: &Gp, x: &[f64], best: f64) -> f64 {
    let (m, v) = gp.predict_many(&[x.to_vec()])[0];
    log_ei(m, v, best).0
}

fn local_search(
    gp: &Gp,
    inputs: &[Input],
    categorical: &[bool],
    best: f64,
    start: Vec<f64>,
) -> (Vec<f64>, f64) {
    let snap = |x: &mut Vec<f64>| {
        for (xj, input) in x.iter_mut().zip(inputs) {
            *xj = input.snap(*xj);
        }
    };
    let mut x = start;
    snap(&mut x);
    let mut value = value_at(gp, &x, best);
    let smooth: Vec<usize> = (0..inputs.len())
        .filter(|&j| inputs[j].is_smooth(categorical[j]))
        .collect();
    for _ in 0..10 {
        let before = value;
        if !smooth.is_empty() {
            let (mut moved, _) = gradient_ascent(gp, &x, &smooth, best);
            snap(&mut moved);
            let moved_value = value_at(gp, &moved, best);
            if moved_value > value {
                (x, value) = (moved, moved_value);
            }
        }
        // Rounding the relaxed optimum of an integer can land beside a better value: search
        // its grid from there (Optuna does the same beyond its exhaustive limit).
        for (j, input) in inputs.iter().enumerate() {
            let Input::Discrete(values) = input else {
                continue;
            };
            if !input.is_smooth(categorical[j]) {
                continue;
            }
            let Some(at) = values.iter().position(|v| *v == x[j]) else {
                continue;
            };
            let (index, found) = grid_line_search(values.len(), at, value, |k| {
                let mut y = x.clone();
                y[j] = values[k];
                value_at(gp, &y, best)
            });
            if found > value {
                x[j] = values[index];
                value = found;
            }
        }
        for (j, input) in inputs.iter().enumerate() {
            let Input::Discrete(values) = input else {
                continue;
            };
            if input.is_smooth(categorical[j]) {
                continue;
            }
            for &candidate in values {
                if candidate == x[j] {
                    continue;
                }
                let mut y = x.clone();
                y[j] = candidate;
                let v = value_at(gp, &y, best);
                if v > value {
                    (x, value) = (y, v);
                }
            }
        }
        if value <= before + 1e-9 * before.abs().max(1.0) {
            break;
        }
    }
    (x, value)
}

/// The best grid index near `start` (whose value is `start_value`) for `f`: from the current
/// index, steps of 1, 2, 4, … cells each way, moving to the best one found, until no step
/// improves. O(log n) evaluations a pass, and it never leaves the grid.
fn grid_line_search(
    len: usize,
    start: usize,
    start_value: f64,
    f: impl Fn(usize) -> f64,
) -> (usize, f64) {
    let (mut at, mut value) = (start, start_value);
    loop {
        let mut best = (at, value);
        for forward in [false, true] {
            let mut step = 1;
            while step < len {
                let k = if forward {
                    at + step
                } else if step <= at {
                    at - step
                } else {
                    break;
                };
                if k >= len {
                    break;
                }
                let v = f(k);
                if v > best.1 {
                    best = (k, v);
                }
                step *= 2;
            }
        }
        if best.0 == at {
            return (at, value);
        }
        (at, value) = best;
    }
}

/// L-BFGS-B on ln EI over the inputs `free`, the others held at `x`'s values.
fn gradient_ascent(gp: &Gp, x: &[f64], free: &[usize], best: f64) -> (Vec<f64>, f64) {
    let full = |z: &[f64]| -> Vec<f64> {
        let mut p = x.to_vec();
        for (&j, &v) in free.iter().zip(z) {
            p[j] = v;
        }
        p
    };
    let evaluate = |z: &[f64]| -> (f64, Vec<f64>) {
        let (m, v, dm, dv) = gp.predict_with_gradient(&full(z));
        let (value, d_mean, d_var) = log_ei(m, v, best);
        let grad = free
            .iter()
            .map(|&j| -(d_mean * dm[j] + d_var * dv[j]))
            .collect();
        (-value, grad)
    };
    let cache = std::cell::RefCell::new((Vec::<f64>::new(), 0.0, Vec::<f64>::new()));
    let cached = |z: &[f64]| {
        let mut c = cache.borrow_mut();
        if c.0 != z {
            let (f, g) = evaluate(z);
            *c = (z.to_vec(), f, g);
        }
        (c.1, c.2.clone())
    };
    let z0: Vec<f64> = free.iter().map(|&j| x[j]).collect();
    let mut control = OptimControl::default_for_dimension(free.len());
    control.maxit = 100;
    control.pgtol = 1e-4;
    let bounds = Bounds::new(vec![0.0; free.len()], vec![1.0; free.len()]);
    match bounds.ok().and_then(|b| {
        optim_lbfgsb_with_gradient(z0.clone(), b, |z| cached(z).0, |z| cached(z).1, control).ok()
    }) {
        Some(r) if r.value.is_finite() => (full(&r.par), -r.value),
        _ => (full(&z0), f64::NEG_INFINITY),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_h_matches_a_high_precision_reference_deep_in_the_tail() {
        // ln(φ(z) + zΦ(z)) from mpmath at 60 digits.
        let reference = [
            (2.0, 0.697_383_545_788_228_3),
            (0.0, -0.918_938_533_204_672_7),
            (-1.0, -2.485_121_025_712_641_3),
            (-5.0, -16.744_301_162_660_99),
            (-10.0, -55.553_122_036_122_356),
            (-40.0, -808.298_568_356_619_96),
            (-1000.0, -500_014.734_452_091_16),
            (-1e5, -5_000_000_023.944_789_5),
            (-1e8, -5_000_000_000_000_037.76),
        ];
        for (z, expected) in reference {
            let got = log_h(z);
            assert!(
                ((got - expected) / expected).abs() < 1e-12,
                "ln h({z}) = {got}, expected {expected}"
            );
        }
        // The naive formula is garbage there: the point of the stable one.
        let naive = (normal::pdf(-40.0) + -40.0 * normal::cdf(-40.0)).ln();
        assert!(!naive.is_finite() || (naive + 808.3).abs() > 1.0);
    }

    #[test]
    fn the_grid_line_search_finds_the_better_neighbour_rounding_misses() {
        // A relaxed optimum at 37.4 rounds to 37, but 38 is better on the grid; and from far
        // away the doubling steps still reach the peak.
        let f = |k: usize| -((k as f64 - 37.4).powi(2)) + if k == 38 { 1.0 } else { 0.0 };
        assert_eq!(grid_line_search(1000, 37, f(37), f).0, 38);
        assert_eq!(grid_line_search(1000, 900, f(900), f).0, 38);
        assert_eq!(grid_line_search(1000, 0, f(0), f).0, 38);
        // At the optimum it stays; a one-value grid has nowhere to go.
        assert_eq!(grid_line_search(1000, 38, f(38), f), (38, f(38)));
        assert_eq!(grid_line_search(1, 0, 0.5, |_| 1.0), (0, 0.5));
    }

    #[test]
    fn log_ei_derivatives_match_finite_differences() {
        for (mean, var, best) in [(0.3, 0.04, 0.1), (2.0, 0.01, -1.0), (-0.5, 1.0, 0.0)] {
            let (_, dm, dv) = log_ei(mean, var, best);
            let h = 1e-7;
            let num_m = (log_ei(mean + h, var, best).0 - log_ei(mean - h, var, best).0) / (2.0 * h);
            let num_v = (log_ei(mean, var + h, best).0 - log_ei(mean, var - h, best).0) / (2.0 * h);
            assert!(
                (dm - num_m).abs() < 1e-5 * (1.0 + num_m.abs()),
                "d/dμ {dm} vs {num_m}"
            );
            assert!(
                (dv - num_v).abs() < 1e-5 * (1.0 + num_v.abs()),
                "d/dσ² {dv} vs {num_v}"
            );
        }
    }
}
