use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TuneError {
    /// A sweep setting that cannot be used, naming the field and what is allowed.
    #[error("invalid value for `{field}`: {message}")]
    Config { field: String, message: String },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("study database {path}: {message}")]
    Storage { path: PathBuf, message: String },
    #[error(transparent)]
    Train(#[from] anneal_train::TrainError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The study's first trials all failed: its settings are broken, not unlucky.
    #[error("{0}")]
    AllFailing(String),
}

impl TuneError {
    pub fn config(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Config {
            field: field.into(),
            message: message.into(),
        }
    }
}

pub type Result<T, E = TuneError> = std::result::Result<T, E>;
