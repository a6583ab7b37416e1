//! Studies in a PostgreSQL database, for workers on many hosts. Every state change is one
//! transaction that checks the trial's owner in the same statement (or under a row lock), a
//! new trial's number is claimed under a lock on its study's row (so the budget is exact with
//! any number of workers), and every time is the server's clock, so leases hold across hosts
//! whose clocks disagree. A handle whose connection drops (a server restart) connects again on
//! its next call, retrying for a while, instead of failing the study.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use postgres::error::SqlState;
use postgres::{Client, IsolationLevel, NoTls};

use super::encoding::{distributions_json, params_json, parse_distributions, parse_params, upsert};
use super::owner::{DEFAULT_LEASE, Owner, owner_is_gone};
use super::paths::{canonical, relative_path};
use super::{
    NewStudy, StepValue, Storage, StudyId, StudyRecord, TrialId, TrialRecord, TrialState,
    check_same_study, lease_lost,
};
use crate::distribution::{Distribution, Value};
use crate::error::{Result, TuneError};

mod schema;

use schema::{MigrateError, NOW, STUDY_COLUMNS, TRIAL_COLUMNS, migrate, study_row, trial_row};

/// How long a handle keeps trying to reach its server again after losing it.
const RECONNECT_WINDOW: Duration = Duration::from_secs(60);

/// How often one call is tried when the server drops the connection or asks for a retry
/// (a serialisation failure, a deadlock).
const ATTEMPTS: usize = 4;

/// A PostgreSQL study database.
pub struct PostgresStorage {
    client: Mutex<Option<Client>>,
    config: postgres::Config,
    location: String,
    owner: Owner,
    lease: Duration,
    artifacts: Option<PathBuf>,
}

impl std::fmt::Debug for PostgresStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStorage")
            .field("location", &self.location)
            .field("owner", &self.owner)
            .finish()
    }
}

impl PostgresStorage {
    /// Connects to the database `url` names (`postgresql://user[:password]@host[:port]/db`,
    /// or libpq's `key=value` form) and creates anneal's tables on first use.
    pub fn connect(url: &str) -> Result<Self> {
        let mut config: postgres::Config = url.parse().map_err(|e| {
            TuneError::config(
                "storage",
                format!(
                    "'{}' is not a PostgreSQL URL ({e}); write postgresql://user@host:port/database",
                    redact(url)
                ),
            )
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        config.application_name("anneal");
        // A server that vanished without closing the socket is noticed within a minute.
        config.keepalives(true);
        config.keepalives_idle(Duration::from_secs(20));
        let location = describe(&config);
        let storage = Self {
            client: Mutex::new(None),
            config,
            location,
            owner: Owner::new(),
            lease: DEFAULT_LEASE,
            artifacts: None,
        };
        let client = storage.open_client()?;
        *storage.lock() = Some(client);
        Ok(storage)
    }

    /// The same storage with trials claimed under leases of `lease` (default one minute).
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
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
        migrate(&mut client).map_err(|e| match e {
            MigrateError::Database(e) => self.fail(e),
            MigrateError::Newer(version) => TuneError::Storage {
                location: self.location.clone(),
                message: format!(
                    "its tables are schema {version}, written by a newer anneal (this one knows up to {}); upgrade anneal",
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

    fn lock(&self) -> MutexGuard<'_, Option<Client>> {
        // A panic while holding the lock leaves no half-done transaction (an open one rolls back
        // when dropped), so a poisoned lock is still usable.
        self.client
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `work` on the connection, connecting again first if it was lost. A call the server
    /// dropped mid-way is tried again: each `work` is one transaction or one statement, so a
    /// dropped one left nothing behind. (A commit whose reply alone was lost would be repeated;
    /// the only change where that matters, a claim, then leaves one trial held by this handle,
    /// which fails as stale once it exits: the study stays consistent.)
    fn run<T>(
        &self,
        mut work: impl FnMut(&mut Client) -> std::result::Result<T, postgres::Error>,
    ) -> Result<T> {
        let mut guard = self.lock();
        let mut attempt = 0;
        loop {
            attempt += 1;
            if guard.as_ref().is_none_or(Client::is_closed) {
                *guard = None;
                *guard = Some(self.reconnect()?);
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

    fn fail(&self, e: postgres::Error) -> TuneError {
        TuneError::Storage {
            location: self.location.clone(),
            message: error_text(&e),
        }
    }

    fn lease_seconds(&self) -> f64 {
        self.lease.as_secs_f64()
    }

    /// A run folder as stored: relative to the artifacts folder where it can be, else absolute.
    fn stored_run_dir(&self, run_dir: &str) -> String {
        let real = canonical(Path::new(run_dir));
        self.artifacts
            .as_deref()
            .and_then(|home| relative_path(&real, home))
            .unwrap_or(real)
            .to_string_lossy()
            .into_owned()
    }

    /// A trial as read, its run folder made absolute against this handle's artifacts folder.
    fn resolved(&self, mut trial: TrialRecord) -> TrialRecord {
        if let (Some(dir), Some(home)) = (trial.run_dir.as_deref(), self.artifacts.as_deref()) {
            if Path::new(dir).is_relative() {
                trial.run_dir = Some(home.join(dir).to_string_lossy().into_owned());
            }
        }
        trial
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

/// `Ok(changed == 1)` as the storage's answer for a change to one trial.
fn one(changed: u64) -> bool {
    changed == 1
}

impl Storage for PostgresStorage {
    fn location(&self) -> String {
        self.location.clone()
    }

    fn owner(&self) -> &str {
        self.owner.as_str()
    }

    fn lease(&self) -> Duration {
        self.lease
    }

    fn create_study(&self, new: &NewStudy) -> Result<StudyRecord> {
        if let Some(existing) = self.study(&new.name)? {
            check_same_study(&existing, new, &self.location)?;
            return Ok(existing);
        }
        let seed = new.seed as i64;
        self.run(|client| {
            client.execute(
                &format!(
                    "INSERT INTO anneal_studies (name, direction, objective, sampler, definition, seed, created)
                     VALUES ($1, $2, $3, $4, $5, $6, {NOW}) ON CONFLICT (name) DO NOTHING"
                ),
                &[
                    &new.name,
                    &new.direction.name(),
                    &new.objective,
                    &new.sampler,
                    &new.definition,
                    &seed,
                ],
            )
        })?;
        // Another worker may have created it in between: check it the same way.
        let created = self
            .study(&new.name)?
            .ok_or_else(|| TuneError::config("study", "the study vanished as it was created"))?;
        check_same_study(&created, new, &self.location)?;
        Ok(created)
    }

    fn study(&self, name: &str) -> Result<Option<StudyRecord>> {
        self.run(|client| {
            client.query_opt(
                &format!("SELECT {STUDY_COLUMNS} FROM anneal_studies WHERE name = $1"),
                &[&name],
            )
        })
        .map(|row| row.as_ref().map(study_row))
    }

    fn studies(&self) -> Result<Vec<StudyRecord>> {
        self.run(|client| {
            client.query(
                &format!("SELECT {STUDY_COLUMNS} FROM anneal_studies ORDER BY id"),
                &[],
            )
        })
        .map(|rows| rows.iter().map(study_row).collect())
    }

    fn delete_study(&self, study: StudyId) -> Result<()> {
        // Trials and their values go with it (ON DELETE CASCADE).
        self.run(|client| client.execute("DELETE FROM anneal_studies WHERE id = $1", &[&study.0]))
            .map(|_| ())
    }

    fn claim_new(
        &self,
        study: StudyId,
        budget: Option<usize>,
        leased: bool,
    ) -> Result<Option<TrialId>> {
        let owner = leased.then(|| self.owner.as_str());
        let lease = leased.then(|| self.lease_seconds());
        self.run(|client| {
            let mut tx = client.transaction()?;
            // The study's row lock serialises claims: one count and one number at a time.
            let exists = tx.query_opt(
                "SELECT id FROM anneal_studies WHERE id = $1 FOR UPDATE",
                &[&study.0],
            )?;
            if exists.is_none() {
                return Ok(None);
            }
            let row = tx.query_one(
                "SELECT COUNT(*), COALESCE(MAX(number) + 1, 0) FROM anneal_trials WHERE study_id = $1",
                &[&study.0],
            )?;
            let (count, next): (i64, i64) = (row.get(0), row.get(1));
            if budget.is_some_and(|budget| count as usize >= budget) {
                return Ok(None);
            }
            tx.execute(
                &format!(
                    "INSERT INTO anneal_trials (study_id, number, state, started, owner, lease_until, segment_started)
                     VALUES ($1, $2, 'running', {NOW}, $3, {NOW} + $4::float8, {NOW})"
                ),
                &[&study.0, &next, &owner, &lease],
            )?;
            tx.commit()?;
            Ok(Some(TrialId {
                study,
                number: next as usize,
            }))
        })
    }

    fn claim_paused(&self, trial: TrialId) -> Result<bool> {
        let number = trial.number as i64;
        self.run(|client| {
            client.execute(
                &format!(
                    "UPDATE anneal_trials SET state = 'running', finished = NULL, message = NULL,
                         owner = $3, lease_until = {NOW} + $4::float8, segment_started = {NOW}
                     WHERE study_id = $1 AND number = $2 AND state = 'paused'"
                ),
                &[
                    &trial.study.0,
                    &number,
                    &self.owner.as_str(),
                    &self.lease_seconds(),
                ],
            )
        })
        .map(one)
    }

    fn heartbeat(&self) -> Result<usize> {
        self.run(|client| {
            client.execute(
                &format!(
                    "UPDATE anneal_trials SET lease_until = {NOW} + $2::float8
                     WHERE owner = $1 AND state = 'running'"
                ),
                &[&self.owner.as_str(), &self.lease_seconds()],
            )
        })
        .map(|n| n as usize)
    }

    fn set_param(
        &self,
        trial: TrialId,
        name: &str,
        value: &Value,
        distribution: &Distribution,
    ) -> Result<()> {
        let number = trial.number as i64;
        let held = self.run(|client| {
            let mut tx = client.transaction()?;
            let Some(row) = tx.query_opt(
                "SELECT params, distributions FROM anneal_trials
                 WHERE study_id = $1 AND number = $2 AND state = 'running'
                     AND (owner IS NULL OR owner = $3)
                 FOR UPDATE",
                &[&trial.study.0, &number, &self.owner.as_str()],
            )?
            else {
                return Ok(false);
            };
            let mut params = parse_params(row.get(0));
            let mut distributions = parse_distributions(row.get(1));
            upsert(&mut params, name, value.clone());
            upsert(&mut distributions, name, distribution.clone());
            tx.execute(
                "UPDATE anneal_trials SET params = $3, distributions = $4
                 WHERE study_id = $1 AND number = $2",
                &[
                    &trial.study.0,
                    &number,
                    &params_json(&params),
                    &distributions_json(&distributions),
                ],
            )?;
            tx.commit()?;
            Ok(true)
        })?;
        if held { Ok(()) } else { Err(lease_lost(trial)) }
    }

    fn set_run_dir(&self, trial: TrialId, run_dir: Option<&str>) -> Result<()> {
        let run_dir = run_dir.map(|dir| self.stored_run_dir(dir));
        let number = trial.number as i64;
        let changed = self.run(|client| {
            client.execute(
                "UPDATE anneal_trials SET run_dir = $3
                 WHERE study_id = $1 AND number = $2 AND state = 'running'
                     AND (owner IS NULL OR owner = $4)",
                &[&trial.study.0, &number, &run_dir, &self.owner.as_str()],
            )
        })?;
        if one(changed) {
            Ok(())
        } else {
            Err(lease_lost(trial))
        }
    }

    fn report(&self, trial: TrialId, step: usize, value: f64) -> Result<()> {
        let (number, step) = (trial.number as i64, step as i64);
        let held = self.run(|client| {
            let mut tx = client.transaction()?;
            // The trial's row lock: no stale-failing in between the check and the write.
            let held = tx.query_opt(
                "SELECT 1 FROM anneal_trials
                 WHERE study_id = $1 AND number = $2 AND state = 'running'
                     AND (owner IS NULL OR owner = $3)
                 FOR UPDATE",
                &[&trial.study.0, &number, &self.owner.as_str()],
            )?;
            if held.is_none() {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO anneal_values (study_id, number, step, value) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (study_id, number, step) DO UPDATE SET value = EXCLUDED.value",
                &[&trial.study.0, &number, &step, &value],
            )?;
            tx.commit()?;
            Ok(true)
        })?;
        if held { Ok(()) } else { Err(lease_lost(trial)) }
    }

    fn finish(
        &self,
        trial: TrialId,
        state: TrialState,
        value: Option<f64>,
        message: Option<&str>,
    ) -> Result<()> {
        let number = trial.number as i64;
        let changed = self.run(|client| {
            client.execute(
                &format!(
                    "UPDATE anneal_trials SET state = $3, value = $4, message = $5, finished = {NOW},
                         owner = NULL, lease_until = NULL,
                         busy = busy + GREATEST(0, {NOW} - COALESCE(segment_started, {NOW})),
                         segment_started = NULL
                     WHERE study_id = $1 AND number = $2 AND state = 'running'
                         AND (owner IS NULL OR owner = $6)"
                ),
                &[
                    &trial.study.0,
                    &number,
                    &state.as_str(),
                    &value,
                    &message,
                    &self.owner.as_str(),
                ],
            )
        })?;
        if one(changed) {
            Ok(())
        } else {
            Err(lease_lost(trial))
        }
    }

    fn release(&self, trial: TrialId) -> Result<()> {
        let number = trial.number as i64;
        // Its values go with it (ON DELETE CASCADE).
        self.run(|client| {
            client.execute(
                "DELETE FROM anneal_trials WHERE study_id = $1 AND number = $2
                     AND state = 'running' AND (owner IS NULL OR owner = $3)",
                &[&trial.study.0, &number, &self.owner.as_str()],
            )
        })
        .map(|_| ())
    }

    fn stale(&self, study: StudyId) -> Result<Vec<TrialRecord>> {
        let rows = self.run(|client| {
            client.query(
                &format!(
                    "SELECT {TRIAL_COLUMNS}, (lease_until IS NULL OR lease_until < {NOW}) AS expired
                     FROM anneal_trials
                     WHERE study_id = $1 AND state = 'running' AND owner IS NOT NULL
                     ORDER BY number"
                ),
                &[&study.0],
            )
        })?;
        let mut stale = Vec::new();
        for row in &rows {
            let trial = trial_row(row);
            let expired: bool = row.get("expired");
            let owner = trial.owner.as_deref().unwrap_or_default();
            if owner != self.owner.as_str() && (expired || owner_is_gone(owner)) {
                let id = TrialId {
                    study,
                    number: trial.number,
                };
                stale.push(self.trial(id)?.unwrap_or(trial));
            }
        }
        Ok(stale)
    }

    fn fail_stale(&self, trial: TrialId, owner: &str, message: &str) -> Result<bool> {
        // Still stale when written: a heartbeat that renewed the lease meanwhile wins.
        let gone = owner_is_gone(owner);
        let number = trial.number as i64;
        self.run(|client| {
            client.execute(
                &format!(
                    "UPDATE anneal_trials SET state = 'failed', finished = {NOW}, message = $3,
                         owner = NULL, lease_until = NULL
                     WHERE study_id = $1 AND number = $2 AND state = 'running' AND owner = $4
                         AND ($5 OR lease_until IS NULL OR lease_until < {NOW})"
                ),
                &[&trial.study.0, &number, &message, &owner, &gone],
            )
        })
        .map(one)
    }

    fn revert_to_paused(
        &self,
        trial: TrialId,
        owner: &str,
        step: usize,
        value: f64,
    ) -> Result<bool> {
        let gone = owner_is_gone(owner);
        let (number, step_number) = (trial.number as i64, step as i64);
        let message = format!("paused after step {step}");
        self.run(|client| {
            let mut tx = client.transaction()?;
            let changed = tx.execute(
                &format!(
                    "UPDATE anneal_trials SET state = 'paused', value = $3, message = $4,
                         finished = {NOW}, owner = NULL, lease_until = NULL,
                         busy = busy + GREATEST(0, {NOW} - COALESCE(segment_started, {NOW})),
                         segment_started = NULL
                     WHERE study_id = $1 AND number = $2 AND state = 'running' AND owner = $5
                         AND ($6 OR lease_until IS NULL OR lease_until < {NOW})"
                ),
                &[&trial.study.0, &number, &value, &message, &owner, &gone],
            )?;
            if one(changed) {
                tx.execute(
                    "DELETE FROM anneal_values WHERE study_id = $1 AND number = $2 AND step > $3",
                    &[&trial.study.0, &number, &step_number],
                )?;
            }
            tx.commit()?;
            Ok(one(changed))
        })
    }

    fn mark_retried(&self, failed: TrialId, retry: usize) -> Result<bool> {
        let number = failed.number as i64;
        let mark = format!("{}{retry}", super::RETRIED_AS);
        self.run(|client| {
            client.execute(
                "UPDATE anneal_trials SET message = COALESCE(message, '') || $3
                 WHERE study_id = $1 AND number = $2 AND state = 'failed'
                     AND strpos(COALESCE(message, ''), $4) = 0",
                &[&failed.study.0, &number, &mark, &super::RETRIED_AS],
            )
        })
        .map(one)
    }

    fn trials(&self, study: StudyId) -> Result<Vec<TrialRecord>> {
        self.trials_except(study, &[])
    }

    fn trials_except(&self, study: StudyId, known: &[usize]) -> Result<Vec<TrialRecord>> {
        let known: Vec<i64> = known.iter().map(|&n| n as i64).collect();
        let trials = self.run(|client| {
            // One snapshot: the trials and their values as of one moment.
            let mut tx = client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()?;
            let mut trials: Vec<TrialRecord> = tx
                .query(
                    &format!(
                        "SELECT {TRIAL_COLUMNS} FROM anneal_trials WHERE study_id = $1
                         AND NOT (state IN ('complete', 'pruned', 'failed') AND number = ANY($2))
                         ORDER BY number"
                    ),
                    &[&study.0, &known],
                )?
                .iter()
                .map(trial_row)
                .collect();
            for row in tx.query(
                "SELECT v.number, v.step, v.value FROM anneal_values v
                 JOIN anneal_trials t ON t.study_id = v.study_id AND t.number = v.number
                 WHERE v.study_id = $1
                     AND NOT (t.state IN ('complete', 'pruned', 'failed') AND v.number = ANY($2))
                 ORDER BY v.number, v.step",
                &[&study.0, &known],
            )? {
                let number = row.get::<_, i64>(0) as usize;
                let step = row.get::<_, i64>(1) as usize;
                let value: Option<f64> = row.get(2);
                if let Ok(i) = trials.binary_search_by_key(&number, |t| t.number) {
                    trials[i]
                        .intermediate
                        .push((step, value.unwrap_or(f64::NAN)));
                }
            }
            tx.commit()?;
            Ok(trials)
        })?;
        Ok(trials.into_iter().map(|t| self.resolved(t)).collect())
    }

    fn trial(&self, trial: TrialId) -> Result<Option<TrialRecord>> {
        let number = trial.number as i64;
        let record = self.run(|client| {
            let mut tx = client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()?;
            let Some(row) = tx.query_opt(
                &format!(
                    "SELECT {TRIAL_COLUMNS} FROM anneal_trials WHERE study_id = $1 AND number = $2"
                ),
                &[&trial.study.0, &number],
            )?
            else {
                return Ok(None);
            };
            let mut record = trial_row(&row);
            record.intermediate = tx
                .query(
                    "SELECT step, value FROM anneal_values WHERE study_id = $1 AND number = $2
                     ORDER BY step",
                    &[&trial.study.0, &number],
                )?
                .iter()
                .map(|row| {
                    (
                        row.get::<_, i64>(0) as usize,
                        row.get::<_, Option<f64>>(1).unwrap_or(f64::NAN),
                    )
                })
                .collect();
            tx.commit()?;
            Ok(Some(record))
        })?;
        Ok(record.map(|t| self.resolved(t)))
    }

    fn values_at(&self, study: StudyId, step: usize) -> Result<Vec<StepValue>> {
        let step = step as i64;
        let rows = self.run(|client| {
            client.query(
                "SELECT v.number, t.state, v.value FROM anneal_values v
                 JOIN anneal_trials t ON t.study_id = v.study_id AND t.number = v.number
                 WHERE v.study_id = $1 AND v.step = $2 ORDER BY v.number",
                &[&study.0, &step],
            )
        })?;
        Ok(rows
            .iter()
            .map(|row| StepValue {
                number: row.get::<_, i64>(0) as usize,
                state: TrialState::parse(row.get(1)).unwrap_or(TrialState::Failed),
                value: row.get::<_, Option<f64>>(2).unwrap_or(f64::NAN),
            })
            .collect())
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
