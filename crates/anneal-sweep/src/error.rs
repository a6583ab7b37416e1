//! The sweep runner's errors.

use std::path::PathBuf;

/// What can go wrong running a sweep.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The study (its settings, storage, or a trial's bookkeeping).
    #[error(transparent)]
    Tune(#[from] anneal_tune::TuneError),
    /// Training (a run config, a run folder).
    #[error(transparent)]
    Train(#[from] anneal_train::TrainError),
    /// A sweep or run config file that is not valid TOML for its schema.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {error}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error (in the message, not repeated as a cause).
        error: std::io::Error,
    },
    /// The sweep ended with no complete trial.
    #[error("no trial of study '{study}' completed{}", last_words(.last))]
    NoneCompleted {
        /// The study's name.
        study: String,
        /// What the last trial that ended said, if anything.
        last: Option<String>,
    },
    /// A parallel sweep's worker processes could not be started or watched.
    #[error("the sweep's worker processes: {0}")]
    Workers(std::io::Error),
}

impl SweepError {
    /// A setting that cannot be used, naming the field and what is allowed.
    pub fn config(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Tune(anneal_tune::TuneError::config(field, message))
    }

    pub(crate) fn io(path: &std::path::Path, error: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            error,
        }
    }
}

/// The sweep runner's result type.
pub type Result<T, E = SweepError> = std::result::Result<T, E>;

/// `; the last says: …` for a note, else nothing.
fn last_words(last: &Option<String>) -> String {
    last.as_ref()
        .map(|note| format!("; the last says: {note}"))
        .unwrap_or_default()
}
