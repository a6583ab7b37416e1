use std::path::PathBuf;

// Messages quote the file's own text (a cell, a header), which may be megabytes long.
use anneal_text::clip_message;

/// Everything that can go wrong between a file on disk and a batch of tensors.
///
/// Each variant names the file (and line/column where there is one) and what was expected, so a
/// user can fix the input without reading the source.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "{path}: checksum mismatch: expected sha256 {expected}, found {found} \
         ({bytes} bytes; the file is altered or truncated, restore it from the repository)"
    )]
    Checksum {
        path: PathBuf,
        expected: String,
        found: String,
        bytes: u64,
    },

    #[error("{path}: {}", clip_message(message))]
    Format { path: PathBuf, message: String },

    #[error("{path}, line {line}, column {column}: {}", clip_message(message))]
    Malformed {
        path: PathBuf,
        line: u64,
        column: usize,
        message: String,
    },

    #[error("{path}: expected {expected} {what}, found {found}")]
    Count {
        path: PathBuf,
        what: String,
        expected: usize,
        found: usize,
    },

    #[error("manifest {path}: {}", clip_message(message))]
    Manifest { path: PathBuf, message: String },

    #[error("unknown dataset '{name}'; bundled datasets are: {available}")]
    UnknownDataset { name: String, available: String },

    #[error("no datasets folder found ({searched}); pass --data-dir or set ANNEAL_DATA_DIR")]
    NoDataRoot { searched: String },

    #[error("invalid value for `{field}`: {}", clip_message(message))]
    InvalidConfig { field: String, message: String },
}

impl DataError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

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

pub type Result<T, E = DataError> = std::result::Result<T, E>;
