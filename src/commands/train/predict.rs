//! `anneal predict`: argument handling and output around `anneal_train::Predictor`.

use std::path::PathBuf;
use std::time::Instant;

use anneal_train::Predictor;
use anyhow::{Context, Result};
use clap::Args;

use super::report::{Output, print_evaluation};
use crate::backend::BackendArgs;

#[derive(Debug, Args)]
pub struct PredictArgs {
    #[command(flatten)]
    data: crate::runtime::DataArgs,
    #[command(flatten)]
    threads: crate::runtime::ThreadArgs,
    /// A run folder written by `anneal train` (or a sweep's trial or retrained run).
    run: PathBuf,
    /// Rows to predict, laid out as the training file (same delimiter; columns matched by
    /// header name). With the target column filled in, the metrics are printed too.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "idx",
        required_unless_present = "idx"
    )]
    csv: Option<PathBuf>,
    /// IDX images to predict (for runs trained on images).
    #[arg(long, value_name = "FILE")]
    idx: Option<PathBuf>,
    /// IDX labels of the `--idx` images, to print the metrics.
    #[arg(long, value_name = "FILE", requires = "idx")]
    labels: Option<PathBuf>,
    /// Where to write the predictions (CSV). Default: standard output.
    #[arg(long, short, value_name = "FILE")]
    out: Option<PathBuf>,
    #[command(flatten)]
    backend: BackendArgs,
    /// Print the metrics (with a labelled input) as JSON on stdout; needs --out.
    #[arg(long, requires = "out")]
    json: bool,
}

pub fn predict(args: PredictArgs) -> Result<()> {
    args.threads.apply()?;
    let device = args.backend.device()?;
    let started = Instant::now();
    let predictor = Predictor::load(&args.run, args.data.data_dir.as_deref(), &device)
        .with_context(|| format!("cannot load run {}", args.run.display()))?;
    let data = match (&args.csv, &args.idx) {
        (Some(csv), _) => predictor.read_csv(csv),
        (None, Some(images)) => predictor.read_idx(images, args.labels.as_deref()),
        (None, None) => unreachable!("clap requires --csv or --idx"),
    }
    .context("cannot read the inputs")?;
    let predictions = predictor.predict(&data, &device);
    let mut text = Vec::new();
    predictions.write_csv(&mut text)?;
    match &args.out {
        Some(path) => std::fs::write(path, &text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => out!("{}", String::from_utf8_lossy(&text)),
    }
    // The predictions may be on stdout: everything else goes where it cannot mix with them.
    let mut out = Output::new(args.out.is_none() || args.json, false);
    out.line(format_args!(
        "{} rows of {} predicted in {:.2} s{}",
        predictions.rows,
        data.path.display(),
        started.elapsed().as_secs_f64(),
        args.out
            .as_ref()
            .map(|p| format!(" → {}", p.display()))
            .unwrap_or_default()
    ));
    if let Some(evaluation) = &predictions.evaluation {
        if predictions.labelled < predictions.rows {
            out.line(format_args!(
                "metrics of the {} rows whose target is filled in",
                predictions.labelled
            ));
        }
        if args.json {
            outln!("{}", serde_json::to_string_pretty(evaluation)?);
        } else {
            print_evaluation(&mut out, "metrics", evaluation, &predictions.class_names);
        }
    }
    Ok(())
}
