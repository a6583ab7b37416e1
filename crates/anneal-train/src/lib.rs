//! anneal-train: turns a run config into a trained model. [`prepare`] loads, splits and
//! preprocesses the data and checks the config against it; [`train`] runs the loop (optimizer,
//! per-iteration learning-rate schedule, penalties, clipping, early stopping), reporting every
//! epoch to an [`Observer`] that may stop it; [`RunDir`] keeps a run's config, metrics,
//! checkpoint, summary and curves on disk.

#![warn(missing_docs)]

pub mod clip;
pub mod config;
pub mod early_stopping;
pub mod error;
pub mod evaluate;
pub mod inference;
pub mod memory;
pub mod metrics;
pub mod optimizer;
mod optimizer_config;
pub mod pipeline;
pub mod plot;
pub mod predict;
pub mod prepare;
pub mod resume;
pub mod run_dir;
mod run_files;
pub mod runner;
pub mod schedule;
pub mod trainer;

pub use config::{
    AdamSettings, DataConfig, EarlyStoppingConfig, GradClip, Monitor, OptimizerConfig, RunConfig,
    TrainConfig,
};
pub use early_stopping::{BestTracker, Verdict};
pub use error::{Result, TrainError};
pub use evaluate::{Evaluation, Scoring, TaskMetrics, evaluate, outputs};
pub use inference::InferenceCost;
pub use metrics::{ClassScores, ClassificationMetrics, RegressionMetrics};
pub use optimizer::build_optimizer;
pub use pipeline::{Inputs, Pipeline};
pub use plot::plot_curves;
pub use predict::{NewData, Predictions, Predictor};
pub use prepare::{PreparedData, TargetScale, prepare};
pub use run_dir::{MetricsWriter, RunDir, RunRecorder, free_run_name};
pub use run_files::{MetricsRow, Summary, read_metrics};
pub use runner::{
    Both, LoadedRun, RunTarget, evaluate_run, load_run, resume_recorded, run_recorded, stop_paused,
};
pub use schedule::{LrSchedule, ScheduleError, ScheduleKind};
pub use trainer::{
    Control, EpochRecord, Observer, RunStatus, StepReading, TrainOutcome, train, train_resumable,
    train_step,
};
