//! Opening a storage from where it is: a PostgreSQL URL (`postgresql://user@host:port/db`) or a
//! SQLite file's path (optionally written `sqlite:PATH`), as command lines and sweep files name
//! it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{LeasedStorage, SqliteStorage, Storage};
use crate::error::{Result, TuneError};

/// How a storage handle opened by [`open_storage`] behaves.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StorageOptions {
    /// How long a trial this handle claims stays its own without a heartbeat (the grace period
    /// after which any process may fail it as stale); heartbeats come every quarter of it.
    /// Default [`super::DEFAULT_LEASE`].
    pub lease: Option<Duration>,
    /// The folder every worker names for trials' files (a shared mount on many hosts): a
    /// PostgreSQL study stores run folders relative to it, so a paused trial's folder is found
    /// by whichever worker continues it. A SQLite study's files are relative to its file.
    pub artifacts: Option<PathBuf>,
    /// Only read: the database must exist and is never written (a SQLite file is opened
    /// read-only, immutable where its folder cannot take SQLite's side files; a PostgreSQL
    /// session is read-only and creates no tables), so a study another user owns, or one on a
    /// read-only mount, can be listed and reported. Every change through it is
    /// [`TuneError::ReadOnly`]; tables that need creating or upgrading first are
    /// [`TuneError::NeedsUpgrade`].
    pub read_only: bool,
}

/// Whether `location` names a PostgreSQL database rather than a file.
pub fn is_postgres_url(location: &str) -> bool {
    location.starts_with("postgresql://") || location.starts_with("postgres://")
}

/// The SQLite file `location` names (written as a path or `sqlite:PATH`); `None` for a
/// PostgreSQL URL.
pub fn sqlite_path(location: &str) -> Option<&Path> {
    match is_postgres_url(location) {
        true => None,
        false => Some(Path::new(
            location.strip_prefix("sqlite:").unwrap_or(location),
        )),
    }
}

/// Opens a handle on the storage `location` names: a PostgreSQL URL, or a SQLite file
/// (created, with its folder, if missing, unless [`StorageOptions::read_only`]).
pub fn open_storage(location: &str, options: &StorageOptions) -> Result<LeasedStorage> {
    let lease = options.lease.unwrap_or(super::DEFAULT_LEASE);
    if lease < Duration::from_millis(100) {
        return Err(TuneError::config(
            "lease",
            format!(
                "{} s is too short for heartbeats to keep up; give at least 0.1 s",
                lease.as_secs_f64()
            ),
        ));
    }
    let Some(path) = sqlite_path(location) else {
        return Ok(LeasedStorage::from(open_postgres(location, options)?).with_lease(lease));
    };
    if let Some((scheme, _)) = location.split_once("://") {
        return Err(TuneError::config(
            "storage",
            format!(
                "'{scheme}://' is not a storage anneal knows; give a SQLite file's path or a PostgreSQL URL (postgresql://user@host:port/database)"
            ),
        ));
    }
    if path.as_os_str().is_empty() {
        return Err(TuneError::config(
            "storage",
            "an empty path; give a SQLite file's path or a PostgreSQL URL",
        ));
    }
    let storage = match options.read_only {
        true => SqliteStorage::open_read_only(path)?,
        false => SqliteStorage::open(path)?,
    };
    Ok(LeasedStorage::from(storage).with_lease(lease))
}

#[cfg(feature = "postgres")]
fn open_postgres(location: &str, options: &StorageOptions) -> Result<Box<dyn Storage>> {
    let mut storage = match options.read_only {
        true => super::PostgresStorage::connect_read_only(location)?,
        false => super::PostgresStorage::connect(location)?,
    };
    if let Some(artifacts) = &options.artifacts {
        storage = storage.with_artifacts(artifacts)?;
    }
    Ok(Box::new(storage))
}

#[cfg(not(feature = "postgres"))]
fn open_postgres(location: &str, _options: &StorageOptions) -> Result<Box<dyn Storage>> {
    Err(TuneError::config(
        "storage",
        format!(
            "'{location}' is a PostgreSQL database, and this build of anneal-tune has no PostgreSQL support (its `postgres` feature)"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_and_urls_are_told_apart() {
        assert!(is_postgres_url("postgresql://me@db:5432/studies"));
        assert!(is_postgres_url("postgres://db/studies"));
        assert!(!is_postgres_url("studies/anneal.db"));
        let err = open_storage("mysql://db/x", &StorageOptions::default())
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("'mysql://' is not a storage"), "{err}");
        let err = open_storage("sqlite:", &StorageOptions::default())
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("empty path"), "{err}");
        let short = StorageOptions {
            lease: Some(Duration::from_millis(1)),
            ..Default::default()
        };
        let err = open_storage("x.db", &short).err().unwrap().to_string();
        assert!(err.contains("lease") && err.contains("0.001 s"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        let storage = open_storage(
            &format!("sqlite:{}", path.display()),
            &StorageOptions::default(),
        )
        .unwrap();
        assert_eq!(storage.location(), path.display().to_string());
    }
}
