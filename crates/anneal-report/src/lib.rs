//! Self-contained HTML reports: one file with its data, styles and scripts inlined, which
//! opens offline in any browser and prints readably.
//!
//! - [`StudyReport`]: a study's optimisation history, parameter importance (fANOVA), parallel
//!   coordinates, slices, a contour of the two most important parameters, every trial's
//!   learning curve, a sortable trials table and the best trial's settings.
//! - [`RunReport`]: one training run's curves, learning rate, confusion matrix and per-class
//!   figures.
//!
//! [`study_page`] and [`run_page`] turn them into HTML.
#![warn(missing_docs)]

mod html;
mod importance;
mod run;
mod study;

pub use html::{run_page, study_page};
pub use importance::{Importance, ParamImportance, importance};
pub use run::{ClassFigures, EpochRow, RunReport, RunSummary};
pub use study::{BestInfo, ParamInfo, StudyReport, StudySummary, TrialInfo};

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file is not in the expected format.
    #[error("{path} is not a valid run file: {message}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A run file could not be read as the training crate writes it.
    #[error(transparent)]
    Run(#[from] anneal_train::TrainError),
    /// The folder has no `summary.json`.
    #[error("{0} is not a run folder (it has no summary.json; runs are written by `anneal train`)")]
    NotARun(String),
}
