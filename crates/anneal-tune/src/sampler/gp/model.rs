//! The Gaussian process: a Matérn-5/2 kernel with one inverse squared length scale per input
//! (Hamming distance for categorical inputs, as Optuna's), an amplitude and a noise variance,
//! fitted by maximising the log marginal likelihood plus Optuna's weak priors with L-BFGS-B
//! and analytic gradients.

use nalgebra::{Cholesky, DMatrix, DVector, Dyn};
use rcompat_lbfgsb::{Bounds, OptimControl, optim_lbfgsb_with_gradient};

/// The smallest noise variance (standardised units): keeps the kernel matrix invertible.
pub(crate) const MINIMUM_NOISE: f64 = 1e-6;

const SQRT5: f64 = 2.236_067_977_499_79;

/// The kernel's hyperparameters.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Hyper {
    /// Inverse squared length scale per input.
    pub ils: Vec<f64>,
    /// The kernel's amplitude (prior variance of f).
    pub scale: f64,
    /// The observation noise variance.
    pub noise: f64,
}

impl Hyper {
    pub(crate) fn initial(dims: usize) -> Self {
        Self {
            ils: vec![1.0; dims],
            scale: 1.0,
            noise: 1e-2,
        }
    }
}

/// Matérn-5/2 as a function of the scaled squared distance r²: (1 + √5 r + 5r²/3)·e^(−√5 r).
pub(crate) fn matern(r2: f64) -> f64 {
    let r = r2.max(0.0).sqrt();
    (1.0 + SQRT5 * r + 5.0 / 3.0 * r2) * (-SQRT5 * r).exp()
}

/// d matern / d r² = −(5/6)(1 + √5 r)·e^(−√5 r) (finite at r = 0).
pub(crate) fn matern_slope(r2: f64) -> f64 {
    let r = r2.max(0.0).sqrt();
    -5.0 / 6.0 * (1.0 + SQRT5 * r) * (-SQRT5 * r).exp()
}

/// Input `i`'s contribution to the squared distance before scaling.
#[inline]
pub(crate) fn gap2(a: f64, b: f64, categorical: bool) -> f64 {
    if categorical {
        if a == b { 0.0 } else { 1.0 }
    } else {
        (a - b) * (a - b)
    }
}

fn r2(a: &[f64], b: &[f64], ils: &[f64], categorical: &[bool]) -> f64 {
    let mut total = 0.0;
    for i in 0..a.len() {
        total += ils[i] * gap2(a[i], b[i], categorical[i]);
    }
    total
}

/// A GP conditioned on observations.
pub(crate) struct Gp {
    pub xs: Vec<Vec<f64>>,
    /// The values it is conditioned on, one per row of `xs`.
    pub y: DVector<f64>,
    pub categorical: Vec<bool>,
    pub hyper: Hyper,
    /// K⁻¹ y.
    pub alpha: DVector<f64>,
    /// The lower Cholesky factor L of K (noise included), K = L·Lᵀ. Variances come from
    /// triangular solves with it, never from K⁻¹: k(x,x) − ‖L⁻¹k‖² keeps its precision next
    /// to an observed point, where k·K⁻¹k cancels against k(x,x) and EI matters most.
    pub l: DMatrix<f64>,
}

/// The Cholesky factor of the kernel matrix with noise, α and the log marginal likelihood.
fn condition(
    xs: &[Vec<f64>],
    y: &DVector<f64>,
    categorical: &[bool],
    hyper: &Hyper,
) -> Option<(Cholesky<f64, Dyn>, DVector<f64>, f64)> {
    let n = xs.len();
    let k = DMatrix::from_fn(n, n, |a, b| {
        hyper.scale * matern(r2(&xs[a], &xs[b], &hyper.ils, categorical))
            + if a == b { hyper.noise } else { 0.0 }
    });
    let chol = k.cholesky()?;
    let alpha = chol.solve(y);
    let log_det: f64 = 2.0 * chol.l().diagonal().iter().map(|d| d.ln()).sum::<f64>();
    let lml =
        -0.5 * y.dot(&alpha) - 0.5 * log_det - 0.5 * n as f64 * (2.0 * std::f64::consts::PI).ln();
    Some((chol, alpha, lml))
}

impl Gp {
    /// The GP with fixed hyperparameters.
    pub(crate) fn new(
        xs: Vec<Vec<f64>>,
        y: &DVector<f64>,
        categorical: Vec<bool>,
        hyper: Hyper,
    ) -> Option<Self> {
        let (chol, alpha, _) = condition(&xs, y, &categorical, &hyper)?;
        Some(Self {
            xs,
            y: y.clone(),
            categorical,
            hyper,
            alpha,
            l: chol.unpack(),
        })
    }

    /// The same GP (hyperparameters unchanged) also conditioned on `values` at `points`; itself
    /// when that fails numerically, rather than no model at all.
    pub(crate) fn conditioned_on(self, points: Vec<Vec<f64>>, values: Vec<f64>) -> Self {
        if points.is_empty() {
            return self;
        }
        let mut xs = self.xs.clone();
        xs.extend(points);
        let y = DVector::from_iterator(
            self.y.len() + values.len(),
            self.y.iter().copied().chain(values),
        );
        Self::new(xs, &y, self.categorical.clone(), self.hyper.clone()).unwrap_or(self)
    }

    /// Fits the hyperparameters (maximum a posteriori) from each of `starts` and keeps the
    /// best; `None` when no start gives a usable fit.
    pub(crate) fn fit(
        xs: Vec<Vec<f64>>,
        y: &DVector<f64>,
        categorical: Vec<bool>,
        starts: &[Hyper],
    ) -> Option<Self> {
        let best = starts
            .iter()
            .filter_map(|start| fit_from(&xs, y, &categorical, start))
            .min_by(|a, b| a.1.total_cmp(&b.1))?;
        Self::new(xs, y, categorical, best.0)
    }

    /// Posterior mean and variance of f at each row of `points`.
    pub(crate) fn predict_many(&self, points: &[Vec<f64>]) -> Vec<(f64, f64)> {
        let (m, n) = (points.len(), self.xs.len());
        let k_star = DMatrix::from_fn(m, n, |i, a| {
            self.hyper.scale
                * matern(r2(
                    &points[i],
                    &self.xs[a],
                    &self.hyper.ils,
                    &self.categorical,
                ))
        });
        let means = &k_star * &self.alpha;
        // Column i of L⁻¹k*ᵀ is L⁻¹k(xᵢ); its squared norm is what observing reduces the
        // prior variance by.
        let Some(v) = self.l.solve_lower_triangular(&k_star.transpose()) else {
            return means.iter().map(|&mean| (mean, self.hyper.scale)).collect();
        };
        (0..m)
            .map(|i| {
                let reduction = v.column(i).norm_squared();
                (means[i], (self.hyper.scale - reduction).max(1e-12))
            })
            .collect()
    }

    /// Posterior mean and variance at `x`, with their gradients in the continuous inputs
    /// (zero for categorical ones).
    pub(crate) fn predict_with_gradient(&self, x: &[f64]) -> (f64, f64, Vec<f64>, Vec<f64>) {
        let (n, d) = (self.xs.len(), x.len());
        let mut k_star = DVector::zeros(n);
        // Per observation, d k / d r² (times the amplitude).
        let mut slopes = vec![0.0; n];
        for a in 0..n {
            let r = r2(x, &self.xs[a], &self.hyper.ils, &self.categorical);
            k_star[a] = self.hyper.scale * matern(r);
            slopes[a] = self.hyper.scale * matern_slope(r);
        }
        let mean = k_star.dot(&self.alpha);
        // L⁻¹k* for the variance, and K⁻¹k* = L⁻ᵀ(L⁻¹k*) for its gradient.
        let w = self
            .l
            .solve_lower_triangular(&k_star)
            .unwrap_or_else(|| DVector::zeros(n));
        let var = (self.hyper.scale - w.norm_squared()).max(1e-12);
        let v = self
            .l
            .tr_solve_lower_triangular(&w)
            .unwrap_or_else(|| DVector::zeros(n));
        let mut d_mean = vec![0.0; d];
        let mut d_var = vec![0.0; d];
        for i in 0..d {
            if self.categorical[i] {
                continue;
            }
            let (mut gm, mut gv) = (0.0, 0.0);
            for a in 0..n {
                // d k(x, x_a) / d x_i
                let dk = slopes[a] * 2.0 * self.hyper.ils[i] * (x[i] - self.xs[a][i]);
                gm += self.alpha[a] * dk;
                gv += v[a] * dk;
            }
            d_mean[i] = gm;
            d_var[i] = -2.0 * gv;
        }
        (mean, var, d_mean, d_var)
    }
}

/// One L-BFGS-B run of the hyperparameters from `start`: the optimum and its objective.
fn fit_from(
    xs: &[Vec<f64>],
    y: &DVector<f64>,
    categorical: &[bool],
    start: &Hyper,
) -> Option<(Hyper, f64)> {
    let d = categorical.len();
    // Parameters: ln ils (d), ln scale, ln(noise − minimum).
    let encode = |h: &Hyper| -> Vec<f64> {
        let mut t: Vec<f64> = h.ils.iter().map(|v| v.ln()).collect();
        t.push(h.scale.ln());
        t.push((h.noise - 0.99 * MINIMUM_NOISE).max(1e-12).ln());
        t
    };
    let decode = |t: &[f64]| Hyper {
        ils: t[..d].iter().map(|v| v.exp()).collect(),
        scale: t[d].exp(),
        noise: MINIMUM_NOISE + t[d + 1].exp(),
    };
    let mut lower = vec![(1e-4f64).ln(); d];
    let mut upper = vec![(1e6f64).ln(); d];
    lower.extend([(1e-3f64).ln(), (1e-12f64).ln()]);
    upper.extend([(1e3f64).ln(), (10.0f64).ln()]);
    let theta0: Vec<f64> = encode(start)
        .iter()
        .zip(lower.iter().zip(&upper))
        .map(|(v, (lo, hi))| v.clamp(*lo, *hi))
        .collect();
    let objective = |t: &[f64]| -> (f64, Vec<f64>) {
        match neg_log_posterior(xs, y, categorical, &decode(t)) {
            Some(v) => v,
            // An unusable corner of the space: steer away from it.
            None => (1e10, vec![0.0; t.len()]),
        }
    };
    let cache = std::cell::RefCell::new((Vec::<f64>::new(), 0.0, Vec::<f64>::new()));
    let evaluate = |t: &[f64]| {
        let mut c = cache.borrow_mut();
        if c.0 != t {
            let (f, g) = objective(t);
            *c = (t.to_vec(), f, g);
        }
        (c.1, c.2.clone())
    };
    let mut control = OptimControl::default_for_dimension(d + 2);
    control.maxit = 50;
    // Optuna's tolerance: a tighter one only chases noise in the likelihood surface.
    control.pgtol = 1e-2;
    let result = optim_lbfgsb_with_gradient(
        theta0.clone(),
        Bounds::new(lower, upper).ok()?,
        |t| evaluate(t).0,
        |t| evaluate(t).1,
        control,
    );
    match result {
        Ok(r) if r.value.is_finite() && r.value < 1e10 => Some((decode(&r.par), r.value)),
        _ => {
            let value = objective(&theta0).0;
            (value < 1e10).then(|| (decode(&theta0), value))
        }
    }
}

/// −(log marginal likelihood + log prior) and its gradient in the log parameters.
fn neg_log_posterior(
    xs: &[Vec<f64>],
    y: &DVector<f64>,
    categorical: &[bool],
    hyper: &Hyper,
) -> Option<(f64, Vec<f64>)> {
    let (n, d) = (xs.len(), categorical.len());
    let (chol, alpha, lml) = condition(xs, y, categorical, hyper)?;
    // The trace needs K⁻¹ itself (d lml / dθ), formed once from the factor.
    let k_inv = chol.inverse();
    // d lml / dθ = ½ tr((ααᵀ − K⁻¹) dK/dθ).
    let w = |a: usize, b: usize| alpha[a] * alpha[b] - k_inv[(a, b)];
    let mut grad = vec![0.0; d + 2];
    for a in 0..n {
        for b in 0..a {
            let r = r2(&xs[a], &xs[b], &hyper.ils, categorical);
            let wab = w(a, b); // the pair appears twice in the trace: ½ · 2
            let slope = hyper.scale * matern_slope(r);
            for i in 0..d {
                grad[i] += wab * slope * gap2(xs[a][i], xs[b][i], categorical[i]) * hyper.ils[i];
            }
            grad[d] += wab * hyper.scale * matern(r);
        }
    }
    for a in 0..n {
        let waa = w(a, a);
        grad[d] += 0.5 * waa * hyper.scale; // matern(0) = 1
        grad[d + 1] += 0.5 * waa * (hyper.noise - MINIMUM_NOISE);
    }
    // Optuna's priors: −(0.1/ils + 0.1·ils) per input, Gamma(2, 1) on the amplitude and
    // Gamma(1.1, 30) on the noise (constants dropped), with their gradients.
    let mut log_prior = 0.0;
    for (i, &ils) in hyper.ils.iter().enumerate() {
        log_prior -= 0.1 / ils + 0.1 * ils;
        grad[i] += 0.1 / ils - 0.1 * ils;
    }
    log_prior += hyper.scale.ln() - hyper.scale;
    grad[d] += 1.0 - hyper.scale;
    log_prior += 0.1 * hyper.noise.ln() - 30.0 * hyper.noise;
    grad[d + 1] += (hyper.noise - MINIMUM_NOISE) * (0.1 / hyper.noise - 30.0);
    let value = -(lml + log_prior);
    value
        .is_finite()
        .then(|| (value, grad.into_iter().map(|g| -g).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_posterior_matches_a_hand_computed_three_point_case() {
        // x = 0, 0.5, 1 with y = 1, −1, 0.5; ils 4 (length scale 0.5), amplitude 2, noise
        // 0.01. Expected values from mpmath at 30 digits: K = 2·matern(4·Δx²) + 0.01·I,
        // μ(0.25) = k*ᵀ K⁻¹ y and σ²(0.25) = 2 − k*ᵀ K⁻¹ k*.
        let xs = vec![vec![0.0], vec![0.5], vec![1.0]];
        let y = DVector::from_vec(vec![1.0, -1.0, 0.5]);
        let hyper = Hyper {
            ils: vec![4.0],
            scale: 2.0,
            noise: 0.01,
        };
        let gp = Gp::new(xs, &y, vec![false], hyper).unwrap();
        let (mean, var) = gp.predict_many(&[vec![0.25]])[0];
        assert!((mean - EXPECTED_MEAN).abs() < 1e-12, "mean {mean}");
        assert!((var - EXPECTED_VAR).abs() < 1e-12, "variance {var}");
        // The gradients agree with central differences.
        let (m, v, dm, dv) = gp.predict_with_gradient(&[0.3]);
        let h = 1e-6;
        let (mp, vp) = gp.predict_many(&[vec![0.3 + h]])[0];
        let (mm, vm) = gp.predict_many(&[vec![0.3 - h]])[0];
        assert!((m - gp.predict_many(&[vec![0.3]])[0].0).abs() < 1e-12);
        assert!((v - gp.predict_many(&[vec![0.3]])[0].1).abs() < 1e-12);
        assert!((dm[0] - (mp - mm) / (2.0 * h)).abs() < 1e-6);
        assert!((dv[0] - (vp - vm) / (2.0 * h)).abs() < 1e-6);
    }

    #[test]
    fn the_variance_next_to_an_observed_point_keeps_its_precision() {
        // 21 points 0.05 apart with a long length scale and the smallest noise: K's condition
        // number is about 2·10⁶. 10⁻⁴ from the point at 0.5 the posterior variance is about
        // 10⁻⁶ of the prior's; 2 − k·K⁻¹k with K⁻¹ formed explicitly gets it right to only
        // about 2·10⁻⁵ (relative), triangular solves to about 10⁻⁹. The reference is mpmath at
        // 60 digits: 2 − kᵀ K⁻¹ k with K = 2·matern(4·Δx²) + 10⁻⁶·I.
        let xs: Vec<Vec<f64>> = (0..21).map(|i| vec![i as f64 / 20.0]).collect();
        let y = DVector::from_iterator(21, (0..21).map(|i| (i as f64 / 3.0).sin()));
        let hyper = Hyper {
            ils: vec![4.0],
            scale: 2.0,
            noise: 1e-6,
        };
        let gp = Gp::new(xs, &y, vec![false], hyper).unwrap();
        let reference = 9.832_810_274_659_145_872e-7;
        let (_, var) = gp.predict_many(&[vec![0.5 + 1e-4]])[0];
        assert!(
            ((var - reference) / reference).abs() < 1e-7,
            "variance {var}, reference {reference}"
        );
        let (_, var, _, _) = gp.predict_with_gradient(&[0.5 + 1e-4]);
        assert!(
            ((var - reference) / reference).abs() < 1e-7,
            "variance {var}, reference {reference}"
        );
    }

    const EXPECTED_MEAN: f64 = -0.139_790_950_268_520_74;
    const EXPECTED_VAR: f64 = 0.187_307_150_207_193_19;

    #[test]
    fn the_likelihood_gradient_matches_finite_differences() {
        let xs: Vec<Vec<f64>> = (0..7)
            .map(|i| vec![i as f64 / 7.0, ((i * 3) % 7) as f64 / 7.0, (i % 3) as f64])
            .collect();
        let y = DVector::from_iterator(7, xs.iter().map(|x| (3.0 * x[0]).sin() + x[1] * x[1]));
        let categorical = vec![false, false, true];
        let hyper = Hyper {
            ils: vec![2.0, 0.7, 1.3],
            scale: 1.5,
            noise: 0.05,
        };
        let (_, grad) = neg_log_posterior(&xs, &y, &categorical, &hyper).unwrap();
        let theta = |h: &Hyper| -> Vec<f64> {
            let mut t: Vec<f64> = h.ils.iter().map(|v| v.ln()).collect();
            t.extend([h.scale.ln(), (h.noise - MINIMUM_NOISE).ln()]);
            t
        };
        let at = |t: &[f64]| {
            let h = Hyper {
                ils: t[..3].iter().map(|v| v.exp()).collect(),
                scale: t[3].exp(),
                noise: MINIMUM_NOISE + t[4].exp(),
            };
            neg_log_posterior(&xs, &y, &categorical, &h).unwrap().0
        };
        let t0 = theta(&hyper);
        for j in 0..5 {
            let (mut up, mut down) = (t0.clone(), t0.clone());
            up[j] += 1e-6;
            down[j] -= 1e-6;
            let numeric = (at(&up) - at(&down)) / 2e-6;
            assert!(
                (grad[j] - numeric).abs() < 1e-5 * (1.0 + numeric.abs()),
                "parameter {j}: analytic {} numeric {numeric}",
                grad[j]
            );
        }
    }
}
