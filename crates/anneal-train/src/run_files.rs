//! What a run folder says about its run, in the types its writer and every reader share:
//! `summary.json` ([`Summary`]) and `metrics.csv` ([`MetricsRow`]). The report and the tuner
//! read run folders through these, so a renamed field fails to compile rather than emptying a
//! page.

use std::path::Path;

use anneal_data::Task;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};
use crate::evaluate::{Evaluation, TaskMetrics};
use crate::inference::InferenceCost;
use crate::trainer::{EpochRecord, RunStatus};

/// What `summary.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The run's name (its folder's name).
    pub name: String,
    /// How the run ended.
    #[serde(flatten)]
    pub status: RunStatus,
    /// The status in words.
    pub message: String,
    /// The dataset's name.
    pub dataset: String,
    /// What the run predicts (absent from runs written before it was recorded: see
    /// [`Summary::task`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<Task>,
    /// Class names in class-index order (empty for regression).
    pub class_names: Vec<String>,
    /// The backend the run used (e.g. "flex", "wgpu").
    pub backend: String,
    /// Epochs trained (0 in the summary of a failed run).
    pub epochs_run: usize,
    /// The best epoch by the monitored metric (1-based), if any.
    pub best_epoch: Option<usize>,
    /// The monitored metric and its direction, e.g. `val_loss (min)`.
    pub monitor: String,
    /// The monitored metric's value at the best epoch.
    pub best_value: Option<f64>,
    /// Whether the final model (checkpoint, test figures) is the best epoch's or the last one's.
    pub restored_best: bool,
    /// Wall time of the run in seconds, data preparation included (a paused run's waits are not).
    pub wall_seconds: f64,
    /// Seconds spent in training passes (validation excluded).
    pub train_seconds: f64,
    /// Training samples per second over all epochs (training passes only).
    pub train_samples_per_sec: f64,
    /// The model's number of trainable values.
    pub parameter_count: usize,
    /// Samples in the training split.
    pub train_samples: usize,
    /// Samples in the validation split.
    pub validation_samples: usize,
    /// Samples in the test split.
    pub test_samples: usize,
    /// The test set is the dataset's official one rather than held out.
    pub official_test: bool,
    /// Validation figures of the final model (`None` for a run that diverged).
    pub validation: Option<Evaluation>,
    /// Test figures of the final model (`None` for a run that diverged).
    pub test: Option<Evaluation>,
    /// The final model's checkpoint size and latency (`None` for a run without a final model,
    /// and for runs written before it was measured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inference: Option<InferenceCost>,
}

pub(crate) fn metrics_header(classification: bool) -> &'static str {
    if classification {
        "epoch,lr,train_loss,train_accuracy,val_loss,val_accuracy,val_f1,seconds,samples_per_sec"
    } else {
        "epoch,lr,train_loss,val_loss,val_mse,val_mae,val_r2,seconds,samples_per_sec"
    }
}

/// One `metrics.csv` row. Values use Rust's shortest round-trip formatting, so identical runs
/// give identical text.
pub fn csv_row(r: &EpochRecord) -> String {
    let head = format!("{},{},{}", r.epoch, r.lr, r.train_loss);
    let tail = format!("{:.3},{:.1}", r.seconds, r.samples_per_sec);
    match &r.validation.metrics {
        TaskMetrics::Classification(m) => format!(
            "{head},{},{},{},{},{tail}",
            r.train_accuracy.unwrap_or(f64::NAN),
            r.validation.loss,
            m.accuracy,
            m.macro_f1
        ),
        TaskMetrics::Regression(m) => format!(
            "{head},{},{},{},{},{tail}",
            r.validation.loss, m.mse, m.mae, m.r2
        ),
    }
}

impl Summary {
    /// What the run predicts: as recorded, or for a run written before the task was recorded,
    /// classification exactly when it names classes.
    pub fn task(&self) -> Task {
        self.task.unwrap_or(match self.class_names.is_empty() {
            true => Task::Regression,
            false => Task::Classification,
        })
    }
}

/// One row of `metrics.csv`: an epoch's figures. Classification runs fill the accuracy and F1
/// columns, regression runs the error columns.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MetricsRow {
    /// The epoch (from 1).
    pub epoch: usize,
    /// The learning rate at the epoch's end.
    pub lr: f64,
    /// Mean training loss.
    pub train_loss: f64,
    /// Training accuracy (classification).
    #[serde(default)]
    pub train_accuracy: Option<f64>,
    /// Validation loss.
    pub val_loss: f64,
    /// Validation accuracy (classification).
    #[serde(default)]
    pub val_accuracy: Option<f64>,
    /// Validation macro F1 (classification).
    #[serde(default)]
    pub val_f1: Option<f64>,
    /// Validation mean squared error (regression).
    #[serde(default)]
    pub val_mse: Option<f64>,
    /// Validation mean absolute error (regression).
    #[serde(default)]
    pub val_mae: Option<f64>,
    /// Validation R² (regression).
    #[serde(default)]
    pub val_r2: Option<f64>,
    /// Seconds the epoch took.
    pub seconds: f64,
    /// Training samples per second.
    pub samples_per_sec: f64,
}

impl MetricsRow {
    /// The task's headline validation metric, by name: accuracy, or the mean squared error.
    pub fn headline(&self) -> (&'static str, Option<f64>) {
        match self.val_accuracy {
            Some(accuracy) => ("accuracy", Some(accuracy)),
            None => ("mse", self.val_mse),
        }
    }
}

/// The rows of the `metrics.csv` at `path` (a killed run's last line may be cut short: it is
/// left out).
pub fn read_metrics(path: &Path) -> Result<Vec<MetricsRow>> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| TrainError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let mut rows = Vec::new();
    let mut records = reader.deserialize::<MetricsRow>().peekable();
    while let Some(row) = records.next() {
        match row {
            Ok(row) => rows.push(row),
            Err(_) if records.peek().is_none() => break,
            Err(e) => {
                return Err(TrainError::Parse {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                });
            }
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{ClassificationMetrics, RegressionMetrics};

    #[test]
    fn every_status_name_is_what_summary_json_writes() {
        for status in [
            RunStatus::Completed,
            RunStatus::EarlyStopped { epoch: 3 },
            RunStatus::Stopped { epoch: 3 },
            RunStatus::Paused { epoch: 3 },
            RunStatus::Failed {
                error: "disk full".into(),
            },
            RunStatus::Diverged {
                epoch: 3,
                batch: 7,
                lr: 0.1,
                loss: f64::NAN,
            },
        ] {
            let json = serde_json::to_value(&status).unwrap();
            assert_eq!(json["status"], status.name(), "{status:?}");
        }
    }

    fn record(epoch: usize, metrics: TaskMetrics, train_accuracy: Option<f64>) -> EpochRecord {
        EpochRecord {
            epoch,
            lr: 0.001,
            train_loss: 0.5 / epoch as f64,
            train_accuracy,
            validation: Evaluation {
                loss: 0.25,
                metrics,
            },
            seconds: 1.5,
            samples_per_sec: 1000.0,
        }
    }

    #[test]
    fn metrics_rows_read_back_what_the_writer_wrote_for_either_task() {
        let dir = tempfile::tempdir().unwrap();
        let classification =
            TaskMetrics::Classification(ClassificationMetrics::compute(&[0, 1, 1], &[0, 1, 0], 2));
        let regression = TaskMetrics::Regression(RegressionMetrics {
            mse: 0.5,
            mae: f64::NAN,
            r2: 0.75,
        });
        for (name, metrics, train_accuracy) in [
            ("c.csv", classification, Some(0.9)),
            ("r.csv", regression, None),
        ] {
            let classifies = train_accuracy.is_some();
            let rows = [1, 2].map(|e| record(e, metrics.clone(), train_accuracy));
            let mut text = format!("{}\n", metrics_header(classifies));
            for row in &rows {
                text.push_str(&format!("{}\n", csv_row(row)));
            }
            // A killed run's last line may be half written.
            text.push_str("3,0.001,0.");
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            let read = read_metrics(&path).unwrap();
            assert_eq!(read.len(), 2, "the cut line is left out");
            assert_eq!(read[1].epoch, 2);
            assert_eq!(read[1].train_loss, 0.25);
            assert_eq!(read[0].train_accuracy, train_accuracy);
            assert_eq!(read[0].val_loss, 0.25);
            match &metrics {
                TaskMetrics::Classification(m) => {
                    assert_eq!(read[0].headline(), ("accuracy", Some(m.accuracy)));
                    assert_eq!(read[0].val_f1, Some(m.macro_f1));
                    assert_eq!(read[0].val_mse, None);
                }
                TaskMetrics::Regression(_) => {
                    assert_eq!(read[0].headline(), ("mse", Some(0.5)));
                    assert!(read[0].val_mae.unwrap().is_nan());
                    assert_eq!(read[0].val_r2, Some(0.75));
                    assert_eq!(read[0].val_accuracy, None);
                }
            }
        }
    }
}
