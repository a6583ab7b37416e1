//! `anneal tune`: run (or resume) a sweep file's study, with worker processes for `--jobs`;
//! `anneal worker`: join a study from any host and run its trials in this process.

use std::path::PathBuf;

use anneal_data::Catalog;
use anneal_sweep::{
    ParallelEnd, ParallelSweep, Sweep, SweepOverrides, TrainingContext, open_study,
};
use anneal_tune::{StorageOptions, open_storage};
use anyhow::{Context, Result, bail};
use clap::Args;

use super::study::{fmt_params, fmt_value, print_counts, print_front};
use crate::backend::BackendArgs;

mod report;
mod workers;

use report::{Printer, Progress, print_test_figures};
use workers::{Watch, WorkerCommands};

#[derive(Debug, Args)]
pub struct TuneArgs {
    #[command(flatten)]
    data: crate::runtime::DataArgs,
    #[command(flatten)]
    threads: crate::runtime::ThreadArgs,
    /// Sweep file (TOML): study name, what a trial evaluates (a base run config, a command or a
    /// synthetic function), search space, sampler, budget. Rerunning it resumes the study.
    sweep: PathBuf,
    /// Total number of trials (overrides the sweep file's `trials`).
    #[arg(long)]
    trials: Option<usize>,
    #[command(flatten)]
    shared: SharedStudyArgs,
    /// Parallel trials: N worker processes share the study database, each with one CPU thread
    /// (processes rather than threads because Burn's random generator is per process), while
    /// this process watches them: a trial that aborts its worker is recorded with its signal and
    /// a new worker goes on.
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
    /// Internal: a `--jobs` worker reads the storage location from its parent through its
    /// standard input, so a password in it never stands on a command line (`ps`).
    #[arg(long, hide = true, requires = "worker")]
    storage_from_parent: bool,
    /// Set by `anneal worker`: run the trials in this process, beside workers elsewhere.
    #[arg(skip)]
    joined: bool,
    #[command(flatten)]
    backend: BackendArgs,
    /// Only the final summary: no line per trial, no status line.
    #[arg(long, short)]
    quiet: bool,
    /// Print the outcome as JSON on stdout (counts, best trial, its run folder); nothing else.
    #[arg(long)]
    json: bool,
}

/// Where the study is and how its workers share it: the same on `tune` and `worker`.
#[derive(Debug, Clone, Args)]
pub struct SharedStudyArgs {
    /// Study storage, overriding the sweep file's `storage`: a SQLite file, or a PostgreSQL URL
    /// (postgresql://user@host:port/db) that workers on many hosts share.
    #[arg(long, value_name = "FILE|URL")]
    storage: Option<String>,
    /// A folder every worker names for the trials' run folders (a shared mount when workers
    /// run on many hosts), instead of the sweep's `runs_dir`: a trial paused by one worker is
    /// continued from its saved state by another.
    #[arg(long, value_name = "DIR")]
    artifacts: Option<PathBuf>,
    /// Seconds a worker's trial stays its own without a heartbeat (heartbeats come every
    /// quarter of it); a trial whose worker vanished is failed as stale after this long.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    lease: f64,
}

impl SharedStudyArgs {
    fn options(&self) -> Result<StorageOptions> {
        anyhow::ensure!(
            self.lease.is_finite() && self.lease > 0.0,
            "--lease {}: give a number of seconds above 0",
            self.lease
        );
        Ok(StorageOptions {
            lease: Some(std::time::Duration::from_secs_f64(self.lease)),
            artifacts: self.artifacts.clone(),
            read_only: false,
        })
    }
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    data: crate::runtime::DataArgs,
    #[command(flatten)]
    threads: crate::runtime::ThreadArgs,
    /// Sweep file (TOML), the same one every worker of the study runs.
    sweep: PathBuf,
    #[command(flatten)]
    shared: SharedStudyArgs,
    /// Total number of trials (overrides the sweep file's `trials`).
    #[arg(long)]
    trials: Option<usize>,
    #[command(flatten)]
    backend: BackendArgs,
    /// No line per trial; only the final counts.
    #[arg(long, short)]
    quiet: bool,
}

/// `anneal worker`: joins the study (creating it if this is the first worker) and runs trials
/// in this process until the budget is spent and no paused trial can continue; prints a line
/// per trial it ran. Start as many as you like, on any hosts, against one database.
pub fn worker(args: WorkerArgs) -> Result<()> {
    tune(TuneArgs {
        data: args.data,
        threads: args.threads,
        sweep: args.sweep,
        trials: args.trials,
        shared: args.shared,
        jobs: 1,
        retrain_best: false,
        devices: Vec::new(),
        worker: false,
        storage_from_parent: false,
        joined: true,
        backend: args.backend,
        quiet: args.quiet,
        json: false,
    })
}

/// The sweep stopped at the user's Ctrl-C (the binary exits 130).
#[derive(Debug)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "interrupted: the trials that were running are recorded interrupted and do not count \
             toward the budget; run the same command again to finish the study",
        )
    }
}

impl std::error::Error for Interrupted {}

/// `Err(Interrupted)` once the user pressed Ctrl-C.
fn unless_interrupted() -> Result<()> {
    match anneal_sweep::signals::interrupted() {
        true => Err(Interrupted.into()),
        false => Ok(()),
    }
}

pub fn tune(args: TuneArgs) -> Result<()> {
    // The first Ctrl-C stops the sweep gracefully, a second one at once.
    anneal_sweep::signals::install();
    args.threads.apply()?;
    let data_dir = args.data.data_dir.clone();
    let data_dir = data_dir.as_deref();
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
    let storage = match args.storage_from_parent {
        true => Some(
            anneal_sweep::workers::read_handshake()
                .context("reading the storage location from the parent process")?,
        ),
        false => args.shared.storage.clone(),
    };
    let overrides = SweepOverrides {
        trials: args.trials,
        storage,
        runs_dir: args.shared.artifacts.clone(),
    };
    let sweep = Sweep::load(&args.sweep)
        .and_then(|sweep| sweep.with_overrides(&overrides))
        .with_context(|| format!("cannot use sweep {}", args.sweep.display()))?;
    let location = sweep.file.storage.clone();
    let catalog = match sweep.trains() {
        true => Some(Catalog::discover(data_dir)?.cached()),
        false => None,
    };
    let device = match sweep.trains() {
        true => Some(args.backend.device()?),
        false => None,
    };
    let context = match (&catalog, &device) {
        (Some(catalog), Some(device)) => Some(TrainingContext {
            catalog,
            device,
            backend: args.backend.name(),
        }),
        _ => None,
    };
    let storage = open_storage(&location, &args.shared.options()?)?;
    let storage_name = storage.location();
    let study = open_study(&sweep, storage, context.as_ref())
        .with_context(|| format!("cannot use sweep {}", args.sweep.display()))?;
    let mut progress = Progress::new(
        args.quiet || args.worker || args.json,
        sweep.directions.len(),
    );
    if args.worker {
        anneal_sweep::exit_with_parent();
        anneal_sweep::run_sweep_worker(&study, &sweep, context.as_ref(), &mut progress)?;
        return unless_interrupted();
    }
    if !(args.quiet || args.json) {
        outln!(
            "study '{}' in {}: {} trials, {} sampler, {}{}",
            sweep.file.study,
            storage_name,
            sweep.file.trials,
            sweep.file.sampler.name(),
            sweep.describe_goal(),
            match sweep.constraints.len() {
                0 => String::new(),
                _ => format!(
                    ", subject to {}",
                    sweep
                        .constraints
                        .iter()
                        .map(|c| c.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        );
    }
    // The trials run in worker processes while this one watches and reports: a trial that
    // aborts its process (a failed allocation, the out-of-memory killer) takes down only its
    // worker, is recorded with its signal, and a new worker carries the study on.
    if args.joined {
        // One worker among any number, on any hosts: this process runs trials until the
        // budget is spent, then helps settle the paused ones.
        let failed = anneal_sweep::resume_study(&study, &sweep, context.as_ref())?;
        if failed > 0 && !args.quiet {
            outln!("{}", resumed_line(failed));
        }
        let outcome = anneal_sweep::run_sweep(&study, &sweep, context.as_ref(), &mut progress)?;
        let mine = progress.finished();
        print_counts(&outcome.study, &outcome.trials);
        outln!("this worker ran {mine} trial(s)");
        return unless_interrupted();
    }
    let commands = WorkerCommands::new(&args, data_dir, sweep.file.trials)?;
    let parallel = ParallelSweep {
        study: &study,
        sweep: &sweep,
        training: context.as_ref(),
        jobs: args.jobs,
        location: location.clone(),
        show_stderr: !args.quiet,
    };
    let mut events = Watch {
        printer: Printer::new(sweep.file.trials),
        progress: progress.with_status_line(),
        talk: !(args.quiet || args.json),
    };
    let end = parallel.run(move |slot| commands.command(slot), &mut events);
    events.progress.finish();
    let (outcome, worker_errors) = match end? {
        ParallelEnd::Finished {
            outcome,
            worker_errors,
        } => (outcome, worker_errors),
        // The reader went away: stop here, quietly; a rerun resumes the study.
        ParallelEnd::Abandoned => return Ok(()),
        ParallelEnd::Interrupted => {
            // No new trial, no settling of paused ones: a rerun does both.
            print_counts(study.record(), &study.trials()?);
            return Err(Interrupted.into());
        }
    };
    if !worker_errors.is_empty() {
        bail!("{}", worker_errors.join("; "));
    }
    let best_trials = outcome
        .best_trials()
        .inspect_err(|_| print_counts(&outcome.study, &outcome.trials))?;
    let best = best_trials[0];
    let several = outcome.study.directions.len() > 1;
    // The best trial's config trained again on train + validation, when asked for.
    let retrain = || -> Result<anneal_sweep::Retrained> {
        let Some(context) = &context else {
            bail!("--retrain-best needs a training sweep (this objective trains no model)");
        };
        if several {
            bail!(
                "--retrain-best needs one best trial; with several objectives pick one of the front (`anneal study best {}`)",
                outcome.study.name
            );
        }
        Ok(anneal_sweep::retrain_best(
            best,
            &sweep.runs_root(),
            context,
        )?)
    };
    if args.json {
        let mut doc = crate::commands::study::summary_json(&outcome.study, &outcome.trials);
        doc["grid_exhausted"] = outcome.grid_exhausted.into();
        if args.retrain_best {
            let retrained = retrain()?;
            doc["retrained"] = serde_json::json!({
                "folder": retrained.folder,
                "epochs": retrained.epochs,
                "summary": retrained.summary,
            });
        }
        outln!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    if outcome.grid_exhausted {
        outln!("the grid has fewer points than the budget: every grid point has been tried");
    }
    if several {
        print_counts(&outcome.study, &outcome.trials);
        print_front(&outcome.study, &outcome.trials);
        return Ok(());
    }
    print_counts(&outcome.study, &outcome.trials);
    outln!(
        "best: trial {} value {} with {}",
        best.number,
        fmt_value(best.value),
        fmt_params(&best.params)
    );
    if let Some(run) = &best.run_dir {
        outln!("best run folder: {run}");
    }
    if args.retrain_best {
        outln!("retraining trial {} on train + validation", best.number);
        let retrained = retrain()?;
        outln!(
            "retrained for {} epochs → {}",
            retrained.epochs,
            retrained.folder.display()
        );
        print_test_figures(&retrained.summary)?;
    }
    Ok(())
}

/// What is said when a run starts by repairing what stopped processes left.
fn resumed_line(failed: usize) -> String {
    format!("resumed: {failed} trial(s) left running by a stopped process were marked failed")
}
