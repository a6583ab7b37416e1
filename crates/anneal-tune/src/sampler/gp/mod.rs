//! Gaussian-process Bayesian optimisation, as Optuna's GP sampler and BoTorch do it: a
//! Matérn-5/2 GP with automatic relevance determination fitted by maximum a posteriori
//! (L-BFGS-B, warm-started from the previous fit) with the worst value seen as its prior mean,
//! and log expected improvement maximised by quasi-random search and gradient-based local
//! search. Integers are searched on their grid
//! and choices through a Hamming-distance kernel, so only valid values are ever proposed.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anneal_rng::SeededRng;
use nalgebra::DVector;

use super::parzen::{assignment_of, coordinate};
use super::{Observation, RandomSampler, SampleContext, Sampler, Seen, joint_params, sobol_point};
use crate::distribution::{Distribution, Value};
use crate::error::Result;
use crate::space::{Assignment, Param, SearchSpace, lookup};

pub(crate) mod acquisition;
pub(crate) mod model;
pub(crate) mod warp;

use acquisition::Input;
use model::{Gp, Hyper};

/// The GP sampler; [`super::SamplerConfig::Gp`] documents the settings. It models the
/// unconditional parameters of the trial's space; others are drawn at random (as Optuna's
/// GP sampler does).
#[derive(Debug, Default)]
pub struct GpSampler {
    /// Random trials before the model is used (at least two).
    pub startup_trials: usize,
    /// The last fit's hyperparameters, the next fit's starting point (per process; a cache,
    /// never a source of results).
    warm_start: Mutex<Option<Hyper>>,
    /// Suggestions drawn at random because the model could not be used (this process).
    fallbacks: AtomicUsize,
}

impl GpSampler {
    /// A GP sampler that uses the model after `startup_trials` random ones.
    pub fn new(startup_trials: usize) -> Self {
        Self {
            startup_trials,
            warm_start: Mutex::new(None),
            fallbacks: AtomicUsize::new(0),
        }
    }
}

/// How the acquisition search may move each parameter on the GP's scale.
fn input(param: &Param) -> Input {
    match &param.distribution {
        Distribution::Categorical(choices) => {
            Input::Discrete((0..choices.len()).map(|i| i as f64).collect())
        }
        Distribution::Int {
            low, high, step, ..
        } => {
            let count = ((high - low) / step.max(&1) + 1).max(1);
            if count > 4096 {
                return Input::Continuous; // snapped to the grid when decoded
            }
            Input::Discrete(
                (0..count)
                    .filter_map(|k| {
                        let v = Value::from(low + k * step);
                        param.distribution.unit_cell(&v).map(|(a, b)| 0.5 * (a + b))
                    })
                    .collect(),
            )
        }
        _ => Input::Continuous,
    }
}

/// A trial's point on the GP's inputs: `None` when it lacks one of `params`.
fn point_of(params: &[&Param], assignment: &Assignment) -> Option<Vec<f64>> {
    params
        .iter()
        .map(|p| {
            let v = coordinate(p, lookup(assignment, &p.name)?)?;
            // An integer's coordinate is its cell's centre, as the search proposes.
            Some(match input(p) {
                Input::Discrete(values)
                    if !matches!(p.distribution, Distribution::Categorical(_)) =>
                {
                    *values
                        .iter()
                        .min_by(|a, b| (*a - v).abs().total_cmp(&(*b - v).abs()))
                        .unwrap_or(&v)
                }
                _ => v,
            })
        })
        .collect()
}

impl GpSampler {
    /// The acquisition's maximiser, or `None` when there is no usable model (fewer than two
    /// complete trials in the space, or no fit).
    ///
    /// The hyperparameters and the output warping are fitted to complete trials only. The
    /// other trials then condition that GP without changing them (Optuna 5 and BoTorch leave
    /// the hyperparameters to real observations too):
    /// - failed and diverged trials at the worst warped value observed: the point was tried and
    ///   lost, so the acquisition steers away from it;
    /// - pruned trials as censored observations: a pruner stops a trial whose value at some
    ///   step was worse than the median there (median pruner) or than the rung's best (ASHA,
    ///   Hyperband), so its loss is taken as at least the median complete trial's, at the
    ///   model's mean where that is worse still; the point counts as tried (without it a GP
    ///   repeats a pruned point until something else completes) and as mediocre, not as the
    ///   worst, which partial evidence cannot show;
    /// - paused trials (which may yet be promoted) and trials running elsewhere at the
    ///   posterior mean of the model with the above ("kriging believer", Ginsbourger et al.,
    ///   2010): that mean stays as it is and the variance there collapses, so parallel workers
    ///   spread out without a made-up value distorting the model;
    /// - trials whose process died are left out: their point is not to blame.
    fn suggest(
        &self,
        params: &[&Param],
        history: &[Observation],
        rng: &mut SeededRng,
    ) -> Option<Vec<f64>> {
        let mut xs = Vec::new();
        let mut losses = Vec::new();
        let mut lost = Vec::new();
        let mut pruned = Vec::new();
        let mut pending = Vec::new();
        for o in history {
            let Some(x) = point_of(params, &o.assignment) else {
                continue;
            };
            match o.seen {
                Seen::Complete => {
                    xs.push(x);
                    losses.push(o.loss);
                }
                Seen::Failed => lost.push(x),
                Seen::Stopped => pruned.push(x),
                Seen::Pending | Seen::Paused => pending.push(x),
                Seen::Died => {}
            }
        }
        if xs.len() < 2 {
            return None;
        }
        // The prior mean is the worst value observed, not the average (De Ath, Fieldsend and
        // Everson, "What do you mean? The role of the mean function in Bayesian
        // optimisation", GECCO 2020): far from the data the model expects nothing better than
        // the worst seen, so expected improvement goes to regions the data say are promising
        // rather than to every unexplored corner of the box. A zero-mean GP of y − max(y).
        let mut y = DVector::from_vec(warp::warp(&losses));
        let worst = y.max();
        y.iter_mut().for_each(|v| *v -= worst);
        let categorical: Vec<bool> = params
            .iter()
            .map(|p| matches!(p.distribution, Distribution::Categorical(_)))
            .collect();
        // Warm-started from the previous fit (Optuna's practice: the optimum moves little
        // between trials); from the default when there is none or it fails.
        let warm = self
            .warm_start
            .lock()
            .ok()
            .and_then(|h| h.clone())
            .filter(|h| h.ils.len() == params.len());
        let starts: Vec<Hyper> = warm.into_iter().collect();
        let fitted = Gp::fit(xs.clone(), &y, categorical.clone(), &starts).or_else(|| {
            Gp::fit(
                xs.clone(),
                &y,
                categorical.clone(),
                &[Hyper::initial(params.len())],
            )
        })?;
        if let Ok(mut cache) = self.warm_start.lock() {
            *cache = Some(fitted.hyper.clone());
        }
        // The incumbent: the best complete trial.
        let (best_index, best) = y
            .iter()
            .copied()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(&b.1))?;
        let incumbent = xs[best_index].clone();
        // Each step conditions the model of the step before.
        let worst_lost = vec![y.max(); lost.len()];
        let gp = fitted.conditioned_on(lost, worst_lost);
        let mut sorted: Vec<f64> = y.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        let median = sorted[sorted.len() / 2];
        let censored = gp
            .predict_many(&pruned)
            .iter()
            .map(|(mean, _)| mean.max(median))
            .collect();
        let gp = gp.conditioned_on(pruned, censored);
        let believed = gp.predict_many(&pending).iter().map(|(m, _)| *m).collect();
        let gp = gp.conditioned_on(pending, believed);
        let inputs: Vec<Input> = params.iter().map(|p| input(p)).collect();
        let taken = gp.xs.clone();
        Some(acquisition::maximise(
            &gp,
            &inputs,
            best,
            &[incumbent],
            &taken,
            rng,
        ))
    }
}

impl Sampler for GpSampler {
    fn name(&self) -> &str {
        "gp"
    }

    fn fallbacks(&self) -> usize {
        self.fallbacks.load(Ordering::Relaxed)
    }

    fn sample_relative(
        &self,
        context: &SampleContext,
        space: &SearchSpace,
        rng: &mut SeededRng,
    ) -> Result<Option<Assignment>> {
        let params = joint_params(space);
        if params.is_empty() {
            return Ok(Some(Vec::new()));
        }
        if context.finished() < self.startup_trials.max(2) {
            return Ok(Some(sobol_point(&params, context.seed, context.number)));
        }
        Ok(Some(match self.suggest(&params, context.history, rng) {
            Some(x) => assignment_of(&params, &x),
            None => {
                self.fallbacks.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    "trial {}: the GP has no usable model (fewer than two complete trials in the space, or its fit failed); its parameters are drawn at random",
                    context.number
                );
                Vec::new()
            }
        }))
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
