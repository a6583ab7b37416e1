//! Connecting to the server, and running each call on a live connection: a lost connection
//! (a server restart) is opened again and the call repeated, so a study rides out a restart.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use postgres::error::SqlState;
use postgres::{Client, NoTls};

use super::PostgresStorage;
use super::schema::{self, MigrateError, check_read_only, migrate};
use super::session::Session;
use crate::error::{Result, TuneError};
use crate::storage::TrialRecord;
use crate::storage::paths::{canonical, relative_path, resolve_run_dir};

/// How long a handle keeps trying to reach its server again after losing it.
const RECONNECT_WINDOW: Duration = Duration::from_secs(60);

/// How often one call is tried when the server drops the connection or asks for a retry
/// (a serialisation failure, a deadlock).
const ATTEMPTS: usize = 4;

impl PostgresStorage {
    /// Connects to the database `url` names (`postgresql://user[:password]@host[:port]/db`,
    /// or libpq's `key=value` form) and creates anneal's tables on first use. Without a
    /// password in `url`, `PGPASSWORD` or the password file (`PGPASSFILE`, else `~/.pgpass`)
    /// gives one, as for `psql`.
    pub fn connect(url: &str) -> Result<Self> {
        Self::connect_as(url, false)
    }

    /// Connects to the database `url` names only to read it: the tables are not created, and
    /// the server refuses any change, which is [`TuneError::ReadOnly`].
    pub fn connect_read_only(url: &str) -> Result<Self> {
        Self::connect_as(url, true)
    }

    fn connect_as(url: &str, read_only: bool) -> Result<Self> {
        let mut config: postgres::Config = url.parse().map_err(|e| {
            TuneError::config(
                "storage",
                format!(
                    "'{}' is not a PostgreSQL URL ({e}); write postgresql://user@host:port/database",
                    redact(url)
                ),
            )
        })?;
        if config.get_password().is_none() {
            if let Some(password) = super::password::from_environment(&config) {
                config.password(password);
            }
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        config.application_name("anneal");
        // A server that vanished without closing the socket is noticed within a minute.
        config.keepalives(true);
        config.keepalives_idle(Duration::from_secs(20));
        let location = describe(&config);
        let storage = Self {
            session: Mutex::new(None),
            config,
            location,
            artifacts: None,
            read_only,
        };
        let client = storage.open_client()?;
        *storage.lock() = Some(Session::new(client));
        Ok(storage)
    }

    /// The same storage with run folders stored relative to `artifacts`, a folder every worker
    /// names (a shared mount): a paused trial's files are then found by whichever worker, on
    /// whichever host, continues it.
    pub fn with_artifacts(mut self, artifacts: impl AsRef<Path>) -> Result<Self> {
        let artifacts = artifacts.as_ref();
        std::fs::create_dir_all(artifacts).map_err(|error| TuneError::Io {
            path: artifacts.to_path_buf(),
            error,
        })?;
        self.artifacts = Some(canonical(artifacts));
        Ok(self)
    }

    /// A connection with the tables ready.
    fn open_client(&self) -> Result<Client> {
        let mut client = self.config.connect(NoTls).map_err(|e| self.fail(e))?;
        let ready = match self.read_only {
            true => check_read_only(&mut client),
            false => migrate(&mut client),
        };
        ready.map_err(|e| match e {
            MigrateError::Database(e) => self.fail(e),
            MigrateError::Newer(version) => TuneError::Storage {
                location: self.location.clone(),
                message: format!(
                    "its tables are schema {version}, written by a newer anneal (this one knows up to {}); upgrade anneal",
                    schema::SCHEMA_VERSION
                ),
            },
            MigrateError::Missing => TuneError::NeedsUpgrade {
                location: self.location.clone(),
                found: "it holds no study tables yet".into(),
            },
            MigrateError::Older(version) => TuneError::NeedsUpgrade {
                location: self.location.clone(),
                found: format!(
                    "its tables are schema {version}, older than this anneal's {}",
                    schema::SCHEMA_VERSION
                ),
            },
        })?;
        Ok(client)
    }

    /// Connects again after losing the server, retrying until it is back or the window ends.
    fn reconnect(&self) -> Result<Client> {
        let deadline = Instant::now() + RECONNECT_WINDOW;
        let mut pause = Duration::from_millis(100);
        loop {
            match self.open_client() {
                Ok(client) => {
                    tracing::info!("reconnected to {}", self.location);
                    return Ok(client);
                }
                Err(e) if Instant::now() + pause < deadline => {
                    tracing::debug!("waiting for {}: {e}", self.location);
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
                Err(e) => return Err(e),
            }
        }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Option<Session>> {
        // A panic while holding the lock leaves no half-done transaction (an open one rolls back
        // when dropped), so a poisoned lock is still usable.
        self.session
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `work` on the connection, connecting again first if it was lost. A call the server
    /// dropped mid-way is tried again: each `work` is one transaction or one statement, so a
    /// dropped one left nothing behind. (A commit whose reply alone was lost is repeated; the
    /// only change where that matters, a claim, carries a key and looks for its earlier row
    /// first.)
    pub(super) fn run<T>(
        &self,
        mut work: impl FnMut(&mut Session) -> std::result::Result<T, postgres::Error>,
    ) -> Result<T> {
        let mut guard = self.lock();
        let mut attempt = 0;
        loop {
            attempt += 1;
            if guard.as_ref().is_none_or(Session::is_closed) {
                *guard = None;
                *guard = Some(Session::new(self.reconnect()?));
            }
            let client = guard.as_mut().expect("connected above");
            match work(client) {
                Ok(out) => return Ok(out),
                Err(e) if attempt < ATTEMPTS && lost_connection(&e) => {
                    tracing::warn!("lost {} ({e}); connecting again", self.location);
                    *guard = None;
                }
                Err(e) if attempt < ATTEMPTS && must_retry(&e) => {
                    std::thread::sleep(Duration::from_millis(20 * attempt as u64));
                }
                Err(e) => return Err(self.fail(e)),
            }
        }
    }

    pub(super) fn fail(&self, e: postgres::Error) -> TuneError {
        if e.code() == Some(&SqlState::READ_ONLY_SQL_TRANSACTION) {
            return TuneError::ReadOnly {
                location: self.location.clone(),
            };
        }
        TuneError::Storage {
            location: self.location.clone(),
            message: error_text(&e),
        }
    }

    /// A run folder as stored: relative to the artifacts folder where it can be, else absolute.
    pub(super) fn stored_run_dir(&self, run_dir: &str) -> String {
        let real = canonical(Path::new(run_dir));
        self.artifacts
            .as_deref()
            .and_then(|home| relative_path(&real, home))
            .unwrap_or(real)
            .to_string_lossy()
            .into_owned()
    }

    /// A trial as read, its run folder made absolute against this handle's artifacts folder.
    pub(super) fn resolved(&self, trial: TrialRecord) -> TrialRecord {
        match &self.artifacts {
            Some(home) => resolve_run_dir(trial, home),
            None => trial,
        }
    }
}

/// Whether the connection is gone (the server restarted or went away), so a new one may work.
fn lost_connection(e: &postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.code() {
        Some(code) => [
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
        ]
        .contains(code),
        None => std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>()),
    }
}

/// Whether the server asks for the transaction to be tried again.
fn must_retry(e: &postgres::Error) -> bool {
    e.code().is_some_and(|code| {
        *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED
    })
}

/// The server's own words where it sent some, else the client's.
fn error_text(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => match std::error::Error::source(e) {
            Some(source) => format!("{e}: {source}"),
            None => e.to_string(),
        },
    }
}

/// `postgresql://user@host:port/db`, never the password, for messages and listings.
fn describe(config: &postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            postgres::config::Host::Tcp(name) => name.clone(),
            postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config
        .get_user()
        .map(|u| format!("{u}@"))
        .unwrap_or_default();
    let db = config.get_dbname().unwrap_or_default();
    format!("postgresql://{user}{host}:{port}/{db}")
}

/// A URL as it may be shown: a password in it replaced.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact("postgresql://me:secret@db:5432/studies"),
            "postgresql://me:***@db:5432/studies"
        );
        assert_eq!(redact("postgresql://me@db/x"), "postgresql://me@db/x");
        let config: postgres::Config = "postgresql://me:secret@db:6000/studies".parse().unwrap();
        assert_eq!(describe(&config), "postgresql://me@db:6000/studies");
    }

    #[test]
    fn a_bad_url_names_what_is_wrong() {
        let err = PostgresStorage::connect("postgresql://me:pw@db:notaport/x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not a PostgreSQL URL"), "{err}");
        assert!(!err.contains(":pw@"), "{err}");
    }
}
