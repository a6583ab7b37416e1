//! Opening a study file: to read and write it (created, its schema brought up to date), or
//! only to read it.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::Connection;

use super::schema::{open_connection, open_read_only};
use super::{SqliteStorage, storage_error};
use crate::error::{Result, TuneError};
use crate::storage::Storage;

impl SqliteStorage {
    /// Opens (or creates) the database at `path`, creating its folder.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|error| TuneError::Io {
                path: parent.to_path_buf(),
                error,
            })?;
        }
        let connection = open_connection(path).map_err(|e| storage_error(path, e))?;
        Ok(Self::with_connection(path, connection, false))
    }

    /// Opens the existing database at `path` only to read it: nothing is written (no schema
    /// upgrade, no journal mode switch), so a study on a read-only file or folder can be read;
    /// every change through it is [`TuneError::ReadOnly`]. A file of an older schema is
    /// [`TuneError::NeedsUpgrade`].
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        std::fs::metadata(path).map_err(|error| TuneError::Io {
            path: path.to_path_buf(),
            error,
        })?;
        let (connection, outdated) = open_read_only(path).map_err(|e| storage_error(path, e))?;
        let storage = Self::with_connection(path, connection, true);
        match outdated {
            Some(found) => Err(TuneError::NeedsUpgrade {
                location: storage.location(),
                found,
            }),
            None => Ok(storage),
        }
    }

    fn with_connection(path: &Path, connection: Connection, read_only: bool) -> Self {
        Self {
            connection: Mutex::new(connection),
            // Canonical (no `..`, no symbolic links), so run folders stored relative to its
            // folder resolve to the same real folders from anywhere.
            path: std::fs::canonicalize(path)
                .or_else(|_| std::path::absolute(path))
                .unwrap_or_else(|_| path.to_path_buf()),
            read_only,
            clock: std::sync::Arc::new(crate::storage::SystemClock),
        }
    }
}
