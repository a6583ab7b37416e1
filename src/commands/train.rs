//! `anneal train`, `anneal eval` and `anneal predict`: argument handling and terminal output around
//! `anneal_train::run_recorded` / `load_run`.

use std::path::{Path, PathBuf};

use anneal_data::Catalog;
use anneal_train::{
    Evaluation, RunConfig, RunTarget, TaskMetrics, evaluate_run, load_run, run_recorded,
};
use anyhow::{Context, Result, bail};
use clap::Args;

use crate::backend::BackendArgs;
mod predict;
mod report;

pub use predict::{PredictArgs, predict};

use report::{Output, Progress, print_evaluation, print_summary};

#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    data: crate::runtime::DataArgs,
    #[command(flatten)]
    threads: crate::runtime::ThreadArgs,
    /// Run config (TOML); see configs/ for ready ones.
    #[arg(long, short, value_name = "FILE")]
    config: PathBuf,
    /// Override a config value, e.g. `--set train.lr=0.01 --set model.depth=3`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
    /// Run folder name (must not exist). Default: the config's `name` or file stem, with -2, -3…
    /// appended when that folder is taken.
    #[arg(long)]
    name: Option<String>,
    /// Where run folders go.
    #[arg(long, default_value = "runs", value_name = "DIR")]
    runs_dir: PathBuf,
    #[command(flatten)]
    backend: BackendArgs,
    /// No progress bars or per-epoch lines: only the final test figures and the run folder.
    #[arg(long, short)]
    quiet: bool,
    /// Print the run summary as JSON on stdout (human output goes to stderr).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    #[command(flatten)]
    data: crate::runtime::DataArgs,
    #[command(flatten)]
    threads: crate::runtime::ThreadArgs,
    /// A run folder written by `anneal train`.
    run: PathBuf,
    #[command(flatten)]
    backend: BackendArgs,
    /// Print the test evaluation as JSON on stdout.
    #[arg(long)]
    json: bool,
}

pub fn train(args: TrainArgs) -> Result<()> {
    args.threads.apply()?;
    let data_dir = args.data.data_dir.as_deref();
    let config = RunConfig::load(&args.config, &args.overrides)
        .with_context(|| format!("cannot use run config {}", args.config.display()))?;
    let catalog = Catalog::discover(data_dir)?;
    let device = args.backend.device()?;
    let name = match &args.name {
        Some(name) => name.clone(),
        None => anneal_train::free_run_name(&args.runs_dir, &default_name(&config, &args.config)),
    };
    let mut out = Output::new(args.json, args.quiet);
    out.line(format_args!(
        "training {} on {} with {} → {}",
        model_label(&config),
        config.data.dataset.as_deref().unwrap_or("user data"),
        args.backend.name(),
        args.runs_dir.join(&name).display()
    ));
    let target = RunTarget {
        catalog: &catalog,
        runs_root: &args.runs_dir,
        name: &name,
        device: &device,
        backend: args.backend.name(),
    };
    let mut progress = Progress::new(!args.quiet, out.clone());
    let (run, summary) = run_recorded(&config, &target, &mut progress)
        .with_context(|| format!("run {name} failed"))?;
    progress.finish();

    if args.json {
        outln!("{}", serde_json::to_string_pretty(&summary)?);
    } else if !args.quiet {
        print_summary(&mut out, &summary);
        out.line(format_args!("run folder: {}", run.path().display()));
    } else {
        if let Some(test) = &summary.test {
            outln!("{}", report::headline("test", test));
        }
        outln!("run folder: {}", run.path().display());
    }
    if !summary.status.is_success() {
        bail!(
            "{} ({}; see {})",
            summary.message,
            name,
            run.path().display()
        );
    }
    Ok(())
}

pub fn eval(args: EvalArgs) -> Result<()> {
    args.threads.apply()?;
    let data_dir = args.data.data_dir.as_deref();
    let catalog = Catalog::discover(data_dir)?;
    let device = args.backend.device()?;
    let loaded = load_run(&args.run, &catalog, &device)
        .with_context(|| format!("cannot reload run {}", args.run.display()))?;
    let test = evaluate_run(&loaded, &device);
    let recorded = loaded.summary.test.as_ref();
    let same = recorded.is_some_and(|r| metrics_agree(r, &test));
    if args.json {
        let report = serde_json::json!({
            "run": args.run,
            "test": test,
            "matches_recorded": same,
        });
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let mut out = Output::new(false, false);
        out.line(format_args!(
            "{} ({} test samples, {})",
            args.run.display(),
            loaded.data.test.len(),
            if loaded.data.official_test {
                "the data's own test set"
            } else {
                "held out of the training data"
            }
        ));
        print_evaluation(&mut out, "test", &test, &loaded.data.info.class_names);
        out.line(format_args!(
            "{}",
            if same {
                "matches the test metrics recorded in summary.json"
            } else {
                "DIFFERS from the test metrics recorded in summary.json"
            }
        ));
    }
    if !same {
        bail!("re-evaluation differs from the recorded test metrics");
    }
    Ok(())
}

/// Recorded and recomputed metrics agree: identical classification counts, regression figures
/// within float noise (evaluation batches may be summed in a different order on another backend).
fn metrics_agree(a: &Evaluation, b: &Evaluation) -> bool {
    let close = |x: f64, y: f64| (x - y).abs() <= 1e-5 * x.abs().max(y.abs()).max(1.0);
    let metrics = match (&a.metrics, &b.metrics) {
        (TaskMetrics::Classification(x), TaskMetrics::Classification(y)) => {
            x.confusion == y.confusion
        }
        (TaskMetrics::Regression(x), TaskMetrics::Regression(y)) => {
            close(x.mse, y.mse) && close(x.mae, y.mae) && close(x.r2, y.r2)
        }
        _ => false,
    };
    metrics && close(a.loss, b.loss)
}

fn default_name(config: &RunConfig, path: &Path) -> String {
    config.name.clone().unwrap_or_else(|| {
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "run".into())
    })
}

fn model_label(config: &RunConfig) -> String {
    match &config.model {
        anneal_model::ModelConfig::Mlp(m) => format!("an MLP ({} hidden)", m.depth),
        anneal_model::ModelConfig::Cnn(c) => format!("a CNN ({} conv blocks)", c.blocks),
    }
}
