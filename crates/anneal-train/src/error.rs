use std::path::PathBuf;

/// Why a run could not be set up, trained or recorded.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A setting that cannot be used, naming the field and what is allowed.
    #[error("invalid value for `{field}`: {message}")]
    Config { field: String, message: String },
    /// A run config file that does not parse (unknown key, wrong type, bad TOML).
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error(transparent)]
    Data(#[from] anneal_data::DataError),
    #[error(transparent)]
    Model(#[from] anneal_model::ConfigError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Checkpoint { path: PathBuf, message: String },
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
    pub fn config(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Config {
            field: field.into(),
            message: message.into(),
        }
    }

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

pub type Result<T, E = TrainError> = std::result::Result<T, E>;
