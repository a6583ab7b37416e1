//! CMA-ES (Hansen, "The CMA Evolution Strategy: A Tutorial", 2016) with IPOP restarts
//! (Auger & Hansen, 2005): each restart doubles the population and starts from a random mean.
//!
//! A sampler must give the same answer in every process that shares a study, so the strategy
//! keeps no state of its own: each suggestion replays the study's finished trials, in trial
//! order, as generations of λ solutions through the standard updates. Trials the strategy did
//! not draw (start-up ones, or ones drawn from an older generation by a parallel worker) enter
//! as injected solutions, their steps clipped as Hansen (2011) prescribes. The `cmaes` crates
//! drive their own loop around an objective function, which cannot be rebuilt from a stored
//! history, hence this module.
//!
//! Real and integer parameters are searched on their unit scale (integers rounded to their
//! grid, as Optuna does); choices and conditional parameters are left to univariate TPE, which
//! learns from the study where Optuna's CMA-ES falls back to random values.

use anneal_rng::{SeededRng, derive_rng};
use nalgebra::{DMatrix, DVector, SymmetricEigen};
use rand::RngExt;

use super::normal;
use super::parzen::{assignment_of, coordinate};
use super::{Observation, SampleContext, Sampler, Seen, TpeSampler};
use crate::distribution::{Distribution, Value};
use crate::error::Result;
use crate::space::{Assignment, Param, SearchSpace, lookup};

/// The CMA-ES sampler; [`super::SamplerConfig::Cmaes`] documents the settings.
#[derive(Debug, Clone, PartialEq)]
pub struct CmaEsSampler {
    /// Initial step size on the unit scale (a sixth of each range, as Optuna's).
    pub sigma0: f64,
    /// Population of the first run (`None`: 4 + ⌊3 ln d⌋).
    pub population: Option<usize>,
    /// Restart with a doubled population when a run converges or stagnates.
    pub ipop: bool,
    /// For the parameters CMA-ES does not model.
    pub independent: TpeSampler,
}

impl Default for CmaEsSampler {
    fn default() -> Self {
        Self {
            sigma0: 1.0 / 6.0,
            population: None,
            ipop: true,
            independent: TpeSampler {
                multivariate: false,
                ..TpeSampler::default()
            },
        }
    }
}

/// One run's state.
#[derive(Debug, Clone)]
pub(crate) struct Strategy {
    pub mean: DVector<f64>,
    pub sigma: f64,
    pub cov: DMatrix<f64>,
    /// C = B·diag(D²)·Bᵀ.
    b: DMatrix<f64>,
    d: DVector<f64>,
    ps: DVector<f64>,
    pc: DVector<f64>,
    pub lambda: usize,
    generation: usize,
    weights: Vec<f64>,
    mu_eff: f64,
    cc: f64,
    cs: f64,
    c1: f64,
    cmu: f64,
    damps: f64,
    chi_n: f64,
    /// Best value of each generation so far (stagnation test).
    bests: Vec<f64>,
}

impl Strategy {
    pub(crate) fn new(mean: DVector<f64>, sigma: f64, lambda: usize) -> Self {
        let n = mean.len();
        let nf = n as f64;
        let lambda = lambda.max(2);
        let mu = lambda / 2;
        // Hansen's default weights: positive for the best μ, negative ("active" CMA) for the
        // rest, which shrink the covariance along directions that went badly.
        let raw: Vec<f64> = (0..lambda)
            .map(|i| ((lambda as f64 + 1.0) / 2.0).ln() - ((i + 1) as f64).ln())
            .collect();
        let (best, rest) = raw.split_at(mu);
        let positive_sum: f64 = best.iter().sum();
        let mu_eff = positive_sum.powi(2) / best.iter().map(|w| w * w).sum::<f64>();
        let negative_sum: f64 = rest.iter().map(|w| w.abs()).sum();
        let mu_eff_minus = if rest.is_empty() {
            0.0
        } else {
            negative_sum.powi(2) / rest.iter().map(|w| w * w).sum::<f64>()
        };
        let cc = (4.0 + mu_eff / nf) / (nf + 4.0 + 2.0 * mu_eff / nf);
        let cs = (mu_eff + 2.0) / (nf + mu_eff + 5.0);
        let c1 = 2.0 / ((nf + 1.3).powi(2) + mu_eff);
        let cmu =
            (1.0 - c1).min(2.0 * (mu_eff - 2.0 + 1.0 / mu_eff) / ((nf + 2.0).powi(2) + mu_eff));
        let alpha_minus = (1.0 + c1 / cmu)
            .min(1.0 + 2.0 * mu_eff_minus / (mu_eff + 2.0))
            .min((1.0 - c1 - cmu) / (nf * cmu));
        let weights: Vec<f64> = raw
            .iter()
            .map(|&w| {
                if w >= 0.0 {
                    w / positive_sum
                } else {
                    alpha_minus * w / negative_sum.max(1e-300)
                }
            })
            .collect();
        let damps = 1.0 + 2.0 * (((mu_eff - 1.0) / (nf + 1.0)).sqrt() - 1.0).max(0.0) + cs;
        let chi_n = nf.sqrt() * (1.0 - 1.0 / (4.0 * nf) + 1.0 / (21.0 * nf * nf));
        Self {
            mean,
            sigma,
            cov: DMatrix::identity(n, n),
            b: DMatrix::identity(n, n),
            d: DVector::from_element(n, 1.0),
            ps: DVector::zeros(n),
            pc: DVector::zeros(n),
            lambda,
            generation: 0,
            weights,
            mu_eff,
            cc,
            cs,
            c1,
            cmu,
            damps,
            chi_n,
            bests: Vec::new(),
        }
    }

    /// C^(−1/2)·y.
    fn whiten(&self, y: &DVector<f64>) -> DVector<f64> {
        let rotated = self.b.transpose() * y;
        &self.b * rotated.component_div(&self.d)
    }

    /// One generation's update from `solutions` (unit-scale points with their losses).
    pub(crate) fn tell(&mut self, solutions: &[(DVector<f64>, f64)]) {
        let n = self.mean.len();
        let nf = n as f64;
        let mut ranked: Vec<&(DVector<f64>, f64)> = solutions.iter().collect();
        ranked.sort_by(|a, b| a.1.total_cmp(&b.1));
        // Steps in units of σ; an injected solution's Mahalanobis length is clipped.
        let limit = nf.sqrt() + 2.0 * nf / (nf + 2.0);
        let steps: Vec<DVector<f64>> = ranked
            .iter()
            .map(|(x, _)| {
                let y = (x - &self.mean) / self.sigma;
                let length = self.whiten(&y).norm();
                if length > limit {
                    y * (limit / length)
                } else {
                    y
                }
            })
            .collect();
        // The mean moves by the positively weighted steps only.
        let mut y_w = DVector::zeros(n);
        for (w, y) in self.weights.iter().zip(&steps).filter(|(w, _)| **w > 0.0) {
            y_w += y * *w;
        }
        self.mean += &y_w * self.sigma;
        self.ps = &self.ps * (1.0 - self.cs)
            + self.whiten(&y_w) * (self.cs * (2.0 - self.cs) * self.mu_eff).sqrt();
        self.generation += 1;
        let ps_norm = self.ps.norm();
        let h_sigma = ps_norm / (1.0 - (1.0 - self.cs).powi(2 * self.generation as i32)).sqrt()
            < (1.4 + 2.0 / (nf + 1.0)) * self.chi_n;
        let h = if h_sigma { 1.0 } else { 0.0 };
        self.pc = &self.pc * (1.0 - self.cc)
            + &y_w * (h * (self.cc * (2.0 - self.cc) * self.mu_eff).sqrt());
        // Rank-μ update over the whole generation; a negative weight is rescaled by the
        // step's Mahalanobis length so it can never make C indefinite (Hansen 2016, eq. 46).
        let mut rank_mu = DMatrix::zeros(n, n);
        for (w, y) in self.weights.iter().zip(&steps) {
            let weight = if *w >= 0.0 {
                *w
            } else {
                *w * nf / self.whiten(y).norm_squared().max(1e-300)
            };
            rank_mu += y * y.transpose() * weight;
        }
        let weight_sum: f64 = self.weights.iter().sum();
        let decay =
            1.0 + (1.0 - h) * self.c1 * self.cc * (2.0 - self.cc) - self.c1 - self.cmu * weight_sum;
        self.cov =
            &self.cov * decay + &self.pc * self.pc.transpose() * self.c1 + rank_mu * self.cmu;
        // Keep C exactly symmetric before the eigendecomposition.
        self.cov = (&self.cov + self.cov.transpose()) * 0.5;
        self.sigma *= ((self.cs / self.damps) * (ps_norm / self.chi_n - 1.0)).exp();
        let eigen = SymmetricEigen::new(self.cov.clone());
        self.b = eigen.eigenvectors;
        self.d = eigen.eigenvalues.map(|v| v.max(1e-20).sqrt());
        self.bests
            .push(ranked.first().map_or(f64::INFINITY, |s| s.1));
    }

    /// Whether the run has converged or stopped making progress, so IPOP restarts it.
    pub(crate) fn should_restart(&self) -> bool {
        let n = self.mean.len() as f64;
        let widest = self.sigma * self.d.max();
        // Steps far below any parameter's resolution.
        if widest < 1e-10 {
            return true;
        }
        // An ill-conditioned covariance.
        if self.d.max() / self.d.min().max(1e-300) > 1e7 {
            return true;
        }
        // Values flat over the last generations (Hansen's TolFun, TolHistFun).
        let window = 10 + (30.0 * n / self.lambda as f64).ceil() as usize;
        if self.bests.len() > window {
            let recent = &self.bests[self.bests.len() - window..];
            let best_ever = self.bests.iter().copied().fold(f64::INFINITY, f64::min);
            let recent_best = recent.iter().copied().fold(f64::INFINITY, f64::min);
            let spread = recent.iter().copied().fold(f64::NEG_INFINITY, f64::max) - recent_best;
            // No improvement on the best ever within the window, or a flat window.
            if recent_best > best_ever || spread < 1e-12 * best_ever.abs().max(1e-12) {
                return true;
            }
        }
        false
    }

    /// A point drawn from N(m, σ²C), resampled until it lies in [0, 1]^d (then clipped).
    pub(crate) fn ask(&self, rng: &mut SeededRng) -> DVector<f64> {
        let n = self.mean.len();
        let mut x = self.mean.clone();
        for _ in 0..100 {
            let z = DVector::from_fn(n, |_, _| normal::draw(rng));
            x = &self.mean + &self.b * z.component_mul(&self.d) * self.sigma;
            if x.iter().all(|v| (0.0..=1.0).contains(v)) {
                return x;
            }
        }
        x.map(|v| v.clamp(0.0, 1.0))
    }
}

/// The parameters CMA-ES models: unconditional, single-valued, numeric.
fn modelled(space: &SearchSpace) -> Vec<&Param> {
    space
        .params
        .iter()
        .filter(|p| {
            p.when.is_empty()
                && p.per_layer.is_none()
                && matches!(
                    p.distribution,
                    Distribution::Float { .. } | Distribution::Int { .. }
                )
        })
        .collect()
}

impl CmaEsSampler {
    fn population(&self, dims: usize) -> usize {
        self.population
            .unwrap_or(4 + (3.0 * (dims as f64).ln()).floor() as usize)
            .max(2)
    }

    /// The strategy after replaying `history` over `params`.
    pub(crate) fn replay(&self, params: &[&Param], history: &[Observation], seed: u64) -> Strategy {
        let dims = params.len();
        let start = |restarts: u64, lambda: usize| {
            let mean = if restarts == 0 {
                DVector::from_element(dims, 0.5)
            } else {
                let mut rng = derive_rng(seed, "cmaes-restart", restarts);
                DVector::from_fn(dims, |_, _| rng.random::<f64>())
            };
            Strategy::new(mean, self.sigma0, lambda)
        };
        let mut restarts = 0;
        let mut strategy = start(0, self.population(dims));
        let mut generation: Vec<(DVector<f64>, f64)> = Vec::new();
        for o in history.iter().filter(|o| o.seen == Seen::Complete) {
            let x: Option<Vec<f64>> = params
                .iter()
                .map(|p| coordinate(p, lookup(&o.assignment, &p.name)?))
                .collect();
            let Some(x) = x else { continue };
            generation.push((DVector::from_vec(x), o.loss));
            if generation.len() == strategy.lambda {
                strategy.tell(&generation);
                generation.clear();
                if self.ipop && strategy.should_restart() {
                    restarts += 1;
                    strategy = start(restarts, strategy.lambda * 2);
                }
            }
        }
        strategy
    }
}

impl Sampler for CmaEsSampler {
    fn name(&self) -> &str {
        "cmaes"
    }

    fn sample_relative(
        &self,
        context: &SampleContext,
        space: &SearchSpace,
        rng: &mut SeededRng,
    ) -> Result<Option<Assignment>> {
        let params = modelled(space);
        if params.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let strategy = self.replay(&params, context.history, context.seed);
        let x = strategy.ask(rng);
        Ok(Some(assignment_of(&params, x.as_slice())))
    }

    fn sample_independent(
        &self,
        context: &SampleContext,
        param: &Param,
        rng: &mut SeededRng,
    ) -> Result<Value> {
        self.independent.sample_independent(context, param, rng)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_strategy_converges_on_a_sphere() {
        // Minimum at 0.3 in every coordinate of [0, 1]^8.
        let n = 8;
        let target = DVector::from_element(n, 0.3);
        let mut strategy = Strategy::new(DVector::from_element(n, 0.5), 1.0 / 6.0, 10);
        let mut rng = derive_rng(1, "sphere", 0);
        let mut evaluations = 0;
        let mut best = f64::INFINITY;
        while evaluations < 3000 && best > 1e-10 {
            let generation: Vec<(DVector<f64>, f64)> = (0..strategy.lambda)
                .map(|_| {
                    let x = strategy.ask(&mut rng);
                    let f = (&x - &target).norm_squared();
                    (x, f)
                })
                .collect();
            evaluations += generation.len();
            best = generation.iter().map(|g| g.1).fold(best, f64::min);
            strategy.tell(&generation);
        }
        assert!(best < 1e-10, "best {best} after {evaluations} evaluations");
        assert!((&strategy.mean - &target).norm() < 1e-4);
        // Linear convergence: well under the budget.
        assert!(evaluations < 2500, "{evaluations} evaluations");
    }

    #[test]
    fn a_replayed_study_restarts_with_a_doubled_population_when_flat() {
        let x = Param {
            name: "x".into(),
            distribution: Distribution::Float {
                low: 0.0,
                high: 1.0,
                log: false,
            },
            when: Default::default(),
            per_layer: None,
        };
        let y = Param {
            name: "y".into(),
            ..x.clone()
        };
        let sampler = CmaEsSampler::default();
        // A flat objective: every run stagnates at once.
        let history: Vec<Observation> = (0..200)
            .map(|i| {
                Observation::complete(
                    vec![
                        ("x".into(), Value::from((i % 7) as f64 / 7.0)),
                        ("y".into(), Value::from((i % 5) as f64 / 5.0)),
                    ],
                    1.0,
                )
            })
            .collect();
        let strategy = sampler.replay(&[&x, &y], &history, 0);
        assert!(
            strategy.lambda >= 2 * sampler.population(2),
            "λ = {}",
            strategy.lambda
        );
    }
}
