//! The pruner comparison: full-budget random search against random + median, ASHA, Hyperband
//! and TPE + Hyperband on one training sweep; each (variant, seed) sweep runs in a scratch folder
//! and reports the epochs it trained, its wall time and its best value.

use std::path::Path;
use std::time::Instant;

use anneal_sweep::{Sweep, SweepFile, TrainingContext, open_study, run_sweep};
use anneal_tune::{
    Distribution, PrunerConfig, Quiet, SamplerConfig, SqliteStorage, TrialState, best_trial,
};
use serde::{Deserialize, Serialize};

use crate::{BenchError, Result};

/// One compared configuration of the tuner.
pub struct Variant {
    /// Its name on the command line (`--variant tpe-hyperband`).
    pub key: &'static str,
    /// The table's row label.
    pub label: &'static str,
    /// The sampler it runs.
    pub sampler: SamplerConfig,
    /// The pruner it runs.
    pub pruner: PrunerConfig,
}

/// What one sweep of one variant and seed cost and found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measurement {
    /// Epochs trained over all trials.
    pub epochs: usize,
    /// The sweep's wall time.
    pub wall_seconds: f64,
    /// None when no trial completed with a finite value.
    pub best: Option<f64>,
    /// Trials pruned.
    pub pruned: usize,
}

/// The variants, in the table's order. A pruner kind the sweep file itself configures keeps the
/// file's settings, so the comparison runs what `anneal tune` on that file would; the others get
/// the defaults: median after 3 warm-up epochs and 5 completed trials, ASHA from 1 epoch,
/// Hyperband from 1 epoch to the sweep's, η = 3.
pub fn variants(file: &SweepFile, epochs: usize) -> Result<Vec<Variant>> {
    let tpe = SamplerConfig::default(); // TPE with Optuna's defaults
    let median = match file.pruner {
        PrunerConfig::Median { .. } => file.pruner.clone(),
        _ => PrunerConfig::Median {
            warmup_epochs: 3,
            min_trials: 5,
        },
    };
    let asha = match file.pruner {
        PrunerConfig::Asha { .. } => file.pruner.clone(),
        _ => PrunerConfig::Asha {
            min_resource: 1,
            reduction_factor: 3,
        },
    };
    let hyperband = match file.pruner {
        PrunerConfig::Hyperband { .. } => file.pruner.clone(),
        _ => PrunerConfig::Hyperband {
            min_resource: 1,
            max_resource: epochs,
            reduction_factor: 3,
        },
    };
    Ok(vec![
        Variant {
            key: "random",
            label: "random (full budget)",
            sampler: SamplerConfig::Random,
            pruner: PrunerConfig::None,
        },
        Variant {
            key: "random-median",
            label: "random + median",
            sampler: SamplerConfig::Random,
            pruner: median,
        },
        Variant {
            key: "random-asha",
            label: "random + ASHA",
            sampler: SamplerConfig::Random,
            pruner: asha,
        },
        Variant {
            key: "random-hyperband",
            label: "random + Hyperband",
            sampler: SamplerConfig::Random,
            pruner: hyperband.clone(),
        },
        Variant {
            key: "tpe-hyperband",
            label: "TPE + Hyperband",
            sampler: tpe,
            pruner: hyperband,
        },
    ])
}

/// A training sweep and its fixed `train.epochs` (the resource the pruners share out).
pub fn load_sweep(path: &Path) -> Result<(Sweep, usize)> {
    let sweep = Sweep::load(path)?;
    let epochs = sweep
        .space
        .params
        .iter()
        .find(|p| p.name == "train.epochs")
        .and_then(|p| match &p.distribution {
            Distribution::Fixed(v) => v.as_i64(),
            _ => None,
        })
        .filter(|&e| e >= 1)
        .ok_or_else(|| {
            BenchError::Setting(format!(
                "{}: the pruning bench needs a fixed train.epochs ≥ 1 in the sweep (a [[search]] with `value`)",
                path.display()
            ))
        })?;
    Ok((sweep, epochs as usize))
}

/// Runs the sweep with the variant's sampler and pruner and the given seed in a scratch folder
/// (its own study database and run folders, deleted afterwards).
pub fn measure(
    sweep: &Sweep,
    variant: &Variant,
    seed: u64,
    context: &TrainingContext,
) -> Result<Measurement> {
    let scratch = std::env::temp_dir().join(format!(
        "anneal-bench-pruning-{}-{}",
        std::process::id(),
        seed
    ));
    let _ = std::fs::remove_dir_all(&scratch);
    let mut file = sweep.file.clone();
    file.seed = seed;
    file.sampler = variant.sampler.clone();
    file.pruner = variant.pruner.clone();
    file.runs_dir = scratch.join("runs");
    let text = toml::to_string(&file).map_err(|e| BenchError::Setting(e.to_string()))?;
    let sweep = Sweep::parse(&sweep.path, &text)?;
    let study = open_study(
        &sweep,
        SqliteStorage::open(scratch.join("study.db"))?,
        Some(context),
    )?;
    let started = Instant::now();
    let outcome = run_sweep(&study, &sweep, Some(context), &mut Quiet);
    let wall_seconds = started.elapsed().as_secs_f64();
    drop(study);
    let _ = std::fs::remove_dir_all(&scratch);
    let outcome = outcome?;
    Ok(Measurement {
        epochs: outcome.trials.iter().map(|t| t.intermediate.len()).sum(),
        wall_seconds,
        best: best_trial(&outcome.trials, outcome.study.direction).and_then(|t| t.value),
        pruned: outcome
            .trials
            .iter()
            .filter(|t| t.state == TrialState::Pruned)
            .count(),
    })
}
