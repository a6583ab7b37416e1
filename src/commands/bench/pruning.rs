//! `anneal bench pruning`: full-budget random search against the pruners on one training sweep,
//! epochs used, wall time and best value per variant, median over seeds.
//!
//! With `--jobs N` the (variant, seed) sweeps run as N single-threaded child processes of this
//! program (processes, not threads: Burn's random generator is per process), which is how a
//! Fashion-MNIST comparison fits in an afternoon on a small machine.

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Instant;

use anneal_data::Catalog;
use anneal_sweep::{ProcessPool, Sweep, SweepFile, TrainingContext, open_study, run_sweep};
use anneal_tune::{
    Distribution, PrunerConfig, Quiet, SamplerConfig, SqliteStorage, TrialState, best_trial,
};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::backend::BackendArgs;

pub struct PruningArgs<'a> {
    pub data_dir: Option<&'a Path>,
    pub sweep: &'a Path,
    pub seeds: u64,
    pub jobs: usize,
    pub backend: &'a BackendArgs,
}

/// One compared configuration of the tuner.
struct Variant {
    label: &'static str,
    sampler: SamplerConfig,
    pruner: PrunerConfig,
}

/// What one sweep of one variant and seed cost and found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measurement {
    epochs: usize,
    wall_seconds: f64,
    /// None when no trial completed with a finite value.
    best: Option<f64>,
    pruned: usize,
}

/// The variants, in the table's order. A pruner kind the sweep file itself configures keeps the
/// file's settings, so the comparison runs what `anneal tune` on that file would; the others get
/// the defaults: median after 3 warm-up epochs and 5 completed trials, ASHA from 1 epoch,
/// Hyperband from 1 epoch to the sweep's, η = 3.
fn variants(file: &SweepFile, epochs: usize) -> Result<Vec<Variant>> {
    let tpe: SamplerConfig = toml::from_str("kind = \"tpe\"")?;
    let median = match file.pruner {
        PrunerConfig::Median { .. } => file.pruner.clone(),
        _ => PrunerConfig::Median {
            warmup_epochs: 3,
            min_trials: 5,
        },
    };
    let asha = match file.pruner {
        PrunerConfig::Asha { .. } => file.pruner.clone(),
        _ => PrunerConfig::Asha {
            min_resource: 1,
            reduction_factor: 3,
        },
    };
    let hyperband = match file.pruner {
        PrunerConfig::Hyperband { .. } => file.pruner.clone(),
        _ => PrunerConfig::Hyperband {
            min_resource: 1,
            max_resource: epochs,
            reduction_factor: 3,
        },
    };
    Ok(vec![
        Variant {
            label: "random (full budget)",
            sampler: SamplerConfig::Random,
            pruner: PrunerConfig::None,
        },
        Variant {
            label: "random + median",
            sampler: SamplerConfig::Random,
            pruner: median,
        },
        Variant {
            label: "random + ASHA",
            sampler: SamplerConfig::Random,
            pruner: asha,
        },
        Variant {
            label: "random + Hyperband",
            sampler: SamplerConfig::Random,
            pruner: hyperband.clone(),
        },
        Variant {
            label: "TPE + Hyperband",
            sampler: tpe,
            pruner: hyperband,
        },
    ])
}

fn load_sweep(path: &Path) -> Result<(Sweep, usize)> {
    let sweep = Sweep::load(path)?;
    let epochs = sweep
        .space
        .params
        .iter()
        .find(|p| p.name == "train.epochs")
        .and_then(|p| match &p.distribution {
            Distribution::Fixed(v) => v.as_i64(),
            _ => None,
        })
        .context("the pruning bench needs a fixed train.epochs in the sweep")?;
    Ok((sweep, usize::try_from(epochs).context("train.epochs")?))
}

pub fn run(args: &PruningArgs) -> Result<()> {
    let (sweep, epochs) = load_sweep(args.sweep)?;
    let variants = variants(&sweep.file, epochs)?;
    let seeds = args.seeds.max(1);
    println!(
        "{}: {} trials per sweep, up to {epochs} epochs each, seeds 0..{seeds}, {} at a time",
        args.sweep.display(),
        sweep.file.trials,
        args.jobs.max(1)
    );
    let jobs: Vec<(usize, u64)> = (0..variants.len())
        .flat_map(|v| (0..seeds).map(move |s| (v, s)))
        .collect();
    let measured = if args.jobs <= 1 {
        in_this_process(args, &sweep, &variants, &jobs)?
    } else {
        in_child_processes(args, &variants, &jobs)?
    };
    print_tables(&variants, seeds, &measured);
    Ok(())
}

/// The hidden child mode of `--jobs`: one variant and seed, the measurement as one JSON line.
pub fn run_one(args: &PruningArgs, variant: usize, seed: u64) -> Result<()> {
    anneal_sweep::exit_with_parent();
    let (sweep, epochs) = load_sweep(args.sweep)?;
    let variants = variants(&sweep.file, epochs)?;
    anyhow::ensure!(variant < variants.len(), "no pruning variant {variant}");
    let measured = in_this_process(args, &sweep, &variants, &[(variant, seed)])?;
    println!("{}", serde_json::to_string(&measured[0])?);
    Ok(())
}

/// The (variant, seed) sweeps one after another in this process, which loads each dataset once
/// (as `anneal tune` does).
fn in_this_process(
    args: &PruningArgs,
    sweep: &Sweep,
    variants: &[Variant],
    jobs: &[(usize, u64)],
) -> Result<Vec<Measurement>> {
    let catalog = Catalog::discover(args.data_dir)?.cached();
    let device = args.backend.device()?;
    let context = TrainingContext {
        catalog: &catalog,
        device: &device,
        backend: args.backend.name(),
    };
    jobs.iter()
        .map(|&(v, seed)| {
            let m = measure(sweep, &variants[v], seed, &context)
                .with_context(|| format!("{}, seed {seed}", variants[v].label))?;
            report_progress(variants[v].label, seed, &m);
            Ok(m)
        })
        .collect()
}

/// Runs the sweep with the variant's sampler and pruner and the given seed in a scratch folder
/// (its own study database and run folders, deleted afterwards).
fn measure(
    sweep: &Sweep,
    variant: &Variant,
    seed: u64,
    context: &TrainingContext,
) -> Result<Measurement> {
    let scratch = std::env::temp_dir().join(format!(
        "anneal-bench-pruning-{}-{}",
        std::process::id(),
        seed
    ));
    let _ = std::fs::remove_dir_all(&scratch);
    let mut file = sweep.file.clone();
    file.seed = seed;
    file.sampler = variant.sampler.clone();
    file.pruner = variant.pruner.clone();
    file.runs_dir = scratch.join("runs");
    let sweep = Sweep::parse(&sweep.path, &toml::to_string(&file)?)?;
    let study = open_study(
        &sweep,
        Box::new(SqliteStorage::open(scratch.join("study.db"))?),
    )?;
    let started = Instant::now();
    let outcome = run_sweep(&study, &sweep, Some(context), &mut Quiet);
    let wall_seconds = started.elapsed().as_secs_f64();
    drop(study);
    let _ = std::fs::remove_dir_all(&scratch);
    let outcome = outcome?;
    Ok(Measurement {
        epochs: outcome.trials.iter().map(|t| t.intermediate.len()).sum(),
        wall_seconds,
        best: best_trial(&outcome.trials, outcome.study.direction).and_then(|t| t.value),
        pruned: outcome
            .trials
            .iter()
            .filter(|t| t.state == TrialState::Pruned)
            .count(),
    })
}

fn report_progress(label: &str, seed: u64, m: &Measurement) {
    eprintln!(
        "{label}, seed {seed}: {} epochs, {:.1} s, best {}, {} pruned",
        m.epochs,
        m.wall_seconds,
        m.best.map_or("-".into(), |b| format!("{b:.4}")),
        m.pruned
    );
}

/// `jobs.len()` sweeps over `args.jobs` slots, each slot running one child process at a time
/// (the pool `anneal tune --jobs` uses); results come back in `jobs` order.
fn in_child_processes(
    args: &PruningArgs,
    variants: &[Variant],
    jobs: &[(usize, u64)],
) -> Result<Vec<Measurement>> {
    let exe = std::env::current_exe().context("finding the anneal executable")?;
    let commands = jobs
        .iter()
        .map(|&(variant, seed)| {
            let mut command = std::process::Command::new(&exe);
            if let Some(dir) = args.data_dir {
                command.arg("--data-dir").arg(dir);
            }
            command
                .args(["--threads", "1", "bench", "pruning", "--sweep"])
                .arg(args.sweep)
                .args(["--backend", args.backend.name()])
                .args(["--child-variant", &variant.to_string()])
                .args(["--child-seed", &seed.to_string()])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            if let Some(device) = args.backend.device {
                command.args(["--device", &device.to_string()]);
            }
            command
        })
        .collect();
    let labels: Vec<(&'static str, u64)> = jobs
        .iter()
        .map(|&(variant, seed)| (variants[variant].label, seed))
        .collect();
    let progress = labels.clone();
    let pool = ProcessPool::start(
        commands,
        args.jobs,
        Box::new(move |index, outcome| match child_measurement(outcome) {
            Ok(m) => {
                report_progress(progress[index].0, progress[index].1, &m);
                true
            }
            // Stop handing out work; the first error is reported.
            Err(_) => false,
        }),
    );
    pool.wait()
        .into_iter()
        .zip(labels)
        .filter_map(|(outcome, (label, seed))| {
            outcome.map(|o| child_measurement(&o).with_context(|| format!("{label}, seed {seed}")))
        })
        .collect()
}

fn child_measurement(outcome: &std::io::Result<Output>) -> Result<Measurement> {
    let output = outcome
        .as_ref()
        .map_err(|e| anyhow::anyhow!("starting a bench process: {e}"))?;
    if !output.status.success() {
        anyhow::bail!(
            "the bench process failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line)
        .with_context(|| format!("reading the bench process's result {line:?}"))
}

/// The median; NaN for no values.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// The medians table (the README's), then every seed's best value and epochs, so a reader can
/// see the spread behind each median.
fn print_tables(variants: &[Variant], seeds: u64, measured: &[Measurement]) {
    let seeds = seeds as usize;
    let per_variant: Vec<&[Measurement]> = measured.chunks(seeds).collect();
    let full_epochs = median(per_variant[0].iter().map(|m| m.epochs as f64).collect());
    println!("| variant | epochs trained | of full budget | wall | best value | pruned trials |");
    println!("|---|---|---|---|---|---|");
    for (variant, rows) in variants.iter().zip(&per_variant) {
        let epochs = median(rows.iter().map(|m| m.epochs as f64).collect());
        println!(
            "| {} | {epochs:.0} | {:.0}% | {:.1} s | {:.4} | {:.0} |",
            variant.label,
            100.0 * epochs / full_epochs.max(1.0),
            median(rows.iter().map(|m| m.wall_seconds).collect()),
            // Over the seeds that found a value (the per-seed table shows a missing one as "-").
            median(rows.iter().filter_map(|m| m.best).collect()),
            median(rows.iter().map(|m| m.pruned as f64).collect()),
        );
    }
    println!();
    println!(
        "| variant |{}",
        (0..seeds)
            .map(|s| format!(" seed {s}: best (epochs) |"))
            .collect::<String>()
    );
    println!("|---|{}", "---|".repeat(seeds));
    for (variant, rows) in variants.iter().zip(&per_variant) {
        println!(
            "| {} |{}",
            variant.label,
            rows.iter()
                .map(|m| format!(
                    " {} ({}) |",
                    m.best.map_or("-".into(), |b| format!("{b:.4}")),
                    m.epochs
                ))
                .collect::<String>()
        );
    }
}
