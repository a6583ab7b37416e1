//! The `anneal` command line: argument parsing and dispatch only; the work lives in the crates.

#[macro_use]
mod output;
mod backend;
mod commands;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "anneal",
    version,
    about = "Train neural networks and tune their hyperparameters"
)]
struct Cli {
    /// Folder of bundled datasets (default: $ANNEAL_DATA_DIR, ./datasets, or the source tree's).
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,

    /// CPU threads for the CPU backends' compute (default: all cores). With parallel trials or
    /// several runs on one machine, 1 thread each avoids oversubscription.
    #[arg(long, global = true, value_name = "N")]
    threads: Option<usize>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the bundled datasets, show one, or check your own CSV / IDX files.
    Datasets(commands::datasets::DatasetsArgs),
    /// Train a model from a run config into a new run folder.
    Train(commands::train::TrainArgs),
    /// Reload a finished run's checkpoint and recompute its test metrics.
    Eval(commands::train::EvalArgs),
    /// Run (or resume) a hyperparameter sweep into its study database.
    Tune(commands::tune::TuneArgs),
    /// Inspect studies: list, show, best, export, delete.
    Study(commands::study::StudyArgs),
    /// Start a trial of a study and print its number and parameters as JSON (for any program).
    Ask(commands::ask::AskArgs),
    /// Record how a trial from `anneal ask` ended.
    Tell(commands::ask::TellArgs),
    /// Write a self-contained HTML report of a study or of a training run.
    Report(commands::report::ReportArgs),
    /// Measure speed figures (data loading, training throughput).
    Bench(commands::bench::BenchArgs),
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ANNEAL_LOG")
                // cubecl and wgpu log their own (already handled) failures as warnings.
                .unwrap_or_else(|_| "warn,cubecl=error,cubecl_common=error,wgpu=error,wgpu_core=error,wgpu_hal=error".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    if let Some(threads) = cli.threads {
        anyhow::ensure!(threads > 0, "--threads must be at least 1");
        // Burn's CPU backends run their parallel loops on rayon's global pool.
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()
            .map_err(|e| anyhow::anyhow!("cannot set up {threads} threads: {e}"))?;
    }
    match cli.command {
        Command::Datasets(args) => commands::datasets::run(args, cli.data_dir.as_deref()),
        Command::Train(args) => commands::train::train(args, cli.data_dir.as_deref()),
        Command::Eval(args) => commands::train::eval(args, cli.data_dir.as_deref()),
        Command::Tune(args) => commands::tune::tune(args, cli.data_dir.as_deref()),
        Command::Study(args) => commands::study::study(args),
        Command::Ask(args) => commands::ask::ask(args),
        Command::Tell(args) => commands::ask::tell(args),
        Command::Report(args) => commands::report::report(args),
        Command::Bench(args) => commands::bench::run(args, cli.data_dir.as_deref()),
    }
}
