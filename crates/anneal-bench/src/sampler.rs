//! Sampler quality (simple regret on test functions with known minima) and the time one
//! suggestion takes.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anneal_sweep::{Sweep, open_study, run_sweep};
use anneal_tune::{
    Direction, MemoryStorage, Quiet, RandomSampler, SamplerConfig, SearchSpace, SqliteStorage,
    Study, Synthetic, TrialResult, best_trial,
};

use crate::Result;

/// Simple regret (best value found − the minimum) of `sampler` (a TOML inline table) on
/// `function` after `evaluations`, for study seeds `0..seeds`, each in its own SQLite file
/// under `scratch`.
pub fn regrets(
    function: Synthetic,
    evaluations: usize,
    sampler: &str,
    seeds: u64,
    scratch: &Path,
) -> Result<Vec<f64>> {
    std::fs::create_dir_all(scratch).map_err(|e| {
        crate::BenchError::Setting(format!("cannot create {}: {e}", scratch.display()))
    })?;
    (0..seeds)
        .map(|seed| {
            let text = format!(
                "study = \"bench\"\nsynthetic = \"{}\"\ntrials = {evaluations}\nseed = {seed}\nsampler = {sampler}\n",
                function.name()
            );
            let sweep = Sweep::parse(Path::new("bench.sweep.toml"), &text)?;
            let db = scratch.join(format!("{}-{seed}.db", function.name()));
            let _ = std::fs::remove_file(&db);
            let study = open_study(&sweep, Box::new(SqliteStorage::open(&db)?))?;
            let outcome = run_sweep(&study, &sweep, None, &mut Quiet)?;
            drop(study);
            let _ = std::fs::remove_file(&db);
            let best = best_trial(&outcome.trials, Direction::Minimize).and_then(|t| t.value);
            Ok(best.map_or(f64::INFINITY, |b| b - function.minimum()))
        })
        .collect()
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
