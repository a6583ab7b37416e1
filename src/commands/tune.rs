//! `anneal tune` and `anneal study`: running sweeps and reading their studies.

use std::io::Write;
use std::path::{Path, PathBuf};

use anneal_data::Catalog;
use anneal_sweep::{Sweep, TrainingContext, open_study};
use anneal_tune::{
    Assignment, SqliteStorage, Storage, StudyObserver, StudyRecord, TrialRecord, TrialState,
    best_trial,
};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};

use crate::backend::BackendArgs;

#[derive(Debug, Args)]
pub struct TuneArgs {
    /// Sweep file (TOML): study name, base run config or synthetic objective, search space,
    /// sampler, budget. Rerunning it resumes the study.
    sweep: PathBuf,
    /// Total number of trials (overrides the sweep file's `trials`).
    #[arg(long)]
    trials: Option<usize>,
    /// Study database (overrides the sweep file's `storage`).
    #[arg(long, value_name = "FILE")]
    storage: Option<PathBuf>,
    /// Parallel trials: this process and N-1 worker processes share the study database, each
    /// with one CPU thread (processes rather than threads because Burn's random generator is
    /// per process: trials in one process would disturb each other's reproducibility).
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    /// After the sweep, retrain the best trial's config on train + validation for as many
    /// epochs as its best epoch, and report its test metrics (`runs/<study>/best-retrained`).
    #[arg(long)]
    retrain_best: bool,
    /// GPUs to place parallel trials on, round-robin (with `--backend wgpu` and `--jobs N`),
    /// e.g. `--devices 0,1`.
    #[arg(long, value_delimiter = ',', value_name = "N,N,...")]
    devices: Vec<usize>,
    /// Internal: run as an extra worker of a `--jobs` sweep.
    #[arg(long, hide = true)]
    worker: bool,
    #[command(flatten)]
    backend: BackendArgs,
    /// Only the final summary.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Debug, Args)]
pub struct StudyArgs {
    /// Study database.
    #[arg(
        long,
        global = true,
        default_value = "studies/anneal.db",
        value_name = "FILE"
    )]
    storage: PathBuf,
    #[command(subcommand)]
    what: StudyCommand,
}

#[derive(Debug, Subcommand)]
enum StudyCommand {
    /// Every study in the database with its trial counts and best value.
    List,
    /// A study's trials table.
    Show { study: String },
    /// The best trial: value, parameters, run folder.
    Best { study: String },
    /// Export the best trial's run config (`--config`) or all trials (`--csv`, `--json`).
    Export {
        study: String,
        /// Write the best trial's resolved run config here (`anneal train --config` reproduces it).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        #[arg(long, value_name = "FILE")]
        csv: Option<PathBuf>,
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
}

pub fn tune(args: TuneArgs, data_dir: Option<&Path>) -> Result<()> {
    anyhow::ensure!(args.jobs >= 1, "--jobs must be at least 1");
    if !args.devices.is_empty() {
        anyhow::ensure!(
            args.backend.backend == crate::backend::Backend::Wgpu,
            "--devices places trials on GPUs and needs --backend wgpu"
        );
        anyhow::ensure!(
            args.backend.device.is_none(),
            "give either --device N or --devices N,N,..., not both"
        );
    }
    // This process takes the first device of the list; worker k takes entry k (round-robin).
    let mut args = args;
    if let Some(&first) = args.devices.first() {
        args.backend.device = Some(first);
    }
    if args.jobs > 1 || args.worker {
        // One core per trial; ignored when --threads already sized the pool.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build_global();
    }
    let mut sweep = Sweep::load(&args.sweep)
        .with_context(|| format!("cannot use sweep {}", args.sweep.display()))?;
    if let Some(trials) = args.trials {
        anyhow::ensure!(trials > 0, "--trials must be at least 1");
        sweep.file.trials = trials;
    }
    let storage_path = args
        .storage
        .clone()
        .unwrap_or_else(|| sweep.file.storage.clone());
    let study = open_study(&sweep, Box::new(SqliteStorage::open(&storage_path)?))?;
    let training = sweep.trains();
    let catalog = if training {
        Some(Catalog::discover(data_dir)?.cached())
    } else {
        None
    };
    let device = if training {
        Some(args.backend.device()?)
    } else {
        None
    };
    let context = match (&catalog, &device) {
        (Some(catalog), Some(device)) => Some(TrainingContext {
            catalog,
            device,
            backend: args.backend.name(),
        }),
        _ => None,
    };
    if !args.quiet {
        println!(
            "study '{}' in {}: {} trials, {} sampler, {} {}",
            sweep.file.study,
            storage_path.display(),
            sweep.file.trials,
            sweep.file.sampler.name(),
            sweep.direction,
            match &sweep.objective {
                anneal_sweep::SweepObjective::Synthetic(f) => f.name().to_string(),
                anneal_sweep::SweepObjective::Training { metric, .. } => metric.name().to_string(),
            }
        );
    }
    let mut progress = Progress {
        quiet: args.quiet || args.worker,
    };
    if args.worker {
        // Exit with the process that started this worker (its end closes our stdin).
        std::thread::spawn(|| {
            let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
            std::process::exit(130);
        });
        anneal_sweep::run_sweep_worker(&study, &sweep, context.as_ref(), &mut progress)?;
        return Ok(());
    }
    let interrupted = anneal_sweep::resume_study(&study)?;
    if interrupted > 0 && !args.quiet {
        println!(
            "resumed: {interrupted} trial(s) left running by a stopped process were marked failed"
        );
    }
    let mut workers = spawn_workers(&args, &storage_path, data_dir, sweep.file.trials)?;
    // Each worker exits when its stdin closes, which happens when this process ends however it
    // ends (even `kill -9`): hold the write ends open until every worker is done.
    let lifelines: Vec<_> = workers.iter_mut().filter_map(|w| w.stdin.take()).collect();
    let result = anneal_sweep::run_sweep_worker(&study, &sweep, context.as_ref(), &mut progress);
    let mut worker_errors = Vec::new();
    for mut worker in workers {
        match worker.wait() {
            Ok(status) if status.success() => {}
            Ok(status) => worker_errors.push(format!("a worker exited with {status}")),
            Err(e) => worker_errors.push(format!("a worker could not be waited for: {e}")),
        }
    }
    drop(lifelines);
    result?;
    // With every worker gone: record trials a dead worker left running as interrupted, finish
    // any budget a failed worker left, and settle paused trials (continue the promotable ones,
    // prune the rest).
    let mut outcome = anneal_sweep::run_sweep(&study, &sweep, context.as_ref(), &mut progress)?;
    if outcome.interrupted > 0 {
        worker_errors.push(format!(
            "{} trial(s) of a failed worker were marked interrupted",
            outcome.interrupted
        ));
    }
    if !worker_errors.is_empty() {
        bail!("{}", worker_errors.join("; "));
    }
    // The workers may have finished trials after this process's loop ended.
    outcome.trials = study.trials()?;
    if outcome.grid_exhausted {
        println!("the grid has fewer points than the budget: every grid point has been tried");
    }
    print_counts(&outcome.study, &outcome.trials);
    if let Some(best) = best_trial(&outcome.trials, outcome.study.direction) {
        println!(
            "best: trial {} value {} with {}",
            best.number,
            fmt_value(best.value),
            fmt_params(&best.params)
        );
        if let Some(run) = &best.run_dir {
            println!("best run folder: {run}");
        }
    }
    if args.retrain_best {
        let (Some(catalog), Some(device)) = (&catalog, &device) else {
            bail!(
                "--retrain-best needs a training sweep (a synthetic objective has nothing to retrain)"
            );
        };
        let best = best_trial(&outcome.trials, outcome.study.direction)
            .context("no complete trial to retrain")?;
        retrain(best, &sweep, catalog, device, args.backend.name())?;
    }
    Ok(())
}

/// Retrains a trial's resolved config on train + validation for its best epoch count and
/// prints the test figures.
fn retrain(
    best: &TrialRecord,
    sweep: &Sweep,
    catalog: &Catalog,
    device: &burn::tensor::Device,
    backend: &str,
) -> Result<()> {
    let folder = PathBuf::from(
        best.run_dir
            .as_ref()
            .context("the best trial has no run folder")?,
    );
    let run = anneal_train::RunDir::open(&folder)?;
    let summary = run.read_summary()?;
    let epochs = summary.best_epoch.unwrap_or(summary.epochs_run).max(1);
    let overrides = [
        "data.train_on_validation=true".to_string(),
        format!("train.epochs={epochs}"),
        "train.early_stopping.restore_best=false".to_string(),
    ];
    let mut config = anneal_train::RunConfig::load(&folder.join("config.toml"), &overrides)?;
    config.train.early_stopping.patience = None;
    if config.train.warmup_epochs >= epochs as f64 {
        config.train.warmup_epochs = 0.0;
    }
    let root = sweep.file.runs_dir.join(&sweep.file.study);
    let name = anneal_train::free_run_name(&root, "best-retrained");
    println!(
        "retraining trial {} on train + validation for {epochs} epochs → {}",
        best.number,
        root.join(&name).display()
    );
    let target = anneal_train::RunTarget {
        catalog,
        runs_root: &root,
        name: &name,
        device,
        backend,
    };
    let (_, retrained) = anneal_train::run_recorded(&config, &target, &mut anneal_train::Silent)?;
    match retrained.test.as_ref().map(|t| &t.metrics) {
        Some(anneal_train::TaskMetrics::Classification(m)) => println!(
            "test ({} samples): accuracy {:.2}%  macro-F1 {:.4}",
            retrained.test_samples,
            m.accuracy * 100.0,
            m.macro_f1
        ),
        Some(anneal_train::TaskMetrics::Regression(m)) => println!(
            "test ({} samples): R² {:.4}  MSE {:.2}  MAE {:.2}",
            retrained.test_samples, m.r2, m.mse, m.mae
        ),
        None => bail!("retraining did not finish: {}", retrained.message),
    }
    Ok(())
}

struct Progress {
    quiet: bool,
}

impl StudyObserver for Progress {
    fn trial_finished(&mut self, trial: &TrialRecord, best: Option<&TrialRecord>) {
        if self.quiet {
            return;
        }
        let outcome = match trial.state {
            TrialState::Complete => format!("value {}", fmt_value(trial.value)),
            _ => format!(
                "{}: {}",
                trial.state.as_str(),
                trial.message.as_deref().unwrap_or("")
            ),
        };
        println!(
            "trial {:>3}  {outcome}  ({:.1}s)  {}  | best {}",
            trial.number,
            trial.seconds().unwrap_or(0.0),
            fmt_params(&trial.params),
            best.map_or("-".into(), |b| format!(
                "{} (trial {})",
                fmt_value(b.value),
                b.number
            ))
        );
        let _ = std::io::stdout().flush();
    }
}

fn fmt_value(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.6}"))
}

fn fmt_params(params: &Assignment) -> String {
    params
        .iter()
        .map(|(n, v)| match v.as_f64() {
            Some(f) if !v.is_i64() && !v.is_u64() => format!("{n}={f:.4e}"),
            _ => format!("{n}={v}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn print_counts(study: &StudyRecord, trials: &[TrialRecord]) {
    let count = |s: TrialState| trials.iter().filter(|t| t.state == s).count();
    println!(
        "study '{}': {} trials ({} complete, {} pruned, {} failed, {} paused, {} running)",
        study.name,
        trials.len(),
        count(TrialState::Complete),
        count(TrialState::Pruned),
        count(TrialState::Failed),
        count(TrialState::Paused),
        count(TrialState::Running)
    );
}

pub fn study(args: StudyArgs) -> Result<()> {
    if !args.storage.exists() {
        bail!(
            "no study database at {} (run `anneal tune` first, or pass --storage)",
            args.storage.display()
        );
    }
    let storage = SqliteStorage::open(&args.storage)?;
    let find = |name: &str| -> Result<(StudyRecord, Vec<TrialRecord>)> {
        let study = storage.study(name)?.with_context(|| {
            let names: Vec<String> = storage
                .studies()
                .unwrap_or_default()
                .into_iter()
                .map(|s| s.name)
                .collect();
            format!(
                "no study '{name}' in {}; studies: {}",
                args.storage.display(),
                names.join(", ")
            )
        })?;
        let trials = storage.trials(study.id)?;
        Ok((study, trials))
    };
    match args.what {
        StudyCommand::List => {
            println!(
                "{:<24} {:>6} {:>8} {:>6} {:>6}  {:<9} best       objective",
                "study", "trials", "complete", "pruned", "failed", "direction"
            );
            for study in storage.studies()? {
                let trials = storage.trials(study.id)?;
                let count = |s: TrialState| trials.iter().filter(|t| t.state == s).count();
                let best = best_trial(&trials, study.direction).and_then(|t| t.value);
                println!(
                    "{:<24} {:>6} {:>8} {:>6} {:>6}  {:<9} {:<10} {}",
                    study.name,
                    trials.len(),
                    count(TrialState::Complete),
                    count(TrialState::Pruned),
                    count(TrialState::Failed),
                    study.direction,
                    fmt_value(best),
                    study.objective
                );
            }
        }
        StudyCommand::Show { study } => {
            let (study, trials) = find(&study)?;
            print_counts(&study, &trials);
            println!(
                "{:>5}  {:<8}  {:>12}  {:>8}  params",
                "trial", "state", "value", "seconds"
            );
            for t in &trials {
                println!(
                    "{:>5}  {:<8}  {:>12}  {:>8.1}  {}{}",
                    t.number,
                    t.state.as_str(),
                    fmt_value(t.value),
                    t.seconds().unwrap_or(0.0),
                    fmt_params(&t.params),
                    t.message
                        .as_deref()
                        .map(|e| format!("  [{e}]"))
                        .unwrap_or_default()
                );
            }
        }
        StudyCommand::Best { study } => {
            let (study, trials) = find(&study)?;
            let best = best_trial(&trials, study.direction)
                .context("the study has no complete trial yet")?;
            println!(
                "best trial {} of '{}': value {} ({})",
                best.number,
                study.name,
                fmt_value(best.value),
                study.direction
            );
            for (name, value) in &best.params {
                println!("  {name} = {value}");
            }
            if let Some(run) = &best.run_dir {
                println!("run folder: {run}");
            }
        }
        StudyCommand::Export {
            study,
            config,
            csv,
            json,
        } => {
            let (study, trials) = find(&study)?;
            if config.is_none() && csv.is_none() && json.is_none() {
                bail!("say what to export: --config FILE, --csv FILE and/or --json FILE");
            }
            if let Some(path) = config {
                let best = best_trial(&trials, study.direction)
                    .context("the study has no complete trial yet")?;
                let run = best
                    .run_dir
                    .as_ref()
                    .context("the best trial has no run folder (a synthetic objective)")?;
                let source = Path::new(run).join("config.toml");
                let text = std::fs::read_to_string(&source).with_context(|| {
                    format!("reading the best trial's config {}", source.display())
                })?;
                let header = format!(
                    "# Best trial {} of study '{}' ({} = {}), exported by `anneal study export`.\n",
                    best.number,
                    study.name,
                    study.direction,
                    fmt_value(best.value)
                );
                // The run name is the trial's; a new training run picks its own.
                let body: String = text
                    .lines()
                    .filter(|l| !l.starts_with("name = "))
                    .map(|l| format!("{l}\n"))
                    .collect();
                std::fs::write(&path, header + &body)
                    .with_context(|| format!("writing {}", path.display()))?;
                println!("wrote {}", path.display());
            }
            if let Some(path) = csv {
                let mut names: Vec<String> = Vec::new();
                for t in &trials {
                    for (n, _) in &t.params {
                        if !names.contains(n) {
                            names.push(n.clone());
                        }
                    }
                }
                let mut out = format!("number,state,value,seconds,{},error\n", names.join(","));
                for t in &trials {
                    let cells: Vec<String> = names
                        .iter()
                        .map(|n| {
                            t.params
                                .iter()
                                .find(|(p, _)| p == n)
                                .map_or(String::new(), |(_, v)| csv_cell(&v.to_string()))
                        })
                        .collect();
                    out += &format!(
                        "{},{},{},{},{},{}\n",
                        t.number,
                        t.state.as_str(),
                        t.value.map_or(String::new(), |v| v.to_string()),
                        t.seconds().map_or(String::new(), |s| format!("{s:.3}")),
                        cells.join(","),
                        csv_cell(t.message.as_deref().unwrap_or(""))
                    );
                }
                std::fs::write(&path, out)
                    .with_context(|| format!("writing {}", path.display()))?;
                println!("wrote {}", path.display());
            }
            if let Some(path) = json {
                let report = serde_json::json!({ "study": study, "trials": trials });
                std::fs::write(&path, serde_json::to_string_pretty(&report)?)
                    .with_context(|| format!("writing {}", path.display()))?;
                println!("wrote {}", path.display());
            }
        }
    }
    Ok(())
}

fn csv_cell(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// Starts `jobs - 1` copies of this program as extra workers on the same study.
fn spawn_workers(
    args: &TuneArgs,
    storage: &Path,
    data_dir: Option<&Path>,
    trials: usize,
) -> Result<Vec<std::process::Child>> {
    let exe = std::env::current_exe().context("finding the anneal executable for workers")?;
    (1..args.jobs)
        .map(|worker| {
            let mut command = std::process::Command::new(&exe);
            if let Some(dir) = data_dir {
                command.arg("--data-dir").arg(dir);
            }
            command
                .args(["--threads", "1", "tune"])
                .arg(&args.sweep)
                .arg("--storage")
                .arg(storage)
                .args(["--trials", &trials.to_string(), "--worker", "--quiet"])
                .args(["--backend", args.backend.name()]);
            let device = match args.devices.as_slice() {
                [] => args.backend.device,
                list => Some(list[worker % list.len()]),
            };
            if let Some(device) = device {
                command.args(["--device", &device.to_string()]);
            }
            command
                .stdin(std::process::Stdio::piped())
                .spawn()
                .context("starting a worker process")
        })
        .collect()
}
