//! `anneal train` and `anneal eval`: argument handling and terminal output around
//! `anneal_train::run_recorded` / `load_run`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anneal_data::Catalog;
use anneal_model::Model;
use anneal_train::{
    Control, EpochRecord, Evaluation, Observer, RunConfig, RunTarget, Summary, TaskMetrics,
    evaluate_run, load_run, run_recorded,
};
use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::backend::BackendArgs;

#[derive(Debug, Args)]
pub struct TrainArgs {
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
    /// No progress bars or per-epoch lines.
    #[arg(long, short)]
    quiet: bool,
    /// Print the run summary as JSON on stdout (human output goes to stderr).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A run folder written by `anneal train`.
    run: PathBuf,
    #[command(flatten)]
    backend: BackendArgs,
    /// Print the test evaluation as JSON on stdout.
    #[arg(long)]
    json: bool,
}

pub fn train(args: TrainArgs, data_dir: Option<&Path>) -> Result<()> {
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
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else if !args.quiet {
        print_summary(&mut out, &summary);
        out.line(format_args!("run folder: {}", run.path().display()));
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

pub fn eval(args: EvalArgs, data_dir: Option<&Path>) -> Result<()> {
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
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let mut out = Output::new(false, false);
        out.line(format_args!(
            "{} ({} samples, {} test split)",
            args.run.display(),
            loaded.data.test.len(),
            if loaded.data.official_test {
                "official"
            } else {
                "held-out"
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

/// Human output: stdout normally, stderr when stdout carries JSON; nothing when quiet.
#[derive(Clone)]
struct Output {
    to_stderr: bool,
    quiet: bool,
}

impl Output {
    fn new(json: bool, quiet: bool) -> Self {
        Self {
            to_stderr: json,
            quiet,
        }
    }

    fn line(&mut self, text: std::fmt::Arguments) {
        if self.quiet {
            return;
        }
        if self.to_stderr {
            eprintln!("{text}");
        } else {
            println!("{text}");
            let _ = std::io::stdout().flush();
        }
    }
}

/// A progress bar per epoch and a line of validation figures when it ends.
struct Progress {
    enabled: bool,
    out: Output,
    bar: Option<ProgressBar>,
    epoch: usize,
    epochs: usize,
}

impl Progress {
    fn new(enabled: bool, out: Output) -> Self {
        Self {
            enabled,
            out,
            bar: None,
            epoch: 0,
            epochs: 0,
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Observer for Progress {
    fn epoch_started(&mut self, epoch: usize, epochs: usize, batches: usize) {
        self.epoch = epoch;
        self.epochs = epochs;
        if !self.enabled {
            return;
        }
        let bar = ProgressBar::new(batches as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "epoch {prefix} [{bar:30.cyan/blue}] {pos}/{len} batches  {msg}  {elapsed}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix(format!("{epoch}/{epochs}"));
        bar.enable_steady_tick(Duration::from_millis(200));
        self.bar = Some(bar);
    }

    fn batch_finished(&mut self, batch: usize, loss: f64, samples_per_sec: f64) {
        if let Some(bar) = &self.bar {
            bar.set_position(batch as u64);
            bar.set_message(format!("loss {loss:.4}  {samples_per_sec:.0} samples/s"));
        }
    }

    fn epoch_finished(
        &mut self,
        r: &EpochRecord,
        new_best: Option<&Model>,
    ) -> anneal_train::Result<Control> {
        self.finish();
        if self.enabled {
            let width = self.epochs.to_string().len();
            let train_acc = r
                .train_accuracy
                .map(|a| format!(" acc {:.2}%", a * 100.0))
                .unwrap_or_default();
            let val = match &r.validation.metrics {
                TaskMetrics::Classification(m) => format!(
                    "val loss {:.4} acc {:.2}% f1 {:.4}",
                    r.validation.loss,
                    m.accuracy * 100.0,
                    m.macro_f1
                ),
                TaskMetrics::Regression(m) => format!(
                    "val loss {:.4} mse {:.2} mae {:.2} r2 {:.4}",
                    r.validation.loss, m.mse, m.mae, m.r2
                ),
            };
            self.out.line(format_args!(
                "epoch {:>width$}/{}  train loss {:.4}{train_acc}  {val}  lr {:.2e}  {:.1}s ({:.0} samples/s){}",
                r.epoch,
                self.epochs,
                r.train_loss,
                r.lr,
                r.seconds,
                r.samples_per_sec,
                if new_best.is_some() { "  *" } else { "" }
            ));
        }
        Ok(Control::Continue)
    }
}

fn print_summary(out: &mut Output, s: &Summary) {
    out.line(format_args!(
        "{}: {} epochs, best epoch {} ({} = {}), {:.1}s wall, {:.0} training samples/s, {} parameters, backend {}",
        s.message,
        s.epochs_run,
        s.best_epoch.map_or("-".into(), |e| e.to_string()),
        s.monitor,
        s.best_value.map_or("-".into(), |v| format!("{v:.4}")),
        s.wall_seconds,
        s.train_samples_per_sec,
        s.parameter_count,
        s.backend
    ));
    if let Some(test) = &s.test {
        print_evaluation(out, "test", test, &s.class_names);
    }
}

fn print_evaluation(out: &mut Output, label: &str, e: &Evaluation, class_names: &[String]) {
    match &e.metrics {
        TaskMetrics::Classification(m) => {
            out.line(format_args!(
                "{label}: accuracy {:.2}%  macro-F1 {:.4}  loss {:.4}",
                m.accuracy * 100.0,
                m.macro_f1,
                e.loss
            ));
            if m.per_class.len() <= 20 {
                out.line(format_args!(
                    "  class         precision  recall  f1      support"
                ));
                for (c, s) in m.per_class.iter().enumerate() {
                    let name = class_names.get(c).cloned().unwrap_or_else(|| c.to_string());
                    out.line(format_args!(
                        "  {name:<12}  {:.4}     {:.4}  {:.4}  {}",
                        s.precision, s.recall, s.f1, s.support
                    ));
                }
                out.line(format_args!(
                    "  confusion (rows: actual, columns: predicted)"
                ));
                for row in &m.confusion {
                    let cells: Vec<String> = row.iter().map(|n| format!("{n:>5}")).collect();
                    out.line(format_args!("  {}", cells.join("")));
                }
            }
        }
        TaskMetrics::Regression(m) => out.line(format_args!(
            "{label}: R² {:.4}  MSE {:.2}  MAE {:.2}  loss {:.4}",
            m.r2, m.mse, m.mae, e.loss
        )),
    }
}
