//! `anneal bench multi`: hypervolume on test problems with several objectives, and suggestion
//! times.

use anneal_bench::multi::{MultiRun, PROBLEMS, Problem, run_multi, suggestion_ms};
use anneal_bench::sampler::Quartiles;
use anyhow::{Context, Result};
use clap::Args;
use rayon::prelude::*;
use serde::Serialize;

use super::sampler::{quartile_cells, sampler_config};

#[derive(Debug, Args)]
pub struct MultiBenchArgs {
    /// Study seeds 0..N per sampler and problem.
    #[arg(long, default_value_t = 20)]
    seeds: u64,
    /// A sampler to compare (repeat for more): a kind (`nsga2`, `random`) or a TOML table such
    /// as '{ kind = "nsga2", population = 100 }'.
    #[arg(long = "sampler", default_values = ["nsga2", "random"])]
    samplers: Vec<String>,
    /// Test problems: zdt1, zdt2, dtlz2, c2dtlz2 (default: all).
    #[arg(long, value_delimiter = ',')]
    problems: Vec<String>,
    /// The hypervolume is reported after these evaluations; the largest is each study's length.
    #[arg(long, value_delimiter = ',', default_value = "100,200,300")]
    at: Vec<usize>,
    /// The study size at which one suggestion is timed (random history).
    #[arg(long, default_value_t = 300)]
    timing_trials: usize,
    /// Print the figures as JSON instead of tables.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct Row {
    problem: Problem,
    sampler: String,
    /// Hypervolume quartiles after each of `at` evaluations.
    hypervolume: Vec<(usize, Quartiles)>,
    /// Each seed's hypervolume after the last evaluation.
    final_by_seed: Vec<f64>,
    /// Milliseconds per suggestion with `timing_trials` trials in the study.
    suggestion_ms: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    seeds: u64,
    timing_trials: usize,
    rows: Vec<Row>,
}

pub fn run(args: &MultiBenchArgs) -> Result<()> {
    let seeds = args.seeds.max(1);
    let samplers: Vec<_> = args
        .samplers
        .iter()
        .map(|s| sampler_config(s))
        .collect::<Result<_>>()?;
    let problems: Vec<Problem> = match args.problems.is_empty() {
        true => PROBLEMS.to_vec(),
        false => args
            .problems
            .iter()
            .map(|name| {
                Problem::parse(name).with_context(|| {
                    let known: Vec<&str> = PROBLEMS.iter().map(|p| p.name()).collect();
                    format!(
                        "--problems: no problem '{name}' (known: {})",
                        known.join(", ")
                    )
                })
            })
            .collect::<Result<_>>()?,
    };
    anyhow::ensure!(
        args.at.iter().all(|&n| n > 0),
        "--at: give evaluation counts above 0"
    );
    let mut rows = Vec::new();
    for problem in &problems {
        for (label, config) in &samplers {
            // Seeds run in parallel; each study is single-threaded and independent.
            let runs: Vec<MultiRun> = (0..seeds)
                .into_par_iter()
                .map(|seed| run_multi(*problem, config, seed, &args.at))
                .collect::<std::result::Result<_, _>>()?;
            let rounds = 5;
            let row = Row {
                problem: *problem,
                sampler: label.clone(),
                hypervolume: args
                    .at
                    .iter()
                    .enumerate()
                    .map(|(i, &n)| {
                        let at: Vec<f64> = runs.iter().map(|r| r.hypervolume[i].1).collect();
                        (n, Quartiles::of(&at))
                    })
                    .collect(),
                final_by_seed: runs
                    .iter()
                    .map(|r| r.hypervolume.last().map_or(f64::NAN, |h| h.1))
                    .collect(),
                suggestion_ms: suggestion_ms(*problem, config, args.timing_trials, rounds)?,
            };
            if !args.json {
                print_row(&row, args.timing_trials);
            }
            rows.push(row);
        }
    }
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&Report {
                seeds,
                timing_trials: args.timing_trials,
                rows
            })?
        );
    }
    Ok(())
}

fn print_row(row: &Row, timing_trials: usize) {
    let cells = quartile_cells(&row.hypervolume);
    outln!(
        "{} | {} | {} | {:.2} ms per suggestion at {timing_trials} trials",
        row.problem.name(),
        row.sampler,
        cells.join(" | "),
        row.suggestion_ms
    );
}
