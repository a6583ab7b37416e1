//! `anneal datasets`: what data anneal ships, and whether a user's own files load.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anneal_data::formats::csv::{Delimiter, Header, TargetColumn};
use anneal_data::split::holdout_size;
use anneal_data::{
    Catalog, CsvSource, DataSource, IdxSource, LoadedDataset, Manifest, SplitConfig, Task,
};
use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;

#[derive(Debug, Args)]
pub struct DatasetsArgs {
    #[command(subcommand)]
    action: Option<Action>,

    /// Also load every dataset, verifying checksums and sample counts.
    #[arg(long)]
    verify: bool,

    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Load one bundled dataset and describe it in full.
    Show {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Load your own CSV or IDX files with the same validation as the bundled sets.
    Check(CheckArgs),
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// A CSV file (optionally .gz): feature columns plus a target column.
    #[arg(long, conflicts_with_all = ["idx_images", "idx_labels"], required_unless_present = "idx_images")]
    csv: Option<PathBuf>,
    /// Target column: a header name, "first", "last" or a zero-based index.
    #[arg(long, default_value = "last")]
    target: String,
    #[arg(long, value_enum, default_value_t = TaskArg::Classification)]
    task: TaskArg,
    #[arg(long, value_enum, default_value_t = DelimiterArg::Comma)]
    delimiter: DelimiterArg,
    /// The CSV's first line is data, not column names.
    #[arg(long)]
    no_header: bool,
    /// IDX images file (optionally .gz).
    #[arg(long, requires = "idx_labels")]
    idx_images: Option<PathBuf>,
    /// IDX labels file (optionally .gz).
    #[arg(long, requires = "idx_images")]
    idx_labels: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TaskArg {
    Classification,
    Regression,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DelimiterArg {
    Comma,
    Semicolon,
    Tab,
    Whitespace,
}

pub fn run(args: DatasetsArgs, data_dir: Option<&Path>) -> Result<()> {
    match args.action {
        Some(Action::Check(check)) => return check_files(check),
        Some(Action::Show { name, json }) => {
            let catalog = Catalog::discover(data_dir)?;
            let manifest = catalog.manifest(&name)?;
            let started = Instant::now();
            let dataset = catalog
                .load(&name)
                .with_context(|| format!("loading dataset {name}"))?;
            return show(
                manifest,
                &dataset,
                started.elapsed().as_secs_f64(),
                json || args.json,
            );
        }
        None => {}
    }
    let catalog = Catalog::discover(data_dir)?;
    if args.verify {
        for manifest in catalog.manifests() {
            let started = Instant::now();
            catalog
                .load(&manifest.name)
                .with_context(|| format!("verifying dataset {}", manifest.name))?;
            if !args.json {
                eprintln!(
                    "verified {:<14} in {:.2} s",
                    manifest.name,
                    started.elapsed().as_secs_f64()
                );
            }
        }
    }
    if args.json {
        let list: Vec<_> = catalog.manifests().iter().map(summary_json).collect();
        println!("{}", serde_json::to_string_pretty(&list)?);
    } else {
        print_table(&catalog);
    }
    Ok(())
}

/// Train / test counts as a run with default split settings sees them.
fn train_test_counts(manifest: &Manifest) -> (usize, usize, &'static str) {
    match manifest.samples.test {
        Some(test) => (manifest.samples.train, test, "official"),
        None => {
            let fraction = SplitConfig::default().test;
            let held: usize = if manifest.samples.train_class_counts.is_empty() {
                holdout_size(manifest.samples.train, fraction)
            } else {
                manifest
                    .samples
                    .train_class_counts
                    .iter()
                    .map(|&c| holdout_size(c, fraction))
                    .sum()
            };
            (manifest.samples.train - held, held, "held out")
        }
    }
}

fn shape_text(shape: &[usize]) -> String {
    match shape {
        [c, h, w] => format!("{c}×{h}×{w}"),
        [n] => format!("{n} features"),
        other => format!("{other:?}"),
    }
}

fn print_table(catalog: &Catalog) {
    println!(
        "{:<14} {:<15} {:<12} {:>7} {:>8} {:>7} {:>7}  {:<10} licence",
        "dataset", "task", "shape", "classes", "samples", "train", "test", "test split"
    );
    for m in catalog.manifests() {
        let (train, test, kind) = train_test_counts(m);
        let classes = if m.task == Task::Classification {
            m.class_names.len().to_string()
        } else {
            "-".into()
        };
        println!(
            "{:<14} {:<15} {:<12} {:>7} {:>8} {:>7} {:>7}  {:<10} {}",
            m.name,
            m.task.to_string(),
            shape_text(&m.shape),
            classes,
            train + test,
            train,
            test,
            kind,
            m.licence
        );
    }
    println!(
        "\n{} datasets in {}. Held-out test splits are stratified, {}% by default (split.test).",
        catalog.manifests().len(),
        catalog.root().display(),
        (SplitConfig::default().test * 100.0).round()
    );
}

fn summary_json(m: &Manifest) -> serde_json::Value {
    let (train, test, kind) = train_test_counts(m);
    json!({
        "name": m.name,
        "description": m.description,
        "task": m.task,
        "shape": m.shape,
        "classes": m.class_names,
        "samples": m.samples.train + m.samples.test.unwrap_or(0),
        "train": train,
        "test": test,
        "test_split": kind,
        "licence": m.licence,
        "attribution": m.attribution,
    })
}

fn show(
    manifest: &Manifest,
    dataset: &LoadedDataset,
    load_seconds: f64,
    as_json: bool,
) -> Result<()> {
    let stats = |name: &str, samples: &anneal_data::Samples| {
        let (min, max) = value_range(samples);
        json!({
            "split": name,
            "samples": samples.len(),
            "class_counts": samples.class_counts(dataset.info.num_classes()),
            "feature_min": min,
            "feature_max": max,
        })
    };
    let mut splits = vec![stats("train", &dataset.train)];
    if let Some(test) = &dataset.test {
        splits.push(stats("test", test));
    }
    let value = json!({
        "dataset": summary_json(manifest),
        "files": manifest.files,
        "splits": splits,
        "load_seconds": load_seconds,
    });
    if as_json {
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    println!("{} — {}", manifest.name, manifest.description);
    println!("task        {}", manifest.task);
    println!("shape       {}", shape_text(&manifest.shape));
    if !manifest.class_names.is_empty() {
        println!("classes     {}", manifest.class_names.join(", "));
    }
    println!("licence     {}", manifest.licence);
    println!("attribution {}", manifest.attribution);
    let sets = [
        ("train", Some(&dataset.train)),
        ("test", dataset.test.as_ref()),
    ];
    for (name, samples) in sets.into_iter().filter_map(|(n, s)| s.map(|s| (n, s))) {
        let (min, max) = value_range(samples);
        print!("{name:<11} {} samples", samples.len());
        if manifest.task == Task::Classification {
            print!(
                ", class counts {:?}",
                samples.class_counts(dataset.info.num_classes())
            );
        }
        println!(", feature range [{min}, {max}]");
    }
    for file in &manifest.files {
        println!(
            "file        {} ({} bytes, sha256 {}) verified",
            file.path, file.bytes, file.sha256
        );
    }
    println!("loaded and verified in {load_seconds:.3} s");
    Ok(())
}

fn value_range(samples: &anneal_data::Samples) -> (f32, f32) {
    samples
        .features
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
}

fn check_files(args: CheckArgs) -> Result<()> {
    let source = match (&args.csv, &args.idx_images, &args.idx_labels) {
        (Some(path), _, _) => DataSource::Csv(CsvSource {
            path: path.clone(),
            task: match args.task {
                TaskArg::Classification => Task::Classification,
                TaskArg::Regression => Task::Regression,
            },
            target: match args.target.parse::<usize>() {
                Ok(index) => TargetColumn::Index(index),
                Err(_) => TargetColumn::Name(args.target.clone()),
            },
            delimiter: match args.delimiter {
                DelimiterArg::Comma => Delimiter::Comma,
                DelimiterArg::Semicolon => Delimiter::Semicolon,
                DelimiterArg::Tab => Delimiter::Tab,
                DelimiterArg::Whitespace => Delimiter::Whitespace,
            },
            header: if args.no_header {
                Header::None
            } else {
                Header::Names
            },
            name: None,
        }),
        (None, Some(images), Some(labels)) => DataSource::Idx(IdxSource {
            train_images: images.clone(),
            train_labels: labels.clone(),
            test_images: None,
            test_labels: None,
            flip_invariant: false,
            name: None,
        }),
        _ => anyhow::bail!("give --csv FILE, or --idx-images FILE with --idx-labels FILE"),
    };
    let dataset = match &source {
        DataSource::Csv(csv) => anneal_data::load_csv(csv),
        DataSource::Idx(idx) => anneal_data::load_idx(idx),
        DataSource::Bundled(_) => unreachable!("check takes files"),
    }
    .context("checking your data files")?;
    let info = &dataset.info;
    println!(
        "ok: {} — {} samples, shape {}, task {}{}",
        info.name,
        dataset.train.len(),
        shape_text(&info.shape),
        info.task,
        if info.task == Task::Classification {
            format!(
                ", {} classes {:?} with counts {:?}",
                info.num_classes(),
                info.class_names,
                dataset.train.class_counts(info.num_classes())
            )
        } else {
            String::new()
        }
    );
    Ok(())
}
