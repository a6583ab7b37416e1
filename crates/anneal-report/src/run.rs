//! A training run as its report shows it, read from the run folder: `summary.json` (status,
//! test figures, confusion matrix, per-class figures), `metrics.csv` (one row per epoch) and
//! `config.toml` (the run's settings).

use std::path::Path;

use serde::Serialize;
use serde_json::Value;

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
    pub task: &'static str,
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

fn read(path: &Path) -> Result<String, ReportError> {
    std::fs::read_to_string(path).map_err(|source| ReportError::Read {
        path: path.display().to_string(),
        source,
    })
}

impl RunReport {
    /// Reads the run folder `dir`.
    pub fn from_folder(dir: &Path) -> Result<Self, ReportError> {
        let summary_path = dir.join("summary.json");
        if !summary_path.exists() {
            return Err(ReportError::NotARun(dir.display().to_string()));
        }
        let summary: Value =
            serde_json::from_str(&read(&summary_path)?).map_err(|e| ReportError::Format {
                path: summary_path.display().to_string(),
                message: e.to_string(),
            })?;
        let config = read(&dir.join("config.toml")).unwrap_or_default();
        let (epochs, metric) = match read(&dir.join("metrics.csv")) {
            Ok(text) => parse_metrics(&text),
            Err(_) => (Vec::new(), None),
        };
        let test = summary.get("test").cloned().unwrap_or(Value::Null);
        let classes: Option<Vec<String>> = summary
            .get("class_names")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|c| c.as_str().unwrap_or_default().to_string())
                    .collect()
            });
        let confusion = test.get("confusion").and_then(|c| {
            c.as_array()?
                .iter()
                .map(|row| row.as_array()?.iter().map(Value::as_u64).collect())
                .collect()
        });
        let per_class = test.get("per_class").and_then(Value::as_array).map(|rows| {
            rows.iter()
                .enumerate()
                .map(|(i, r)| ClassFigures {
                    class: classes
                        .as_ref()
                        .and_then(|c| c.get(i).cloned())
                        .unwrap_or_else(|| i.to_string()),
                    precision: r
                        .get("precision")
                        .and_then(Value::as_f64)
                        .unwrap_or(f64::NAN),
                    recall: r.get("recall").and_then(Value::as_f64).unwrap_or(f64::NAN),
                    f1: r.get("f1").and_then(Value::as_f64).unwrap_or(f64::NAN),
                    support: r.get("support").and_then(Value::as_u64).unwrap_or(0),
                })
                .collect()
        });
        // Scalar test figures only (the matrix and per-class rows have their own sections).
        let figures = test
            .as_object()
            .map(|m| {
                m.iter()
                    .filter(|(_, v)| v.is_number())
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let text = |key: &str| {
            summary
                .get(key)
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .unwrap_or_default()
        };
        let model = match summary.get("parameter_count").and_then(Value::as_u64) {
            Some(count) => format!("{count} parameters, {} backend", text("backend")),
            None => text("backend"),
        };
        Ok(Self {
            kind: "run",
            run: RunSummary {
                name: text("name"),
                task: if classes.is_some() {
                    "classification"
                } else {
                    "regression"
                },
                dataset: text("dataset"),
                model,
                status: text("status"),
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

/// The epochs of `metrics.csv` and the name of its validation metric: the first `val_`
/// column other than the loss.
fn parse_metrics(text: &str) -> (Vec<EpochRow>, Option<String>) {
    let mut lines = text.lines();
    let Some(header) = lines.next() else {
        return (Vec::new(), None);
    };
    let columns: Vec<&str> = header.split(',').collect();
    let at = |name: &str| columns.iter().position(|c| *c == name);
    let metric_column = columns
        .iter()
        .position(|c| c.starts_with("val_") && *c != "val_loss");
    let (epoch, lr, train, val) = (at("epoch"), at("lr"), at("train_loss"), at("val_loss"));
    let rows = lines
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, line)| {
            let cells: Vec<&str> = line.split(',').collect();
            let number =
                |c: Option<usize>| c.and_then(|c| cells.get(c)?.trim().parse::<f64>().ok());
            EpochRow {
                epoch: number(epoch).map_or(i as u64 + 1, |e| e as u64),
                train_loss: number(train),
                val_loss: number(val),
                val_metric: number(metric_column),
                lr: number(lr),
            }
        })
        .collect();
    let metric = metric_column.map(|c| columns[c].trim_start_matches("val_").to_string());
    (rows, metric)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_rows_and_the_validation_metric_are_read_by_column_name() {
        let (rows, metric) = parse_metrics(
            "epoch,lr,train_loss,train_accuracy,val_loss,val_accuracy,val_f1\n\
             1,0.001,2.0,0.3,1.5,0.6,0.5\n2,0.0005,1.0,0.7,0.9,0.8,0.75\n",
        );
        assert_eq!(metric.as_deref(), Some("accuracy"));
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].epoch, 2);
        assert_eq!(rows[1].val_metric, Some(0.8));
        assert_eq!(rows[0].lr, Some(0.001));
        assert_eq!(rows[0].train_loss, Some(2.0));
    }
}
