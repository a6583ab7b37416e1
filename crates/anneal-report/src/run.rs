//! A training run as its report shows it, read from the run folder through the training
//! crate's types: `summary.json` (status, task, test figures, confusion matrix, per-class
//! figures), `metrics.csv` (one row per epoch) and `config.toml` (the run's settings).

use std::path::Path;

use anneal_train::run_dir::{CONFIG_FILE, METRICS_FILE, SUMMARY_FILE};
use anneal_train::{Evaluation, RunDir, TaskMetrics};
use serde::Serialize;
use serde_json::{Number, Value};

use crate::ReportError;

/// Everything a run report shows (serialised into the page).
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    kind: &'static str,
    /// The run's summary.
    pub run: RunSummary,
    /// One row per epoch.
    pub epochs: Vec<EpochRow>,
    /// The validation metric's name ("accuracy", "rmse", …).
    pub metric: Option<String>,
    /// Class names (classification).
    pub classes: Option<Vec<String>>,
    /// The test split's confusion matrix: rows true classes, columns predicted.
    pub confusion: Option<Vec<Vec<u64>>>,
    /// Per-class test figures.
    pub per_class: Option<Vec<ClassFigures>>,
}

/// The run's settings and outcome.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// The run's name.
    pub name: String,
    /// "classification" or "regression".
    pub task: String,
    /// The dataset.
    pub dataset: String,
    /// The model, in words.
    pub model: String,
    /// How it ended.
    pub status: String,
    /// Test figures by name.
    pub test: serde_json::Map<String, Value>,
    /// The run config, as written.
    pub config: String,
}

/// One epoch's figures.
#[derive(Debug, Clone, Serialize)]
pub struct EpochRow {
    /// The epoch (from 1).
    pub epoch: u64,
    /// Mean training loss.
    pub train_loss: Option<f64>,
    /// Validation loss.
    pub val_loss: Option<f64>,
    /// The validation metric.
    pub val_metric: Option<f64>,
    /// The learning rate at the epoch's end.
    pub lr: Option<f64>,
}

/// One class's test figures.
#[derive(Debug, Clone, Serialize)]
pub struct ClassFigures {
    /// The class's name.
    pub class: String,
    /// Precision.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// F1.
    pub f1: f64,
    /// Test examples of the class.
    pub support: u64,
}

impl RunReport {
    /// Reads the run folder `dir` through the training crate's own types.
    pub fn from_folder(dir: &Path) -> Result<Self, ReportError> {
        if !dir.join(SUMMARY_FILE).exists() {
            return Err(ReportError::NotARun(dir.display().to_string()));
        }
        let run = RunDir::open(dir)?;
        let summary = run.read_summary()?;
        let config = std::fs::read_to_string(run.file(CONFIG_FILE)).unwrap_or_default();
        // A run killed before its first epoch has no rows yet.
        let rows = match run.file(METRICS_FILE).exists() {
            true => run.read_metrics()?,
            false => Vec::new(),
        };
        let metric = rows.first().map(|row| row.headline().0.to_string());
        let epochs = rows
            .iter()
            .map(|row| EpochRow {
                epoch: row.epoch as u64,
                train_loss: Some(row.train_loss),
                val_loss: Some(row.val_loss),
                val_metric: row.headline().1,
                lr: Some(row.lr),
            })
            .collect();
        let classes = (!summary.class_names.is_empty()).then(|| summary.class_names.clone());
        let (figures, confusion, per_class) = match &summary.test {
            Some(test) => test_figures(test, &summary.class_names),
            None => Default::default(),
        };
        let model = match summary.parameter_count {
            0 => summary.backend.clone(),
            count => format!("{count} parameters, {} backend", summary.backend),
        };
        Ok(Self {
            kind: "run",
            run: RunSummary {
                task: summary.task().to_string(),
                name: summary.name,
                dataset: summary.dataset,
                model,
                status: summary.status.name().to_string(),
                test: figures,
                config,
            },
            epochs,
            metric,
            classes,
            confusion,
            per_class,
        })
    }
}

/// The scalar test figures by name, the confusion matrix and the per-class figures.
type TestFigures = (
    serde_json::Map<String, Value>,
    Option<Vec<Vec<u64>>>,
    Option<Vec<ClassFigures>>,
);

/// What the report shows of a run's test evaluation.
fn test_figures(test: &Evaluation, class_names: &[String]) -> TestFigures {
    let scalars: Vec<(&str, f64)> = match &test.metrics {
        TaskMetrics::Classification(m) => vec![
            ("loss", test.loss),
            ("accuracy", m.accuracy),
            ("macro_f1", m.macro_f1),
        ],
        TaskMetrics::Regression(m) => vec![
            ("loss", test.loss),
            ("mse", m.mse),
            ("mae", m.mae),
            ("r2", m.r2),
        ],
    };
    // JSON has no NaN: a figure that is not a number is left out, as it was never shown.
    let figures = scalars
        .into_iter()
        .filter_map(|(name, value)| Some((name.to_string(), Value::from(Number::from_f64(value)?))))
        .collect();
    let TaskMetrics::Classification(m) = &test.metrics else {
        return (figures, None, None);
    };
    let confusion = m
        .confusion
        .iter()
        .map(|row| row.iter().map(|&n| n as u64).collect())
        .collect();
    let per_class = m
        .per_class
        .iter()
        .enumerate()
        .map(|(i, scores)| ClassFigures {
            class: class_names.get(i).cloned().unwrap_or_else(|| i.to_string()),
            precision: scores.precision,
            recall: scores.recall,
            f1: scores.f1,
            support: scores.support as u64,
        })
        .collect();
    (figures, Some(confusion), Some(per_class))
}
