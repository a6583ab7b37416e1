//! The tuner's errors.

use std::path::PathBuf;

/// What can go wrong in a study.
#[derive(Debug, thiserror::Error)]
pub enum TuneError {
    /// A setting that cannot be used, naming the field and what is allowed.
    #[error("invalid value for `{field}`: {message}")]
    Config {
        /// The setting or parameter.
        field: String,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// The study storage failed.
    #[error("study storage {location}: {message}")]
    Storage {
        /// The database (a file path, a server).
        location: String,
        /// The storage's own message.
        message: String,
    },
    /// A change asked of a storage opened read-only ([`crate::StorageOptions::read_only`]).
    #[error("study storage {location} is open read-only; changing it needs a writable open")]
    ReadOnly {
        /// The database (a file path, a server).
        location: String,
    },
    /// A read-only open of a storage whose tables must first be created or upgraded, which
    /// only a writable open does.
    #[error(
        "study storage {location}: {found}; a read-only open never creates or upgrades them, so open it once with a command that writes to it (`anneal tune` on its sweep, `anneal ask`)"
    )]
    NeedsUpgrade {
        /// The database (a file path, a server).
        location: String,
        /// What its tables are ("its tables are schema 2, older than this anneal's 4").
        found: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {error}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error (in the message, not repeated as a cause).
        error: std::io::Error,
    },
    /// The study's first trials all failed: its settings are broken, not unlucky.
    #[error("{0}")]
    AllFailing(String),
    /// This process no longer holds the trial: its lease expired and another process failed
    /// it as stale (or it was told from elsewhere). The trial is not this process's to change.
    #[error(
        "trial {number} is no longer this process's (its lease expired or it was ended elsewhere)"
    )]
    LeaseLost {
        /// The trial.
        number: usize,
    },
    /// The pruner stopped the trial at `step` ([`crate::Trial::report`] returns it; return it
    /// from the objective and the trial is recorded pruned).
    #[error("trial pruned at step {step}")]
    Pruned {
        /// The last step reported.
        step: usize,
    },
    /// The user stopped the trial (Ctrl-C): it is recorded interrupted, does not count toward
    /// the budget, and the optimisation loop stops.
    #[error("trial interrupted by the user")]
    Interrupted,
    /// An objective that ran past its time limit (an objective returns it; the trial is
    /// recorded failed, timed out).
    #[error("timed out after {seconds:.0} s")]
    TimedOut {
        /// The limit it ran past, in seconds.
        seconds: f64,
    },
    /// The pruner paused the trial at `step`, to be continued if it becomes promotable (only
    /// for objectives that can pause).
    #[error("trial paused at step {step}")]
    Paused {
        /// The last step reported.
        step: usize,
    },
}

impl TuneError {
    /// A [`TuneError::Config`] error.
    pub fn config(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Config {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The tuner's result type.
pub type Result<T, E = TuneError> = std::result::Result<T, E>;
