//! `anneal bench`: measured figures, kept out of the timed test suite.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anneal_data::{Batch, BatchTargets, Catalog};
use anneal_model::{DataShape, LossConfig, ModelConfig};
use anneal_train::{
    RunConfig, RunTarget, Silent, TaskMetrics, TrainConfig, build_optimizer, run_recorded,
    train_step,
};
use anyhow::{Context, Result};
use burn::module::Module;
use burn::tensor::{Device, Distribution, Int, Tensor};
use clap::{Args, Subcommand};

use crate::backend::BackendArgs;

mod pruning;

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
    /// Training throughput (forward + backward + Adam step) on MNIST-shaped random batches:
    /// the MLP 784-512-256-10 and the CNN conv3×3(32)-conv3×3(64)-maxpool2-fc128-fc10.
    Train {
        /// Which model(s) to time.
        #[arg(long, value_enum, default_value_t = BenchModel::Both)]
        model: BenchModel,
        #[arg(long, default_value_t = 128)]
        batch_size: usize,
        /// Timed steps per round (after warm-up steps).
        #[arg(long, default_value_t = 20)]
        steps: usize,
        #[arg(long, default_value_t = 3)]
        warmup: usize,
        /// Timed rounds (the median is reported).
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        #[command(flatten)]
        backend: BackendArgs,
    },
    /// Sampler quality (median simple regret over seeds on Branin and Hartmann-6) and the time
    /// one TPE suggestion takes with a large history.
    Sampler {
        /// Seeds per sampler and function.
        #[arg(long, default_value_t = 20)]
        seeds: u64,
    },
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
        /// Internal: run one variant (with `--child-seed`) and print its measurement as JSON.
        #[arg(long, hide = true, requires = "child_seed")]
        child_variant: Option<usize>,
        #[arg(long, hide = true, requires = "child_variant")]
        child_seed: Option<u64>,
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

pub fn run(args: BenchArgs, data_dir: Option<&Path>) -> Result<()> {
    match args.what {
        BenchWhat::Data { dataset, rounds } => bench_data(data_dir, &dataset, rounds.max(1)),
        BenchWhat::Train {
            model,
            batch_size,
            steps,
            warmup,
            rounds,
            backend,
        } => {
            let device = backend.device()?;
            let shape = TrainShape {
                batch_size: batch_size.max(1),
                steps: steps.max(1),
                warmup,
                rounds: rounds.max(1),
            };
            if model != BenchModel::Cnn {
                bench_train(
                    "MLP 784-512-256-10",
                    BENCH_MLP,
                    &shape,
                    &device,
                    backend.name(),
                )?;
            }
            if model != BenchModel::Mlp {
                bench_train(
                    "CNN conv3x3(32)-conv3x3(64)-maxpool2-fc128-fc10",
                    BENCH_CNN,
                    &shape,
                    &device,
                    backend.name(),
                )?;
            }
            Ok(())
        }
        BenchWhat::Sampler { seeds } => bench_sampler(seeds.max(1)),
        BenchWhat::Pruning {
            sweep,
            seeds,
            jobs,
            child_variant,
            child_seed,
            backend,
        } => {
            let args = pruning::PruningArgs {
                data_dir,
                sweep: &sweep,
                seeds,
                jobs,
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

const BENCH_MLP: &str = r#"
kind = "mlp"
depth = 2
units = [512, 256]
"#;

const BENCH_CNN: &str = r#"
kind = "cnn"
blocks = 2
filters = [32, 64]
kernel_size = 3
padding = "valid"
pooling = "max"
pool_every = 2
head_depth = 1
head_units = 128
"#;

struct TrainShape {
    batch_size: usize,
    steps: usize,
    warmup: usize,
    rounds: usize,
}

/// Times full training steps (forward, cross-entropy, backward, Adam update) on one fixed random
/// batch, so only the model's compute is measured, not data loading.
fn bench_train(
    label: &str,
    model_toml: &str,
    shape: &TrainShape,
    device: &Device,
    backend: &str,
) -> Result<()> {
    let config: ModelConfig = toml::from_str(model_toml).context("benchmark model config")?;
    let train_device = device.clone().autodiff();
    device.seed(0);
    let mut model = config.init(
        &train_device,
        &DataShape {
            input: vec![1, 28, 28],
            outputs: 10,
        },
    )?;
    let train = TrainConfig::default();
    let mut optimizer = build_optimizer(&train);
    let loss = LossConfig::default();
    let b = shape.batch_size;
    let inputs = Tensor::<2>::random([b, 784], Distribution::Normal(0.0, 1.0), &train_device);
    let labels = Tensor::<1, Int>::from_data(
        burn::tensor::TensorData::new((0..b as i64).map(|i| i % 10).collect::<Vec<_>>(), [b]),
        &train_device,
    );
    let batch = Batch {
        shape: vec![1, 28, 28],
        inputs,
        targets: BatchTargets::Classes(labels),
    };
    // Training's own step (it reads the loss back every batch, as training does).
    let mut step = |model: anneal_model::Model| {
        train_step(model, &mut optimizer, &batch, &loss, &train, 1e-3).0
    };
    for _ in 0..shape.warmup {
        model = step(model);
    }
    let mut rates = Vec::with_capacity(shape.rounds);
    for _ in 0..shape.rounds {
        let started = Instant::now();
        for _ in 0..shape.steps {
            model = step(model);
        }
        // Make sure queued work (GPU backends) is finished before the clock stops.
        let _ = model.clone().valid().num_params();
        let seconds = started.elapsed().as_secs_f64();
        rates.push((shape.steps * b) as f64 / seconds);
    }
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    println!(
        "train {label} [{backend}, batch {b}]: median {median:.0} samples/s ({:.1} ms/step), min {:.0}, max {:.0} over {} rounds of {} steps",
        1000.0 * b as f64 / median,
        rates[0],
        rates[rates.len() - 1],
        shape.rounds,
        shape.steps
    );
    Ok(())
}

const DEFAULT_ACCURACY_CONFIGS: [&str; 8] = [
    "configs/digits-mlp.toml",
    "configs/iris-mlp.toml",
    "configs/wine-mlp.toml",
    "configs/breast_cancer-mlp.toml",
    "configs/diabetes-mlp.toml",
    "configs/mnist-mlp.toml",
    "configs/fashion-mnist-mlp.toml",
    "configs/digits-cnn.toml",
];

fn bench_accuracy(
    data_dir: Option<&Path>,
    configs: Vec<PathBuf>,
    runs_dir: &Path,
    backend: &BackendArgs,
) -> Result<()> {
    let catalog = Catalog::discover(data_dir)?;
    let device = backend.device()?;
    let configs = if configs.is_empty() {
        DEFAULT_ACCURACY_CONFIGS.iter().map(PathBuf::from).collect()
    } else {
        configs
    };
    println!("| config | test figure | epochs (best) | wall | train samples/s |");
    println!("|---|---|---|---|---|");
    for path in configs {
        let config = RunConfig::load(&path, &[])
            .with_context(|| format!("cannot use run config {}", path.display()))?;
        let stem = path
            .file_stem()
            .map_or("run".into(), |s| s.to_string_lossy().into_owned());
        let name = anneal_train::free_run_name(runs_dir, &stem);
        let target = RunTarget {
            catalog: &catalog,
            runs_root: runs_dir,
            name: &name,
            device: &device,
            backend: backend.name(),
        };
        let (_, summary) = run_recorded(&config, &target, &mut Silent)
            .with_context(|| format!("training {}", path.display()))?;
        let figure = match summary.test.as_ref().map(|t| &t.metrics) {
            Some(TaskMetrics::Classification(m)) => format!("accuracy {:.2}%", m.accuracy * 100.0),
            Some(TaskMetrics::Regression(m)) => format!("R² {:.3}", m.r2),
            None => summary.message.clone(),
        };
        println!(
            "| {stem} | {figure} | {} ({}) | {:.1} s | {:.0} |",
            summary.epochs_run,
            summary.best_epoch.map_or("-".into(), |e| e.to_string()),
            summary.wall_seconds,
            summary.train_samples_per_sec
        );
    }
    Ok(())
}

fn bench_sampler(seeds: u64) -> Result<()> {
    use anneal_sweep::{Sweep, open_study, run_sweep};
    use anneal_tune::{Direction, Quiet, SqliteStorage, Synthetic, best_trial};
    let dir = std::env::temp_dir().join(format!("anneal-bench-sampler-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    println!("| function | evaluations | sampler | median simple regret | min | max |");
    println!("|---|---|---|---|---|---|");
    for (function, evaluations) in [(Synthetic::Branin, 50), (Synthetic::Hartmann6, 100)] {
        for (sampler, setting) in [
            ("random", "{ kind = \"random\" }"),
            ("tpe", "{ kind = \"tpe\" }"),
            (
                "tpe multivariate",
                "{ kind = \"tpe\", multivariate = true }",
            ),
            ("gp", "{ kind = \"gp\" }"),
        ] {
            let mut regrets = Vec::with_capacity(seeds as usize);
            for seed in 0..seeds {
                let text = format!(
                    "study = \"bench\"\nsynthetic = \"{}\"\ntrials = {evaluations}\nseed = {seed}\nsampler = {setting}\n",
                    function.name()
                );
                let sweep = Sweep::parse(Path::new("bench.sweep.toml"), &text)?;
                let db = dir.join(format!(
                    "{}-{}-{seed}.db",
                    function.name(),
                    sampler.replace(' ', "-")
                ));
                let _ = std::fs::remove_file(&db);
                let study = open_study(&sweep, Box::new(SqliteStorage::open(&db)?))?;
                let outcome = run_sweep(&study, &sweep, None, &mut Quiet)?;
                let best = best_trial(&outcome.trials, Direction::Minimize).and_then(|t| t.value);
                regrets.push(best.map_or(f64::INFINITY, |b| b - function.minimum()));
            }
            regrets.sort_by(f64::total_cmp);
            println!(
                "| {} | {evaluations} | {sampler} | {:.4} | {:.4} | {:.4} |",
                function.name(),
                regrets[regrets.len() / 2],
                regrets[0],
                regrets[regrets.len() - 1]
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);

    // Suggestion overhead on Hartmann-6's 6 parameters: a study in memory filled with random
    // complete trials, then the time one more trial takes to get its parameters.
    let overhead =
        |sampler: anneal_tune::SamplerConfig, history: usize, rounds: usize| -> Result<f64> {
            let space = anneal_tune::SearchSpace::from_specs(&Synthetic::Hartmann6.space())?;
            let storage = std::sync::Arc::new(anneal_tune::MemoryStorage::new());
            let study = anneal_tune::Study::builder()
                .name("overhead")
                .storage(storage.clone())
                .sampler(anneal_tune::RandomSampler)
                .build()?;
            study.optimize(history, |trial| {
                let point = trial.suggest_space(&space)?;
                Ok(Synthetic::Hartmann6.evaluate(&point)?)
            })?;
            let timed = anneal_tune::Study::builder()
                .name("overhead")
                .storage(storage)
                .boxed_sampler(sampler.init(Some(&space))?)
                .build()?;
            let started = Instant::now();
            for _ in 0..rounds {
                let mut trial = timed.ask()?;
                trial.suggest_space(&space)?;
                timed.tell(
                    trial,
                    anneal_tune::TrialResult::Failed("timing only".into()),
                )?;
            }
            Ok(started.elapsed().as_secs_f64() * 1000.0 / rounds as f64)
        };
    let tpe: anneal_tune::SamplerConfig = toml::from_str("kind = \"tpe\"")?;
    println!(
        "TPE suggestion with 500 completed trials (6 parameters): {:.2} ms (mean of 50)",
        overhead(tpe, 500, 50)?
    );
    let gp: anneal_tune::SamplerConfig = toml::from_str("kind = \"gp\"")?;
    println!(
        "GP suggestion with 200 completed trials (6 parameters): {:.1} ms (mean of 10)",
        overhead(gp, 200, 10)?
    );
    Ok(())
}
