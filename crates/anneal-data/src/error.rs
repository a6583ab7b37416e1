//! [`DataError`], everything that can go wrong loading and preparing data, and [`Result`].

use std::path::PathBuf;

// Messages quote the file's own text (a cell, a header), which may be megabytes long.
use anneal_text::clip_message;

/// Everything that can go wrong between a file on disk and a batch of tensors.
///
/// Each variant names the file (and line/column where there is one) and what was expected, so a
/// user can fix the input without reading the source.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file or folder could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A data file's sha256 differs from the one its manifest records.
    #[error(
        "{path}: checksum mismatch: expected sha256 {expected}, found {found} \
         ({bytes} bytes; the file is altered or truncated, restore it from the repository)"
    )]
    Checksum {
        /// The data file.
        path: PathBuf,
        /// The sha256 the manifest records, in hex.
        expected: String,
        /// The sha256 of the file's bytes, in lowercase hex.
        found: String,
        /// The file's size in bytes.
        bytes: u64,
    },

    /// A file's content cannot be used, as `message` explains.
    #[error("{path}: {}", clip_message(message))]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },

    /// A row or cell of a text file is malformed.
    #[error("{path}, line {line}, column {column}: {}", clip_message(message))]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The 1-based line number (0 when unknown).
        line: u64,
        /// The 1-based column number.
        column: usize,
        /// What is wrong.
        message: String,
    },

    /// A file holds a different number of something (samples, labels, columns) than expected.
    #[error("{path}: expected {expected} {what}, found {found}")]
    Count {
        /// The file.
        path: PathBuf,
        /// What was counted, e.g. `samples`.
        what: String,
        /// How many were expected.
        expected: usize,
        /// How many the file holds.
        found: usize,
    },

    /// A `manifest.toml` cannot be parsed or is inconsistent.
    #[error("manifest {path}: {}", clip_message(message))]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },

    /// No bundled dataset has the requested name.
    #[error("unknown dataset '{name}'; bundled datasets are: {available}")]
    UnknownDataset {
        /// The name asked for.
        name: String,
        /// The bundled datasets' names, comma-separated.
        available: String,
    },

    /// No datasets folder was found.
    #[error("no datasets folder found ({searched}); pass --data-dir or set ANNEAL_DATA_DIR")]
    NoDataRoot {
        /// The folders tried, comma-separated.
        searched: String,
    },

    /// A config value is invalid.
    #[error("invalid value for `{field}`: {}", clip_message(message))]
    InvalidConfig {
        /// The config key, e.g. `split.validation`.
        field: String,
        /// Why the value is invalid.
        message: String,
    },
}

impl DataError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// A [`DataError::Format`] for `path`.
    pub fn format(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::Format {
            path: path.into(),
            message: message.into(),
        }
    }

    pub(crate) fn config(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidConfig {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A result whose error type defaults to [`DataError`].
pub type Result<T, E = DataError> = std::result::Result<T, E>;
