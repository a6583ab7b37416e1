//! `anneal datasets`: what data anneal ships, and whether a user's own files load.

use std::path::PathBuf;
use std::time::Instant;

use anneal_data::formats::csv::{Delimiter, Header, TargetColumn};
use anneal_data::tabular::ColumnKind;
use anneal_data::{
    Catalog, CsvSource, DataSource, IdxSource, Impute, TabularData, TabularOptions, Task,
};
use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
mod report;

use report::{print_table, shape_text, show, summary_json};

#[derive(Debug, Args)]
pub struct DatasetsArgs {
    #[command(flatten)]
    data: crate::runtime::DataArgs,
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
        /// The dataset's name (see `anneal datasets`).
        name: String,
        /// Print JSON instead of text.
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
    /// Whether the target is a class or a number.
    #[arg(long, value_enum, default_value_t = TaskArg::Classification)]
    task: TaskArg,
    /// The CSV's field separator.
    #[arg(long, value_enum, default_value_t = DelimiterArg::Comma)]
    delimiter: DelimiterArg,
    /// The CSV's first line is data, not column names.
    #[arg(long)]
    no_header: bool,
    /// Treat this number column as text categories (repeat for more), as `data.csv.categorical`.
    #[arg(long, value_name = "COLUMN")]
    categorical: Vec<String>,
    /// A column that is not a feature, such as an ID (repeat for more), as `data.csv.ignore`.
    #[arg(long, value_name = "COLUMN")]
    ignore: Vec<String>,
    /// A cell value that means "missing" besides empty, NA, NaN… (repeat), as `data.csv.missing`.
    #[arg(long, value_name = "TEXT")]
    missing: Vec<String>,
    /// How missing cells would be filled, as `data.impute`.
    #[arg(long, value_enum, default_value_t = ImputeArg::Error)]
    impute: ImputeArg,
    /// IDX images file (optionally .gz).
    #[arg(long, requires = "idx_labels")]
    idx_images: Option<PathBuf>,
    /// IDX labels file (optionally .gz).
    #[arg(long, requires = "idx_images")]
    idx_labels: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ImputeArg {
    Error,
    Mean,
    Median,
    MostFrequent,
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

pub fn run(args: DatasetsArgs) -> Result<()> {
    let data_dir = args.data.data_dir.clone();
    let data_dir = data_dir.as_deref();
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
        outln!("{}", serde_json::to_string_pretty(&list)?);
    } else {
        print_table(&catalog);
    }
    Ok(())
}

/// One line per column: its kind, distinct values and missing cells.
fn print_columns(table: &TabularData) {
    for column in table.summary() {
        let kind = match (column.target, column.kind) {
            (true, _) => "target",
            (false, ColumnKind::Numeric) => "number",
            (false, ColumnKind::Categorical) => "text",
            (false, ColumnKind::Ignored) => "ignored",
        };
        outln!(
            "  {:<20} {:<7} {:>6} distinct{}",
            column.name,
            kind,
            column.distinct,
            if column.missing > 0 {
                format!(", {} missing", column.missing)
            } else {
                String::new()
            }
        );
    }
}

/// Train / test counts as a run with default split settings sees them.
fn check_files(args: CheckArgs) -> Result<()> {
    let source = match (&args.csv, &args.idx_images, &args.idx_labels) {
        (Some(path), _, _) => DataSource::Csv(CsvSource {
            path: path.clone(),
            test_path: None,
            categorical: args.categorical.clone(),
            ignore: args.ignore.clone(),
            missing: args.missing.clone(),
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
        DataSource::Csv(csv) => {
            let table = TabularData::read(csv).context("checking your data files")?;
            print_columns(&table);
            let options = TabularOptions {
                impute: match args.impute {
                    ImputeArg::Error => Impute::Error,
                    ImputeArg::Mean => Impute::Mean,
                    ImputeArg::Median => Impute::Median,
                    ImputeArg::MostFrequent => Impute::MostFrequent,
                },
                ..TabularOptions::default()
            };
            anneal_data::load_csv(csv, &options)
        }
        DataSource::Idx(idx) => anneal_data::load_idx(idx),
        DataSource::Bundled(_) => unreachable!("check takes files"),
    }
    .context("checking your data files")?;
    let info = &dataset.info;
    outln!(
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
