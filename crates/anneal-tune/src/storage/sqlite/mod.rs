//! Studies in a SQLite file: WAL mode so readers never block the writer, a busy timeout so
//! processes wait for each other's short transactions instead of failing, and one table row per
//! reported value, so a report is an insert and a pruner's read of one step is an index lookup.
//! Synchronous = NORMAL: in WAL mode a committed change survives any process kill (only a
//! power loss can drop the last commits), which is the durability a study needs.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::owner::{DEFAULT_LEASE, Owner, owner_is_gone, stale_among};
use super::{
    ChosenParam, NewStudy, StepValue, Storage, StudyId, StudyRecord, TrialEnd, TrialId,
    TrialRecord, TrialState, check_same_study, held_or_lost,
};
use crate::error::{Result, TuneError};

/// The schema this code writes; older files (schema 0 kept intermediate values as JSON, schema
/// 2 had no leases, schema 4 no typed causes) are upgraded in place.
const SCHEMA_VERSION: i64 = 5;

mod open;
mod schema;

use super::encoding::{
    cause_json, distributions_json, params_json, parse_distributions, parse_params, upsert,
};
use super::paths::{canonical, relative_path, resolve_run_dir};

use schema::{STUDY_COLUMNS, TRIAL_COLUMNS, study_row, trial_row};

/// A study database file.
pub struct SqliteStorage {
    connection: Mutex<Connection>,
    path: PathBuf,
    owner: Owner,
    lease: std::time::Duration,
    /// Opened only to read: every change is refused before it reaches the file.
    read_only: bool,
    /// What leases and trial times are measured by.
    clock: std::sync::Arc<dyn super::Clock>,
}

impl std::fmt::Debug for SqliteStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStorage")
            .field("path", &self.path)
            .field("owner", &self.owner)
            .finish()
    }
}

impl SqliteStorage {
    /// The same storage with trials claimed under leases of `lease` (default one minute).
    pub fn with_lease(mut self, lease: std::time::Duration) -> Self {
        self.lease = lease;
        self
    }

    /// The same storage measuring leases and trial times by `clock` (the system's by default);
    /// every handle on one file must share one clock.
    pub fn with_clock(mut self, clock: std::sync::Arc<dyn super::Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The folder holding the database, which stored run folders are relative to.
    fn home(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("/"))
    }

    /// A run folder as stored: relative to the database's folder where it can be (so a study
    /// moved with its runs still finds them), else as given.
    fn relative(&self, run_dir: &str) -> String {
        relative_path(&canonical(Path::new(run_dir)), self.home())
            .map_or_else(|| run_dir.to_string(), |p| p.to_string_lossy().into_owned())
    }

    /// A trial as read, its run folder made absolute again.
    fn resolved(&self, trial: TrialRecord) -> TrialRecord {
        resolve_run_dir(trial, self.home())
    }

    /// When a lease taken now ends.
    fn lease_end(&self) -> f64 {
        self.clock.now() + self.lease.as_secs_f64()
    }

    /// `Ok` when this handle may change running trial `trial` (it holds it, or nobody does);
    /// [`crate::TuneError::LeaseLost`] when the trial is not running or another holds it.
    fn held(tx: &rusqlite::Transaction, trial: TrialId, owner: &str) -> rusqlite::Result<bool> {
        tx.prepare(
            "SELECT 1 FROM trials WHERE study_id = ?1 AND number = ?2 AND state = 'running'
             AND (owner IS NULL OR owner = ?3)",
        )?
        .exists(params![trial.study.0, trial.number as i64, owner])
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves no half-done transaction (rusqlite rolls back on
        // drop), so a poisoned lock is still usable.
        self.connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn fail(&self, e: rusqlite::Error) -> TuneError {
        storage_error(&self.path, e)
    }

    /// `Ok` unless this handle only reads.
    fn writable(&self) -> Result<()> {
        match self.read_only {
            true => Err(TuneError::ReadOnly {
                location: self.location(),
            }),
            false => Ok(()),
        }
    }

    /// Runs `work` in an immediate (write-locking) transaction.
    fn write<T>(
        &self,
        work: impl FnOnce(&rusqlite::Transaction) -> rusqlite::Result<T>,
    ) -> Result<T> {
        self.writable()?;
        let mut connection = self.lock();
        let tx = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.fail(e))?;
        let out = work(&tx).map_err(|e| self.fail(e))?;
        tx.commit().map_err(|e| self.fail(e))?;
        Ok(out)
    }

    fn execute(&self, sql: &str, params: impl rusqlite::Params) -> Result<usize> {
        self.writable()?;
        self.lock().execute(sql, params).map_err(|e| self.fail(e))
    }
}

impl Storage for SqliteStorage {
    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn owner(&self) -> &str {
        self.owner.as_str()
    }

    fn lease(&self) -> std::time::Duration {
        self.lease
    }

    fn create_study(&self, new: &NewStudy) -> Result<StudyRecord> {
        if let Some(existing) = self.study(&new.name)? {
            check_same_study(&existing, new, &self.location())?;
            return Ok(existing);
        }
        self.execute(
            "INSERT OR IGNORE INTO studies (name, direction, objective, sampler, sweep, seed, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![new.name, new.direction.name(), new.objective, new.sampler, new.definition, new.seed as i64, self.clock.now()],
        )?;
        // Another process may have created it in between: check it the same way.
        let created = self
            .study(&new.name)?
            .ok_or_else(|| TuneError::config("study", "the study vanished as it was created"))?;
        check_same_study(&created, new, &self.location())?;
        Ok(created)
    }

    fn study(&self, name: &str) -> Result<Option<StudyRecord>> {
        self.lock()
            .query_row(
                &format!("SELECT {STUDY_COLUMNS} FROM studies WHERE name = ?1"),
                params![name],
                study_row,
            )
            .optional()
            .map_err(|e| self.fail(e))
    }

    fn studies(&self) -> Result<Vec<StudyRecord>> {
        let connection = self.lock();
        let mut statement = connection
            .prepare(&format!("SELECT {STUDY_COLUMNS} FROM studies ORDER BY id"))
            .map_err(|e| self.fail(e))?;
        let rows = statement
            .query_map([], study_row)
            .map_err(|e| self.fail(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.fail(e))
    }

    fn delete_study(&self, study: StudyId) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM intermediate_values WHERE study_id = ?1",
                params![study.0],
            )?;
            tx.execute("DELETE FROM trials WHERE study_id = ?1", params![study.0])?;
            tx.execute("DELETE FROM studies WHERE id = ?1", params![study.0])?;
            Ok(())
        })
    }

    fn claim_new(
        &self,
        study: StudyId,
        budget: Option<usize>,
        leased: bool,
    ) -> Result<Option<TrialId>> {
        let (owner, lease_until) = match leased {
            true => (Some(self.owner.as_str()), Some(self.lease_end())),
            false => (None, None),
        };
        self.write(|tx| {
            let (count, next): (i64, i64) = tx.query_row(
                "SELECT COUNT(*) FILTER (WHERE state != 'interrupted'), COALESCE(MAX(number) + 1, 0)
                 FROM trials WHERE study_id = ?1",
                params![study.0],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )?;
            if budget.is_some_and(|budget| count as usize >= budget) {
                return Ok(None);
            }
            tx.execute(
                // `seed` only for files of schema 0, where it has no default.
                "INSERT INTO trials (study_id, number, state, params, seed, started, owner, lease_until,
                     segment_started)
                 VALUES (?1, ?2, 'running', '[]', 0, ?3, ?4, ?5, ?3)",
                params![study.0, next, self.clock.now(), owner, lease_until],
            )?;
            Ok(Some(TrialId {
                study,
                number: next as usize,
            }))
        })
    }

    fn claim_paused(&self, trial: TrialId) -> Result<bool> {
        self.execute(
            "UPDATE trials SET state = 'running', finished = NULL, error = NULL, cause = NULL,
                 owner = ?3,
                 lease_until = ?4, segment_started = ?5
             WHERE study_id = ?1 AND number = ?2 AND state = 'paused'",
            params![
                trial.study.0,
                trial.number as i64,
                self.owner.as_str(),
                self.lease_end(),
                self.clock.now()
            ],
        )
        .map(|changed| changed == 1)
    }

    fn heartbeat(&self) -> Result<usize> {
        self.execute(
            "UPDATE trials SET lease_until = ?2 WHERE owner = ?1 AND state = 'running'",
            params![self.owner.as_str(), self.lease_end()],
        )
    }

    fn set_params(&self, trial: TrialId, chosen: &[ChosenParam]) -> Result<()> {
        let owner = self.owner.as_str().to_string();
        let held = self.write(|tx| {
            if !Self::held(tx, trial, &owner)? {
                return Ok(false);
            }
            let (params, distributions): (String, String) = tx.query_row(
                "SELECT params, distributions FROM trials WHERE study_id = ?1 AND number = ?2",
                params![trial.study.0, trial.number as i64],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )?;
            let mut params = parse_params(&params);
            let mut distributions = parse_distributions(&distributions);
            for c in chosen {
                upsert(&mut params, &c.name, c.value.clone());
                upsert(&mut distributions, &c.name, c.distribution.clone());
            }
            tx.execute(
                "UPDATE trials SET params = ?3, distributions = ?4 WHERE study_id = ?1 AND number = ?2 AND state = 'running'",
                params![
                    trial.study.0,
                    trial.number as i64,
                    params_json(&params),
                    distributions_json(&distributions)
                ],
            )?;
            Ok(true)
        })?;
        held_or_lost(held, trial)
    }

    fn set_run_dir(&self, trial: TrialId, run_dir: Option<&str>) -> Result<()> {
        let run_dir = run_dir.map(|dir| self.relative(dir));
        let changed = self.execute(
            "UPDATE trials SET run_dir = ?3 WHERE study_id = ?1 AND number = ?2
             AND state = 'running' AND (owner IS NULL OR owner = ?4)",
            params![
                trial.study.0,
                trial.number as i64,
                run_dir,
                self.owner.as_str()
            ],
        )?;
        held_or_lost(changed == 1, trial)
    }

    fn report(&self, trial: TrialId, step: usize, value: f64) -> Result<()> {
        let owner = self.owner.as_str().to_string();
        let held = self.write(|tx| {
            if !Self::held(tx, trial, &owner)? {
                return Ok(false);
            }
            tx.execute(
                "INSERT OR REPLACE INTO intermediate_values (study_id, number, step, value) VALUES (?1, ?2, ?3, ?4)",
                params![trial.study.0, trial.number as i64, step as i64, value],
            )?;
            Ok(true)
        })?;
        held_or_lost(held, trial)
    }

    fn finish(&self, trial: TrialId, end: &TrialEnd) -> Result<()> {
        let changed = self.execute(
            "UPDATE trials SET state = ?3, value = ?4, error = ?5, cause = ?6, finished = ?7,
                 owner = NULL, lease_until = NULL,
                 busy = busy + MAX(0, ?7 - COALESCE(segment_started, ?7)), segment_started = NULL
             WHERE study_id = ?1 AND number = ?2 AND state = 'running'
                 AND (owner IS NULL OR owner = ?8)",
            params![
                trial.study.0,
                trial.number as i64,
                end.state.as_str(),
                end.value,
                end.message,
                cause_json(end.cause),
                self.clock.now(),
                self.owner.as_str()
            ],
        )?;
        held_or_lost(changed == 1, trial)
    }

    fn revert_to_paused(
        &self,
        trial: TrialId,
        owner: &str,
        step: usize,
        value: f64,
    ) -> Result<bool> {
        let gone = owner_is_gone(owner);
        let end = TrialEnd::paused(value, step);
        self.write(|tx| {
            let changed = tx.execute(
                "UPDATE trials SET state = 'paused', value = ?3, error = ?4, cause = ?8,
                     finished = ?5, owner = NULL, lease_until = NULL, segment_started = NULL,
                     busy = busy + MAX(0, ?5 - COALESCE(segment_started, ?5))
                 WHERE study_id = ?1 AND number = ?2 AND state = 'running' AND owner = ?6
                     AND (?7 OR lease_until IS NULL OR lease_until < ?5)",
                params![
                    trial.study.0,
                    trial.number as i64,
                    end.value,
                    end.message,
                    self.clock.now(),
                    owner,
                    gone,
                    cause_json(end.cause)
                ],
            )?;
            if changed == 1 {
                tx.execute(
                    "DELETE FROM intermediate_values WHERE study_id = ?1 AND number = ?2 AND step > ?3",
                    params![trial.study.0, trial.number as i64, step as i64],
                )?;
            }
            Ok(changed == 1)
        })
    }

    fn release(&self, trial: TrialId) -> Result<()> {
        let owner = self.owner.as_str().to_string();
        self.write(|tx| {
            let changed = tx.execute(
                "DELETE FROM trials WHERE study_id = ?1 AND number = ?2 AND state = 'running'
                 AND (owner IS NULL OR owner = ?3)",
                params![trial.study.0, trial.number as i64, owner],
            )?;
            if changed == 1 {
                tx.execute(
                    "DELETE FROM intermediate_values WHERE study_id = ?1 AND number = ?2",
                    params![trial.study.0, trial.number as i64],
                )?;
            }
            Ok(())
        })
    }

    fn stale(&self, study: StudyId) -> Result<Vec<TrialRecord>> {
        let connection = self.lock();
        let read = || -> rusqlite::Result<Vec<(TrialRecord, Option<f64>)>> {
            connection
                .prepare(&format!(
                    "SELECT {TRIAL_COLUMNS} FROM trials
                     WHERE study_id = ?1 AND state = 'running' AND owner IS NOT NULL
                     ORDER BY number"
                ))?
                .query_map(params![study.0], |row| Ok((trial_row(row)?, row.get(10)?)))?
                .collect()
        };
        let running = read().map_err(|e| self.fail(e))?;
        drop(connection);
        let time = self.clock.now();
        let running = running
            .into_iter()
            .map(|(trial, lease_until): (_, Option<f64>)| {
                (trial, lease_until.is_none_or(|until| until < time))
            });
        stale_among(self, study, running)
    }

    fn fail_stale(&self, trial: TrialId, owner: &str, end: &TrialEnd) -> Result<bool> {
        // Still stale when written: a heartbeat that renewed the lease meanwhile wins.
        let gone = owner_is_gone(owner);
        self.execute(
            "UPDATE trials SET state = ?7, finished = ?3, error = ?4, cause = ?8, owner = NULL,
                 lease_until = NULL
             WHERE study_id = ?1 AND number = ?2 AND state = 'running' AND owner = ?5
                 AND (?6 OR lease_until IS NULL OR lease_until < ?3)",
            params![
                trial.study.0,
                trial.number as i64,
                self.clock.now(),
                end.message,
                owner,
                gone,
                end.state.as_str(),
                cause_json(end.cause)
            ],
        )
        .map(|changed| changed == 1)
    }

    fn mark_retried(&self, failed: TrialId, retry: usize) -> Result<bool> {
        self.execute(
            "UPDATE trials SET retried_as = ?3
             WHERE study_id = ?1 AND number = ?2 AND state = 'failed' AND retried_as IS NULL",
            params![failed.study.0, failed.number as i64, retry as i64],
        )
        .map(|changed| changed == 1)
    }

    fn trials(&self, study: StudyId) -> Result<Vec<TrialRecord>> {
        self.trials_except(study, &[])
    }

    fn trials_except(&self, study: StudyId, known: &[usize]) -> Result<Vec<TrialRecord>> {
        let known = serde_json::to_string(known).expect("numbers serialise");
        let mut guard = self.lock();
        // One read transaction: the trials and their values as of one moment. Known trials
        // are left out only if finished (the caller keeps those; the others may have moved).
        let connection = guard.transaction().map_err(|e| self.fail(e))?;
        let read = || -> rusqlite::Result<Vec<TrialRecord>> {
            let mut trials: Vec<TrialRecord> = connection
                .prepare(&format!(
                    "SELECT {TRIAL_COLUMNS} FROM trials WHERE study_id = ?1
                     AND NOT (state IN ('complete', 'pruned', 'failed', 'interrupted')
                              AND number IN (SELECT value FROM json_each(?2)))
                     ORDER BY number"
                ))?
                .query_map(params![study.0, known], trial_row)?
                .collect::<rusqlite::Result<_>>()?;
            let mut statement = connection.prepare(
                "SELECT v.number, v.step, v.value FROM intermediate_values v
                 JOIN trials t ON t.study_id = v.study_id AND t.number = v.number
                 WHERE v.study_id = ?1
                     AND NOT (t.state IN ('complete', 'pruned', 'failed', 'interrupted')
                              AND v.number IN (SELECT value FROM json_each(?2)))
                 ORDER BY v.number, v.step",
            )?;
            let mut rows = statement.query(params![study.0, known])?;
            while let Some(row) = rows.next()? {
                let number = row.get::<_, i64>(0)? as usize;
                let step = row.get::<_, i64>(1)? as usize;
                let value: Option<f64> = row.get(2)?;
                if let Ok(i) = trials.binary_search_by_key(&number, |t| t.number) {
                    trials[i]
                        .intermediate
                        .push((step, value.unwrap_or(f64::NAN)));
                }
            }
            Ok(trials)
        };
        read()
            .map(|trials| trials.into_iter().map(|t| self.resolved(t)).collect())
            .map_err(|e| self.fail(e))
    }

    fn trial(&self, trial: TrialId) -> Result<Option<TrialRecord>> {
        let connection = self.lock();
        let read = || -> rusqlite::Result<Option<TrialRecord>> {
            let Some(mut record) = connection
                .query_row(
                    &format!(
                        "SELECT {TRIAL_COLUMNS} FROM trials WHERE study_id = ?1 AND number = ?2"
                    ),
                    params![trial.study.0, trial.number as i64],
                    trial_row,
                )
                .optional()?
            else {
                return Ok(None);
            };
            record.intermediate = connection
                .prepare(
                    "SELECT step, value FROM intermediate_values WHERE study_id = ?1 AND number = ?2 ORDER BY step",
                )?
                .query_map(params![trial.study.0, trial.number as i64], |row| {
                    Ok((
                        row.get::<_, i64>(0)? as usize,
                        row.get::<_, Option<f64>>(1)?.unwrap_or(f64::NAN),
                    ))
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(Some(record))
        };
        read()
            .map(|trial| trial.map(|t| self.resolved(t)))
            .map_err(|e| self.fail(e))
    }

    fn values_at(&self, study: StudyId, step: usize) -> Result<Vec<StepValue>> {
        let connection = self.lock();
        let read = || -> rusqlite::Result<Vec<StepValue>> {
            connection
                .prepare(
                    "SELECT v.number, t.state, v.value FROM intermediate_values v
                     JOIN trials t ON t.study_id = v.study_id AND t.number = v.number
                     WHERE v.study_id = ?1 AND v.step = ?2 ORDER BY v.number",
                )?
                .query_map(params![study.0, step as i64], |row| {
                    Ok(StepValue {
                        number: row.get::<_, i64>(0)? as usize,
                        state: TrialState::parse(&row.get::<_, String>(1)?)
                            .unwrap_or(TrialState::Failed),
                        value: row.get::<_, Option<f64>>(2)?.unwrap_or(f64::NAN),
                    })
                })?
                .collect()
        };
        read().map_err(|e| self.fail(e))
    }
}

fn storage_error(path: &Path, e: rusqlite::Error) -> TuneError {
    TuneError::Storage {
        location: path.display().to_string(),
        message: e.to_string(),
    }
}
