//! Samplers choose each trial's parameters. A sampler sees the study's history as
//! [`Observation`]s (lower loss is better whatever the study's direction) and answers in two
//! ways, as Optuna's samplers do: once when a trial starts, jointly for the parameters every
//! finished trial had ([`Sampler::sample_relative`]), and then for each parameter the objective
//! asks for that the joint draw did not cover ([`Sampler::sample_independent`]).
//!
//! [`SamplerConfig`] is the serde form a sweep file writes; [`SamplerConfig::init`] builds the
//! sampler.

use anneal_rng::SeededRng;
use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::distribution::{Distribution, Value};
use crate::error::Result;
use crate::space::{Assignment, Param, SearchSpace, lookup};

pub mod cmaes;
pub mod gp;
pub mod grid;
pub(crate) mod normal;
pub mod nsga2;
pub(crate) mod parzen;
pub mod random;
pub mod tpe;

pub use cmaes::CmaEsSampler;
pub use gp::GpSampler;
pub use grid::{GridSampler, grid};
pub use nsga2::Nsga2Sampler;
pub use random::RandomSampler;
pub use tpe::TpeSampler;

/// A trial as the samplers see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// The trial's parameters.
    pub assignment: Assignment,
    /// Lower is better; always finite (see [`Seen`] for what stands in where the trial gave no
    /// usable value).
    pub loss: f64,
    /// How the trial ended, or that it is still running.
    pub seen: Seen,
    /// Its reported intermediate values as `(step, loss)`, in step order (lower is better).
    pub curve: Vec<(usize, f64)>,
    /// Every objective's loss of a complete trial of a study with several objectives, in the
    /// study's order (empty otherwise; `loss` is then the first one's).
    pub losses: Vec<f64>,
    /// How far the trial is from meeting its constraints (0: it meets them, or has none).
    pub violation: f64,
}

/// What a sampler may conclude from a trial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// It ran its full budget: `loss` is its value.
    Complete,
    /// Pruned before its full budget: `loss` ranks it below every complete trial, and `curve`
    /// says how far it got.
    Stopped,
    /// Paused at a rung of a multi-fidelity pruner, waiting to be promoted or pruned: ranked
    /// like a stopped trial, but its point may still turn out among the best.
    Paused,
    /// It failed, diverged or gave a value that is not a number: `loss` is the worst loss seen,
    /// so samplers steer away from its point (as Optuna's samplers do with an infinite value,
    /// which it keeps as a complete trial's worst).
    Failed,
    /// Its process died (killed, or lost while running): its point is not to blame, so the
    /// model-based samplers leave it out; a grid counts it as a failed try of its point.
    Died,
    /// Still running elsewhere: its point is taken, its `loss` made up (a "constant liar").
    Pending,
}

impl Observation {
    /// A finished trial's observation with no intermediate values.
    pub fn complete(assignment: Assignment, loss: f64) -> Self {
        Self {
            assignment,
            loss,
            seen: Seen::Complete,
            curve: Vec::new(),
            losses: Vec::new(),
            violation: 0.0,
        }
    }

    /// Its loss at `step`: the value it reported last at or before that step, if it got that
    /// far.
    pub fn loss_at(&self, step: usize) -> Option<f64> {
        if self.curve.last().is_none_or(|&(last, _)| last < step) {
            return None;
        }
        self.curve
            .iter()
            .take_while(|&&(s, _)| s <= step)
            .last()
            .map(|&(_, loss)| loss)
    }
}

/// What a sampler knows when it is asked.
#[derive(Debug, Clone, Copy)]
pub struct SampleContext<'a> {
    /// Every trial but the one being sampled, in trial order: finished ones, failed ones (with
    /// their parameters) and other workers' running ones.
    pub history: &'a [Observation],
    /// The number of the trial being sampled.
    pub number: usize,
    /// The study's seed, for choices a sampler must make identically in every process.
    pub seed: u64,
    /// Trials stop at the rungs of a multi-fidelity pruner (ASHA, Hyperband), so a stopped
    /// trial's values are at a smaller budget by design, not because it was losing.
    pub rungs: bool,
    /// What the sampler works out once from this history and reuses for every parameter the
    /// objective asks for.
    pub memo: &'a SampleMemo,
}

/// What a sampler works out once from a trial's history and reuses for each parameter the
/// objective asks for (TPE's good group in a study with several objectives, whose hypervolume
/// subset selection is the costly part).
#[derive(Debug, Default)]
pub struct SampleMemo {
    pub(crate) good: std::sync::OnceLock<Vec<usize>>,
}

impl SampleContext<'_> {
    /// Complete, stopped and paused trials: the ones that count toward a sampler's start-up.
    pub fn finished(&self) -> usize {
        self.history
            .iter()
            .filter(|o| matches!(o.seen, Seen::Complete | Seen::Stopped | Seen::Paused))
            .count()
    }
}

/// Any sampler, boxed, as the study builder takes it.
impl<S: Sampler + 'static> From<S> for Box<dyn Sampler> {
    fn from(value: S) -> Self {
        Box::new(value)
    }
}

/// Chooses parameter values. Samplers minimise the observations' `loss`.
pub trait Sampler: Send + Sync {
    /// A short name for messages and stored study settings.
    fn name(&self) -> &str;

    /// Values for `space` (the parameters every finished trial had, with one distribution each)
    /// drawn jointly when a trial starts, or `None` when the sampler has no point left to give
    /// (an exhausted grid: the study stops). Parameters it leaves out are sampled one by one.
    fn sample_relative(
        &self,
        _context: &SampleContext,
        _space: &SearchSpace,
        _rng: &mut SeededRng,
    ) -> Result<Option<Assignment>> {
        Ok(Some(Vec::new()))
    }

    /// Whether the sampler serves studies with several objectives (it reads
    /// [`Observation::losses`]); the others model one loss and are refused there.
    fn serves_several_objectives(&self) -> bool {
        false
    }

    /// How many suggestions this process drew at random because the sampler's model could not
    /// be used (a model-based sampler's fallback; each is logged as it happens).
    fn fallbacks(&self) -> usize {
        0
    }

    /// A value for one parameter, on its own.
    fn sample_independent(
        &self,
        context: &SampleContext,
        param: &Param,
        rng: &mut SeededRng,
    ) -> Result<Value>;
}

/// A sampler as a sweep file writes it (`sampler = { kind = "tpe" }`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SamplerConfig {
    /// Uniformly random values.
    Random,
    /// Every combination, in order; float ranges contribute `points` evenly spaced values
    /// (log-spaced on log ranges), int ranges at most `points` values. Untried points come
    /// first; a point whose trials all failed runs again, after them, up to
    /// `failed_point_retries` times.
    Grid {
        /// Values per float range (and most values per int range), at least 1.
        #[serde(default = "grid_points")]
        points: usize,
        /// Times a failed point is retried once no untried point is left (0: never). Left out
        /// when default, so studies created before it existed reopen with the same settings.
        #[serde(default = "failed_point_retries", skip_serializing_if = "is_one")]
        failed_point_retries: usize,
    },
    /// Gaussian-process Bayesian optimisation (Matérn-5/2 with ARD length scales fitted by
    /// maximum a posteriori, log expected improvement maximised by Sobol search and L-BFGS-B).
    Gp {
        /// Random trials before the model is used.
        #[serde(default = "startup")]
        startup_trials: usize,
    },
    /// CMA-ES with IPOP restarts over the real and integer parameters (choices and
    /// conditional parameters by univariate TPE): for continuous spaces and larger budgets.
    Cmaes {
        /// Initial step size as a fraction of each parameter's range.
        #[serde(default = "sigma0")]
        sigma0: f64,
        /// The first run's population (default 4 + ⌊3 ln d⌋).
        #[serde(default)]
        population: Option<usize>,
        /// Restart with a doubled population when a run converges or stagnates.
        #[serde(default = "ipop")]
        ipop: bool,
    },
    /// NSGA-II for several objectives (and constraints), with Optuna's defaults: generations
    /// of 50, uniform crossover of tournament-chosen parents, random mutation.
    Nsga2 {
        /// Trials per generation.
        #[serde(default = "nsga2_population")]
        population: usize,
        /// The chance a child is crossed from two parents rather than copied from one.
        #[serde(default = "crossover_prob")]
        crossover_prob: f64,
        /// The chance each parameter comes from the second parent in a crossover.
        #[serde(default = "swapping_prob")]
        swapping_prob: f64,
        /// The chance each parameter is drawn afresh (default 1 / the number of parameters).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mutation_prob: Option<f64>,
    },
    /// Optuna's TPE defaults: 10 random start-up trials, 24 expected-improvement candidates,
    /// γ(n) = min(⌈0.1·n⌉, 25) trials in the "good" group, prior weight 1.
    Tpe {
        /// Random trials before the model is used.
        #[serde(default = "startup")]
        startup_trials: usize,
        /// Candidates drawn from the good density per suggestion.
        #[serde(default = "candidates")]
        candidates: usize,
        /// Weight of the broad prior kernel in each density.
        #[serde(default = "prior_weight")]
        prior_weight: f64,
        /// Model the parameters every trial has jointly (the default, as in Optuna 5), so
        /// interactions such as learning rate × batch size are learnt; conditional and
        /// per-layer parameters are still modelled one by one. `false` models each alone.
        #[serde(default = "multivariate")]
        multivariate: bool,
    },
}

fn nsga2_population() -> usize {
    50
}
fn crossover_prob() -> f64 {
    0.9
}
fn swapping_prob() -> f64 {
    0.5
}
fn grid_points() -> usize {
    5
}
fn failed_point_retries() -> usize {
    1
}
fn is_one(n: &usize) -> bool {
    *n == 1
}
fn startup() -> usize {
    10
}
fn candidates() -> usize {
    24
}
fn prior_weight() -> f64 {
    1.0
}
fn multivariate() -> bool {
    true
}
fn sigma0() -> f64 {
    1.0 / 6.0
}
fn ipop() -> bool {
    true
}

impl Default for SamplerConfig {
    fn default() -> Self {
        SamplerConfig::Tpe {
            startup_trials: startup(),
            candidates: candidates(),
            prior_weight: prior_weight(),
            multivariate: multivariate(),
        }
    }
}

impl SamplerConfig {
    /// The sampler's kind, as a sweep file names it.
    pub fn name(&self) -> &'static str {
        match self {
            SamplerConfig::Random => "random",
            SamplerConfig::Grid { .. } => "grid",
            SamplerConfig::Tpe { .. } => "tpe",
            SamplerConfig::Gp { .. } => "gp",
            SamplerConfig::Cmaes { .. } => "cmaes",
            SamplerConfig::Nsga2 { .. } => "nsga2",
        }
    }

    /// Builds the sampler. A grid needs the declared search space it enumerates.
    pub fn init(&self, space: Option<&SearchSpace>) -> Result<Box<dyn Sampler>> {
        Ok(match *self {
            SamplerConfig::Random => Box::new(RandomSampler),
            SamplerConfig::Grid {
                points,
                failed_point_retries,
            } => {
                let space = space.ok_or_else(|| {
                    crate::TuneError::config(
                        "sampler",
                        "a grid needs a declared search space to enumerate",
                    )
                })?;
                Box::new(
                    GridSampler::new(space, points)?.failed_point_retries(failed_point_retries),
                )
            }
            SamplerConfig::Gp { startup_trials } => Box::new(GpSampler::new(startup_trials)),
            SamplerConfig::Nsga2 {
                population,
                crossover_prob,
                swapping_prob,
                mutation_prob,
            } => {
                let sampler = Nsga2Sampler {
                    population,
                    crossover_prob,
                    swapping_prob,
                    mutation_prob,
                };
                sampler.validate()?;
                Box::new(sampler)
            }
            SamplerConfig::Cmaes {
                sigma0,
                population,
                ipop,
            } => {
                if !(sigma0 > 0.0 && sigma0 <= 1.0) {
                    return Err(crate::TuneError::config(
                        "sampler.sigma0",
                        format!("{sigma0} is not a fraction of the range in (0, 1]"),
                    ));
                }
                if population.is_some_and(|p| p < 2) {
                    return Err(crate::TuneError::config(
                        "sampler.population",
                        "a population needs at least 2 members",
                    ));
                }
                Box::new(CmaEsSampler {
                    sigma0,
                    population,
                    ipop,
                    ..CmaEsSampler::default()
                })
            }
            SamplerConfig::Tpe {
                startup_trials,
                candidates,
                prior_weight,
                multivariate,
            } => Box::new(TpeSampler {
                startup_trials,
                candidates,
                prior_weight,
                multivariate,
            }),
        })
    }
}

/// A uniformly random value of a distribution.
pub(crate) fn random_value(distribution: &Distribution, rng: &mut SeededRng) -> Value {
    match distribution {
        Distribution::Fixed(v) => v.clone(),
        Distribution::Categorical(choices) => choices[rng.random_range(0..choices.len())].clone(),
        d => d.from_unit(rng.random::<f64>()),
    }
}

/// The study's `index`-th point of an Owen-scrambled Sobol sequence (seeded by the study's
/// seed) over `params`: the start-up design of the model-based samplers. Consecutive points
/// fill the space evenly, where independent random draws leave gaps and clusters, and every
/// process computes the same point for a trial number.
pub(crate) fn sobol_point(params: &[&Param], seed: u64, index: usize) -> Assignment {
    let scramble = (seed ^ (seed >> 32)) as u32;
    params
        .iter()
        .enumerate()
        .map(|(j, p)| {
            // The sequence has 2^16 points and 256 dimensions; beyond them it repeats under
            // another scramble, which stays uniform.
            let (dimension, extra) = ((j % 256) as u32, (j / 256) as u32);
            let u = f64::from(sobol_burley::sample(
                (index % 65_536) as u32,
                dimension,
                scramble
                    .wrapping_add(extra)
                    .wrapping_add((index / 65_536) as u32),
            ));
            (p.name.clone(), p.distribution.from_unit(u))
        })
        .collect()
}

/// The unconditional, single-valued, searched parameters of a space: what the model-based
/// samplers draw jointly.
pub(crate) fn joint_params(space: &SearchSpace) -> Vec<&Param> {
    space
        .params
        .iter()
        .filter(|p| {
            p.when.is_empty()
                && p.per_layer.is_none()
                && !matches!(p.distribution, Distribution::Fixed(_))
        })
        .collect()
}

/// How many layers the earlier parameter `size` asks for (at least one).
pub(crate) fn layer_count(chosen: &Assignment, size: &str) -> usize {
    lookup(chosen, size)
        .and_then(Value::as_i64)
        .unwrap_or(1)
        .max(1) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_up_design_puts_one_point_in_every_cell() {
        let unit = |name: &str| Param {
            name: name.into(),
            distribution: Distribution::Float {
                low: 0.0,
                high: 1.0,
                log: false,
            },
            when: Default::default(),
            per_layer: None,
        };
        let (x, y) = (unit("x"), unit("y"));
        for seed in [0, 7, 123_456_789] {
            // Sixteen consecutive points are a (0, 4, 2)-net: one in each quarter × quarter.
            let mut cells = std::collections::BTreeSet::new();
            for i in 0..16 {
                let point = sobol_point(&[&x, &y], seed, i);
                let cell = |v: &Value| (v.as_f64().unwrap() * 4.0).floor() as usize;
                cells.insert((cell(&point[0].1), cell(&point[1].1)));
            }
            assert_eq!(cells.len(), 16, "seed {seed}: {cells:?}");
        }
        // Another seed, another scramble.
        assert_ne!(sobol_point(&[&x, &y], 1, 3), sobol_point(&[&x, &y], 2, 3));
    }

    #[test]
    fn bad_cmaes_settings_name_the_field_and_the_value() {
        let parse = |text: &str| -> SamplerConfig { toml::from_str(text).unwrap() };
        let err = parse("kind = \"cmaes\"\nsigma0 = 2.0")
            .init(None)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("sampler.sigma0") && err.contains('2'), "{err}");
        let err = parse("kind = \"cmaes\"\npopulation = 1")
            .init(None)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("sampler.population"), "{err}");
        // The defaults build, and TPE is multivariate unless told otherwise.
        assert!(parse("kind = \"cmaes\"").init(None).is_ok());
        assert_eq!(
            parse("kind = \"tpe\""),
            SamplerConfig::Tpe {
                startup_trials: 10,
                candidates: 24,
                prior_weight: 1.0,
                multivariate: true
            }
        );
    }
}
