//! The crate's error type, [`TrainError`], and its [`Result`] alias.

use std::path::PathBuf;

/// Why a run could not be set up, trained or recorded.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A setting that cannot be used, naming the field and what is allowed.
    #[error("invalid value for `{field}`: {message}")]
    Config {
        /// The setting at fault (usually a config key, e.g. `train.lr`).
        field: String,
        /// What is wrong with it and what is allowed.
        message: String,
    },
    /// A file that does not parse as what it should be: a run config (unknown key, wrong
    /// type, bad TOML), or a run folder's `summary.json`, `pipeline.json` or `metrics.csv`.
    #[error("{path}: {message}")]
    Parse {
        /// The file at fault.
        path: PathBuf,
        /// What the parser reported.
        message: String,
    },
    /// A data error: a file that cannot be read or parsed, or a data setting that cannot be used.
    #[error(transparent)]
    Data(#[from] anneal_data::DataError),
    /// A model or loss setting that cannot be built or does not fit the data.
    #[error(transparent)]
    Model(#[from] anneal_model::ConfigError),
    /// Reading or writing a file or folder failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// A run file (a checkpoint, the paused state, the config or the curves) that could not be
    /// written, read or drawn.
    #[error("{path}: {message}")]
    Checkpoint {
        /// The file.
        path: PathBuf,
        /// What could not be done, and why.
        message: String,
    },
    /// The observer gave the run up: the folder is no longer its caller's to write (a tuner
    /// trial whose lease another process took over). Nothing more is written to it.
    #[error("abandoned: {0}")]
    Abandoned(String),
    /// A run folder that already exists: runs are never overwritten.
    #[error(
        "run folder {0} already exists; choose another name with --name, or delete the folder first"
    )]
    RunExists(PathBuf),
}

impl TrainError {
    /// A [`TrainError::Config`] for `field`.
    pub fn config(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Config {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A [`TrainError::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

impl From<crate::schedule::ScheduleError> for TrainError {
    fn from(e: crate::schedule::ScheduleError) -> Self {
        Self::config(e.field, e.message)
    }
}

/// The crate's result type, failing with a [`TrainError`] by default.
pub type Result<T, E = TrainError> = std::result::Result<T, E>;
