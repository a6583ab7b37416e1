//! `anneal bench`: measured figures, kept out of the timed test suite.

use std::path::Path;
use std::time::Instant;

use anneal_data::Catalog;
use anyhow::{Context, Result};
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    what: BenchWhat,
}

#[derive(Debug, Subcommand)]
enum BenchWhat {
    /// Time loading a bundled dataset: read, sha256 check, gunzip, parse, convert to f32, count checks.
    Data {
        #[arg(long, default_value = "mnist")]
        dataset: String,
        /// Timed repetitions (the median is reported).
        #[arg(long, default_value_t = 7)]
        rounds: usize,
    },
}

pub fn run(args: BenchArgs, data_dir: Option<&Path>) -> Result<()> {
    match args.what {
        BenchWhat::Data { dataset, rounds } => bench_data(data_dir, &dataset, rounds.max(1)),
    }
}

fn bench_data(data_dir: Option<&Path>, name: &str, rounds: usize) -> Result<()> {
    let catalog = Catalog::discover(data_dir)?;
    let mut seconds = Vec::with_capacity(rounds);
    let mut last = None;
    for _ in 0..rounds {
        let started = Instant::now();
        let loaded = catalog
            .load(name)
            .with_context(|| format!("loading {name}"))?;
        seconds.push(started.elapsed().as_secs_f64());
        last = Some(loaded);
    }
    let loaded = last.expect("at least one round");
    seconds.sort_by(f64::total_cmp);
    println!(
        "load {name} (train {} + test {} samples of {:?}, every file sha256-verified): median {:.3} s, min {:.3} s, max {:.3} s over {rounds} rounds",
        loaded.train.len(),
        loaded.test.as_ref().map_or(0, |t| t.len()),
        loaded.info.shape,
        seconds[rounds / 2],
        seconds[0],
        seconds[rounds - 1],
    );
    Ok(())
}
