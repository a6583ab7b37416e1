//! Sampler quality (simple regret on test functions with known minima, over seeds) and the
//! time one suggestion takes.

use std::sync::Arc;
use std::time::Instant;

use anneal_tune::{
    MemoryStorage, RandomSampler, SamplerConfig, SearchSpace, Study, Synthetic, TrialResult,
    TrialState,
};
use serde::Serialize;

use crate::Result;

/// Simple regret (best value so far − the minimum) after each of `evaluations` trials of
/// `sampler` on `function`, for one study seed. The study lives in memory, so the figures
/// are the sampler's, not the storage's.
pub fn regret_curve(
    function: Synthetic,
    sampler: &SamplerConfig,
    evaluations: usize,
    seed: u64,
) -> Result<Vec<f64>> {
    let space = SearchSpace::from_specs(&function.space())?;
    let study = Study::builder()
        .name(format!("{}-{seed}", function.name()))
        .storage(MemoryStorage::new())
        .boxed_sampler(sampler.init(Some(&space))?)
        .search_space(space.clone())
        .seed(seed)
        .build()?;
    study.optimize(evaluations, |trial| {
        let point = trial.suggest_space(&space)?;
        Ok(function.evaluate(&point)?)
    })?;
    let mut best = f64::INFINITY;
    Ok(study
        .trials()?
        .iter()
        .map(|t| {
            if t.state == TrialState::Complete {
                best = best.min(t.value.unwrap_or(f64::INFINITY));
            }
            best - function.minimum()
        })
        .collect())
}

/// Quartiles of a sample (linear interpolation between order statistics).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Quartiles {
    /// 25th percentile.
    pub q1: f64,
    /// The median.
    pub median: f64,
    /// 75th percentile.
    pub q3: f64,
}

impl Quartiles {
    /// The quartiles of `values` (at least one).
    pub fn of(values: &[f64]) -> Self {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let at = |q: f64| {
            let pos = q * (sorted.len() - 1) as f64;
            let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
            sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
        };
        Self {
            q1: at(0.25),
            median: at(0.5),
            q3: at(0.75),
        }
    }
}

/// Milliseconds one more trial of Hartmann-6 (6 parameters) takes to get its parameters from
/// `sampler` with `history` random complete trials in the study (mean of `rounds`).
pub fn suggestion_ms(sampler: &SamplerConfig, history: usize, rounds: usize) -> Result<f64> {
    let space = SearchSpace::from_specs(&Synthetic::Hartmann6.space())?;
    let storage = Arc::new(MemoryStorage::new());
    let filled = Study::builder()
        .name("overhead")
        .storage(storage.clone())
        .sampler(RandomSampler)
        .build()?;
    filled.optimize(history, |trial| {
        let point = trial.suggest_space(&space)?;
        Ok(Synthetic::Hartmann6.evaluate(&point)?)
    })?;
    let timed = Study::builder()
        .name("overhead")
        .storage(storage)
        .boxed_sampler(sampler.init(Some(&space))?)
        .build()?;
    let started = Instant::now();
    for _ in 0..rounds.max(1) {
        let mut trial = timed.ask()?;
        trial.suggest_space(&space)?;
        // Failed trials stay out of the samplers' history, which keeps its size.
        timed.tell(trial, TrialResult::Failed("timing only".into()))?;
    }
    Ok(started.elapsed().as_secs_f64() * 1000.0 / rounds.max(1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quartiles_interpolate_between_order_statistics() {
        let q = Quartiles::of(&[4.0, 1.0, 3.0, 2.0, 5.0]);
        assert_eq!((q.q1, q.median, q.q3), (2.0, 3.0, 4.0));
        let q = Quartiles::of(&[1.0, 2.0]);
        assert_eq!((q.q1, q.median, q.q3), (1.25, 1.5, 1.75));
    }

    #[test]
    fn a_regret_curve_never_rises_and_ends_at_the_best_trial() {
        let curve = regret_curve(Synthetic::Branin, &SamplerConfig::Random, 30, 3).unwrap();
        assert_eq!(curve.len(), 30);
        assert!(curve.windows(2).all(|w| w[1] <= w[0]));
        assert!(curve[29] >= 0.0 && curve[29] < curve[0].max(1e-9) + 1e-12);
    }
}
