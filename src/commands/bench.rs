//! `anneal bench`: measured figures, kept out of the timed test suite.

use std::path::{Path, PathBuf};

use anneal_bench::{accuracy, data, predict, throughput};
use anneal_data::Catalog;
use anneal_train::TaskMetrics;
use anyhow::{Context, Result};
use clap::{Args, Subcommand};

use crate::backend::BackendArgs;

mod multi;
mod pruning;
mod sampler;
mod storage;

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(flatten)]
    data: crate::runtime::DataArgs,
    #[command(flatten)]
    threads: crate::runtime::ThreadArgs,
    #[command(subcommand)]
    what: BenchWhat,
}

#[derive(Debug, Subcommand)]
enum BenchWhat {
    /// Time loading a bundled dataset: read, sha256 check, gunzip, parse, convert to f32, count checks.
    Data {
        /// The bundled dataset to load.
        #[arg(long, default_value = "mnist")]
        dataset: String,
        /// Timed repetitions (the median is reported).
        #[arg(long, default_value_t = 7)]
        rounds: usize,
    },
    /// Training throughput (forward + backward + Adam step) on MNIST-shaped random batches:
    /// the MLP 784-512-256-10 and the CNN conv3×3(32)-conv3×3(64)-maxpool2-fc128-fc10.
    Train {
        /// Which model(s) to time.
        #[arg(long, value_enum, default_value_t = BenchModel::Both)]
        model: BenchModel,
        /// Examples per step.
        #[arg(long, default_value_t = 128)]
        batch_size: usize,
        /// Timed steps per round (after warm-up steps).
        #[arg(long, default_value_t = 20)]
        steps: usize,
        /// Untimed steps before each round (allocations, caches).
        #[arg(long, default_value_t = 3)]
        warmup: usize,
        /// Timed rounds (the median is reported).
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        #[command(flatten)]
        backend: BackendArgs,
    },
    /// Sampler quality: simple regret (median and quartiles over seeds) after 25, 50 and 100
    /// evaluations of five test functions, beside Optuna's figures, and the time one
    /// suggestion takes with 100 and 300 trials in the study.
    Sampler(sampler::SamplerBenchArgs),
    /// Samplers for several objectives: hypervolume (median and quartiles over seeds) after
    /// 100, 200 and 300 evaluations of ZDT1, ZDT2, DTLZ2 and the constrained C2-DTLZ2, and the
    /// time one suggestion takes with 300 trials in the study.
    Multi(multi::MultiBenchArgs),
    /// Study storage throughput: trials per second with 1, 4 and 8 workers on one study
    /// (SQLite, and PostgreSQL with `--storage postgresql://...`), and the rows the tuner reads
    /// per trial early and late in the study.
    Storage(storage::StorageBenchArgs),
    /// Pruner comparison: full-budget random search against random + median, ASHA, Hyperband
    /// and TPE + Hyperband on a training sweep (epochs used, wall time, best value; median over
    /// seeds, then each seed's best value and epochs).
    Pruning {
        /// A training sweep; its sampler and pruner are replaced by each variant (a pruner kind
        /// the file configures keeps the file's settings).
        #[arg(long, default_value = "configs/digits-prune.sweep.toml")]
        sweep: PathBuf,
        /// Seeds 0..N per variant.
        #[arg(long, default_value_t = 3)]
        seeds: u64,
        /// Sweeps run at once, each as a single-threaded child process. With 1 (the default)
        /// they run one after another in this process, on `--threads`; wall times are
        /// comparable within one invocation, not across `--jobs` settings.
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        /// Run only these variants (repeat for more): random, random-median, random-asha,
        /// random-hyperband, tpe-hyperband.
        #[arg(long = "variant")]
        variants: Vec<String>,
        /// Internal: run one variant (with `--child-seed`) and print its measurement as JSON.
        #[arg(long, hide = true, requires = "child_seed")]
        child_variant: Option<usize>,
        #[arg(long, hide = true, requires = "child_variant")]
        child_seed: Option<u64>,
        #[command(flatten)]
        backend: BackendArgs,
    },
    /// Prediction speed on new tabular rows: a run of the churn example scores N rows (read,
    /// encode, preprocess, forward pass, metrics, CSV out), median over rounds.
    Predict {
        /// Rows to predict.
        #[arg(long, default_value_t = 100_000)]
        rows: usize,
        /// Timed rounds (the median is reported).
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// Where the bench's run and input file go (kept for inspection).
        #[arg(long, default_value = "runs/bench-predict", value_name = "DIR")]
        work_dir: PathBuf,
        #[command(flatten)]
        backend: BackendArgs,
    },
    /// Train ready configs and print a table of their test figures (the README's accuracy table).
    Accuracy {
        /// Run configs to train (default: the MLP configs and digits-cnn in configs/).
        configs: Vec<PathBuf>,
        /// Where the run folders go (kept for inspection).
        #[arg(long, default_value = "runs/bench-accuracy", value_name = "DIR")]
        runs_dir: PathBuf,
        #[command(flatten)]
        backend: BackendArgs,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum BenchModel {
    Mlp,
    Cnn,
    Both,
}

pub fn run(args: BenchArgs) -> Result<()> {
    args.threads.apply()?;
    let data_dir = args.data.data_dir.as_deref();
    match args.what {
        BenchWhat::Data { dataset, rounds } => bench_data(data_dir, &dataset, rounds),
        BenchWhat::Train {
            model,
            batch_size,
            steps,
            warmup,
            rounds,
            backend,
        } => {
            let device = backend.device()?;
            let shape = throughput::Shape {
                batch_size,
                steps,
                warmup,
                rounds,
            };
            let models = [
                (BenchModel::Mlp, "MLP 784-512-256-10", throughput::MLP),
                (
                    BenchModel::Cnn,
                    "CNN conv3x3(32)-conv3x3(64)-maxpool2-fc128-fc10",
                    throughput::CNN,
                ),
            ];
            for (kind, label, config) in models {
                if model != BenchModel::Both && model != kind {
                    continue;
                }
                let mut rates = throughput::samples_per_second(config, &shape, &device)?;
                rates.sort_by(f64::total_cmp);
                let median = rates[rates.len() / 2];
                outln!(
                    "train {label} [{}, batch {}]: median {median:.0} samples/s ({:.1} ms/step), min {:.0}, max {:.0} over {} rounds of {} steps",
                    backend.name(),
                    batch_size.max(1),
                    1000.0 * batch_size.max(1) as f64 / median,
                    rates[0],
                    rates[rates.len() - 1],
                    rates.len(),
                    steps.max(1)
                );
            }
            Ok(())
        }
        BenchWhat::Sampler(args) => sampler::run(&args),
        BenchWhat::Multi(args) => multi::run(&args),
        BenchWhat::Storage(args) => storage::run(args),
        BenchWhat::Pruning {
            sweep,
            seeds,
            jobs,
            variants,
            child_variant,
            child_seed,
            backend,
        } => {
            let args = pruning::PruningArgs {
                data_dir,
                sweep: &sweep,
                seeds,
                jobs,
                only: &variants,
                backend: &backend,
            };
            match (child_variant, child_seed) {
                (Some(variant), Some(seed)) => pruning::run_one(&args, variant, seed),
                _ => pruning::run(&args),
            }
        }
        BenchWhat::Accuracy {
            configs,
            runs_dir,
            backend,
        } => bench_accuracy(data_dir, configs, &runs_dir, &backend),
        BenchWhat::Predict {
            rows,
            rounds,
            work_dir,
            backend,
        } => {
            let catalog = Catalog::discover(data_dir)?;
            let device = backend.device()?;
            let times =
                predict::time_predict(&work_dir, rows, rounds, &catalog, &device, backend.name())
                    .context("timing predictions")?;
            outln!(
                "predict {} rows of {} [{}]: median {:.3} s ({:.3} read + encode, {:.3} model + metrics, {:.3} write CSV) over {} rounds; loading the run {:.1} ms; {:.0} rows/s",
                times.rows,
                predict::CONFIG,
                backend.name(),
                times.total,
                times.read,
                times.model,
                times.write,
                rounds.max(1),
                times.load * 1000.0,
                times.rows as f64 / times.total
            );
            Ok(())
        }
    }
}

fn bench_data(data_dir: Option<&Path>, name: &str, rounds: usize) -> Result<()> {
    let catalog = Catalog::discover(data_dir)?;
    let (mut seconds, loaded) =
        data::time_load(&catalog, name, rounds).with_context(|| format!("loading {name}"))?;
    seconds.sort_by(f64::total_cmp);
    outln!(
        "load {name} (train {} + test {} samples of {:?}, every file sha256-verified): median {:.3} s, min {:.3} s, max {:.3} s over {} rounds",
        loaded.train.len(),
        loaded.test.as_ref().map_or(0, |t| t.len()),
        loaded.info.shape,
        seconds[seconds.len() / 2],
        seconds[0],
        seconds[seconds.len() - 1],
        seconds.len(),
    );
    Ok(())
}

fn bench_accuracy(
    data_dir: Option<&Path>,
    configs: Vec<PathBuf>,
    runs_dir: &Path,
    backend: &BackendArgs,
) -> Result<()> {
    let catalog = Catalog::discover(data_dir)?;
    let device = backend.device()?;
    let configs = if configs.is_empty() {
        accuracy::default_configs()
    } else {
        configs
    };
    outln!("| config | test figure | epochs (best) | wall | train samples/s |");
    outln!("|---|---|---|---|---|");
    for path in configs {
        let (stem, summary) =
            accuracy::train_config(&path, runs_dir, &catalog, &device, backend.name())
                .with_context(|| format!("training {}", path.display()))?;
        let figure = match summary.test.as_ref().map(|t| &t.metrics) {
            Some(TaskMetrics::Classification(m)) => format!("accuracy {:.2}%", m.accuracy * 100.0),
            Some(TaskMetrics::Regression(m)) => format!("R² {:.3}", m.r2),
            None => summary.message.clone(),
        };
        outln!(
            "| {stem} | {figure} | {} ({}) | {:.1} s | {:.0} |",
            summary.epochs_run,
            summary.best_epoch.map_or("-".into(), |e| e.to_string()),
            summary.wall_seconds,
            summary.train_samples_per_sec
        );
    }
    Ok(())
}
