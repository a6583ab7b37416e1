//! `anneal bench pruning`: full-budget random search against the pruners on one training sweep,
//! epochs used, wall time and best value per variant, median over seeds.
//!
//! With `--jobs N` the (variant, seed) sweeps run as N single-threaded child processes of this
//! program (processes, not threads: Burn's random generator is per process), which is how a
//! Fashion-MNIST comparison fits in an afternoon on a small machine.

use std::path::Path;
use std::process::{Output, Stdio};

use anneal_bench::median;
use anneal_bench::pruning::{Measurement, Variant, load_sweep, measure, variants};
use anneal_data::Catalog;
use anneal_sweep::{ProcessPool, Sweep, TrainingContext};
use anyhow::{Context, Result};

use crate::backend::BackendArgs;

pub struct PruningArgs<'a> {
    pub data_dir: Option<&'a Path>,
    pub sweep: &'a Path,
    pub seeds: u64,
    pub jobs: usize,
    /// Variant keys to run (empty: all).
    pub only: &'a [String],
    pub backend: &'a BackendArgs,
}

pub fn run(args: &PruningArgs) -> Result<()> {
    let (sweep, epochs) = load_sweep(args.sweep)?;
    let variants = variants(&sweep.file, epochs)?;
    let seeds = args.seeds.max(1);
    outln!(
        "{}: {} trials per sweep, up to {epochs} epochs each, seeds 0..{seeds}, {} at a time",
        args.sweep.display(),
        sweep.file.trials,
        args.jobs.max(1)
    );
    let selected: Vec<usize> = if args.only.is_empty() {
        (0..variants.len()).collect()
    } else {
        args.only
            .iter()
            .map(|key| {
                variants.iter().position(|v| v.key == key).with_context(|| {
                    let keys: Vec<&str> = variants.iter().map(|v| v.key).collect();
                    format!("--variant: no variant '{key}' (known: {})", keys.join(", "))
                })
            })
            .collect::<Result<_>>()?
    };
    let jobs: Vec<(usize, u64)> = selected
        .iter()
        .flat_map(|&v| (0..seeds).map(move |s| (v, s)))
        .collect();
    let measured = if args.jobs <= 1 {
        in_this_process(args, &sweep, &variants, &jobs)?
    } else {
        in_child_processes(args, &variants, &jobs)?
    };
    let shown: Vec<&Variant> = selected.iter().map(|&v| &variants[v]).collect();
    print_tables(&shown, seeds, sweep.file.trials * epochs, &measured);
    Ok(())
}

/// The hidden child mode of `--jobs`: one variant and seed, the measurement as one JSON line.
pub fn run_one(args: &PruningArgs, variant: usize, seed: u64) -> Result<()> {
    anneal_sweep::exit_with_parent();
    let (sweep, epochs) = load_sweep(args.sweep)?;
    let variants = variants(&sweep.file, epochs)?;
    anyhow::ensure!(variant < variants.len(), "no pruning variant {variant}");
    let measured = in_this_process(args, &sweep, &variants, &[(variant, seed)])?;
    outln!("{}", serde_json::to_string(&measured[0])?);
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
            command.args(["bench", "pruning", "--threads", "1"]);
            if let Some(dir) = args.data_dir {
                command.arg("--data-dir").arg(dir);
            }
            command
                .arg("--sweep")
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

/// The medians table (the README's), then every seed's best value and epochs, so a reader can
/// see the spread behind each median.
fn print_tables(variants: &[&Variant], seeds: u64, full_budget: usize, measured: &[Measurement]) {
    let seeds = seeds as usize;
    let per_variant: Vec<&[Measurement]> = measured.chunks(seeds).collect();
    let full_epochs = full_budget as f64;
    outln!("| variant | epochs trained | of full budget | wall | best value | pruned trials |");
    outln!("|---|---|---|---|---|---|");
    for (variant, rows) in variants.iter().zip(&per_variant) {
        let epochs = median(rows.iter().map(|m| m.epochs as f64).collect());
        outln!(
            "| {} | {epochs:.0} | {:.0}% | {:.1} s | {:.4} | {:.0} |",
            variant.label,
            100.0 * epochs / full_epochs.max(1.0),
            median(rows.iter().map(|m| m.wall_seconds).collect()),
            // Over the seeds that found a value (the per-seed table shows a missing one as "-").
            median(rows.iter().filter_map(|m| m.best).collect()),
            median(rows.iter().map(|m| m.pruned as f64).collect()),
        );
    }
    outln!();
    outln!(
        "| variant |{}",
        (0..seeds)
            .map(|s| format!(" seed {s}: best (epochs) |"))
            .collect::<String>()
    );
    outln!("|---|{}", "---|".repeat(seeds));
    for (variant, rows) in variants.iter().zip(&per_variant) {
        outln!(
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
