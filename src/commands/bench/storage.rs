//! `anneal bench storage`: trials per second with 1, 4 and 8 workers on one study, SQLite
//! beside PostgreSQL, and the rows the tuner reads per trial early and late in the study.

use std::time::Duration;

use anneal_bench::storage::{StorageBench, storage_throughput};
use anyhow::Result;
use clap::Args;

#[derive(Debug, Args)]
pub struct StorageBenchArgs {
    /// Storages to measure, each a SQLite file or a PostgreSQL URL (repeat for more); a fresh
    /// study is made in each per measurement. Default: a SQLite file in a temporary folder.
    #[arg(long = "storage", value_name = "FILE|URL")]
    storages: Vec<String>,
    /// Worker counts (each worker is a thread with its own storage handle, as a process is).
    #[arg(long, value_delimiter = ',', default_value = "1,4,8")]
    workers: Vec<usize>,
    /// Trials per study.
    #[arg(long, default_value_t = 200)]
    trials: usize,
    /// Milliseconds one trial's objective takes.
    #[arg(long, default_value_t = 10.0)]
    objective_ms: f64,
    /// Intermediate values per trial.
    #[arg(long, default_value_t = 5)]
    steps: usize,
}

pub fn run(args: StorageBenchArgs) -> Result<()> {
    // The default study file lives in a scratch folder removed afterwards.
    let scratch = std::env::temp_dir().join(format!("anneal-bench-storage-{}", std::process::id()));
    let storages = match args.storages.is_empty() {
        true => vec![scratch.join("bench.db").display().to_string()],
        false => args.storages.clone(),
    };
    let measured = measure(&args, &storages);
    let _ = std::fs::remove_dir_all(&scratch);
    measured
}

fn measure(args: &StorageBenchArgs, storages: &[String]) -> Result<()> {
    anyhow::ensure!(
        args.objective_ms.is_finite() && args.objective_ms >= 0.0,
        "--objective-ms {}: give a number of milliseconds, 0 or more",
        args.objective_ms
    );
    outln!(
        "{} trials of a {} ms objective, {} steps each, TPE + median pruning",
        args.trials,
        args.objective_ms,
        args.steps
    );
    outln!(
        "{:<10} {:>7} {:>10} {:>8} {:>11} {:>18} {:>18}",
        "storage",
        "workers",
        "trials/s",
        "seconds",
        "calls/trial",
        "history rows/trial",
        "pruner rows/trial"
    );
    for location in storages {
        let kind = match anneal_tune::is_postgres_url(location) {
            true => "postgresql",
            false => "sqlite",
        };
        for &workers in &args.workers {
            let figures = storage_throughput(&StorageBench {
                location: location.clone(),
                workers,
                trials: args.trials,
                objective: Duration::from_secs_f64(args.objective_ms / 1000.0),
                steps: args.steps,
            })?;
            outln!(
                "{kind:<10} {workers:>7} {:>10.1} {:>8.2} {:>11.1} {:>18} {:>18}",
                figures.trials_per_second,
                figures.seconds,
                figures.calls_per_trial,
                format!(
                    "{:.1} → {:.1}",
                    figures.history_rows_early, figures.history_rows_late
                ),
                format!(
                    "{:.1} → {:.1}",
                    figures.pruner_rows_early, figures.pruner_rows_late
                ),
            );
        }
    }
    outln!("rows/trial: first quarter of the study → last quarter");
    Ok(())
}
