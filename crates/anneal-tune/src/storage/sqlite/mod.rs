//! Studies in a SQLite file: WAL mode so readers never block the writer, a busy timeout so
//! processes wait for each other's short transactions instead of failing, and one table row per
//! reported value, so a report is an insert and a pruner's read of one step is an index lookup.
//! Synchronous = NORMAL: in WAL mode a committed change survives any process kill (only a
//! power loss can drop the last commits), which is the durability a study needs.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{
    Change, Condition, Lease, LeaseState, NewStudy, Standing, StepValue, Storage, StudyId,
    StudyRecord, TrialId, TrialRecord, TrialState,
};
use crate::error::{Result, TuneError};

/// The schema this code writes; older files (schema 0 kept intermediate values as JSON, schema
/// 2 had no leases, schema 4 no typed causes, schema 5 one objective and no constraints) are
/// upgraded in place.
const SCHEMA_VERSION: i64 = 6;

mod open;
mod schema;

use super::encoding::{
    cause_json, directions_json, distributions_json, numbers_json, params_json,
    parse_distributions, parse_params, upsert,
};
use super::paths::{canonical, relative_path, resolve_run_dir};

use schema::{STUDY_COLUMNS, TRIAL_COLUMNS, study_row, trial_row};

/// A study database file.
pub struct SqliteStorage {
    connection: Mutex<Connection>,
    path: PathBuf,
    /// Opened only to read: every change is refused before it reaches the file.
    read_only: bool,
    /// What leases and trial times are measured by.
    clock: std::sync::Arc<dyn super::Clock>,
}

impl std::fmt::Debug for SqliteStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStorage")
            .field("path", &self.path)
            .finish()
    }
}

impl SqliteStorage {
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

    /// When `lease` taken now ends.
    fn lease_end(&self, lease: Lease) -> f64 {
        self.clock.now() + lease.length.as_secs_f64()
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

    fn add_study(&self, new: &NewStudy) -> Result<()> {
        self.execute(
            "INSERT OR IGNORE INTO studies (name, direction, objective, sampler, sweep, seed, created, directions) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![new.name, new.direction.name(), new.objective, new.sampler, new.definition, new.seed as i64, self.clock.now(), directions_json(&new.all_directions())],
        )
        .map(drop)
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
        lease: Option<Lease<'_>>,
    ) -> Result<Option<TrialId>> {
        let owner = lease.map(|lease| lease.owner);
        let lease_until = lease.map(|lease| self.lease_end(lease));
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

    fn update(&self, trial: TrialId, when: Condition<'_>, change: Change<'_>) -> Result<bool> {
        let now = self.clock.now();
        let stored = Stored {
            run_dir: match change {
                Change::RunDir(run_dir) => run_dir.map(|dir| self.relative(dir)),
                _ => None,
            },
            lease_until: match change {
                Change::Resume(lease) => Some(self.lease_end(lease)),
                _ => None,
            },
            now,
        };
        // The check and the change in one write transaction: no other writer comes between.
        self.write(|tx| {
            let standing = tx
                .query_row(
                    "SELECT state, owner, lease_until, retried_as IS NOT NULL FROM trials
                     WHERE study_id = ?1 AND number = ?2",
                    params![trial.study.0, trial.number as i64],
                    |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, Option<String>>(1)?,
                            row.get::<_, Option<f64>>(2)?,
                            row.get::<_, bool>(3)?,
                        ))
                    },
                )
                .optional()?;
            let Some((state, owner, lease_until, retried)) = standing else {
                return Ok(false);
            };
            let standing = Standing {
                state: TrialState::parse(&state).unwrap_or(TrialState::Failed),
                owner: owner.as_deref(),
                lease_until,
                retried,
            };
            if !when.holds(&standing, now) {
                return Ok(false);
            }
            apply(tx, trial, change, &stored)?;
            Ok(true)
        })
    }

    fn renew(&self, lease: Lease<'_>) -> Result<usize> {
        self.execute(
            "UPDATE trials SET lease_until = ?2 WHERE owner = ?1 AND state = 'running'",
            params![lease.owner, self.lease_end(lease)],
        )
    }

    fn leases(&self, study: StudyId) -> Result<Vec<LeaseState>> {
        let now = self.clock.now();
        let connection = self.lock();
        let read = || -> rusqlite::Result<Vec<LeaseState>> {
            connection
                .prepare(
                    "SELECT number, owner, lease_until IS NULL OR lease_until < ?2 FROM trials
                     WHERE study_id = ?1 AND state = 'running' AND owner IS NOT NULL
                     ORDER BY number",
                )?
                .query_map(params![study.0, now], |row| {
                    Ok(LeaseState {
                        number: row.get::<_, i64>(0)? as usize,
                        owner: row.get(1)?,
                        expired: row.get(2)?,
                    })
                })?
                .collect()
        };
        read().map_err(|e| self.fail(e))
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

/// What a change writes besides its own fields: the time, a folder as stored (relative to the
/// database's folder), and when a resumed trial's lease ends.
struct Stored {
    run_dir: Option<String>,
    lease_until: Option<f64>,
    now: f64,
}

/// Makes `change` to `trial`, whose condition held.
fn apply(
    tx: &rusqlite::Transaction,
    trial: TrialId,
    change: Change,
    stored: &Stored,
) -> rusqlite::Result<()> {
    let (study, number) = (trial.study.0, trial.number as i64);
    match change {
        Change::Params(chosen) => {
            let (params, distributions): (String, String) = tx.query_row(
                "SELECT params, distributions FROM trials WHERE study_id = ?1 AND number = ?2",
                params![study, number],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )?;
            let mut params = parse_params(&params);
            let mut distributions = parse_distributions(&distributions);
            for c in chosen {
                upsert(&mut params, &c.name, c.value.clone());
                upsert(&mut distributions, &c.name, c.distribution.clone());
            }
            tx.execute(
                "UPDATE trials SET params = ?3, distributions = ?4 WHERE study_id = ?1 AND number = ?2",
                params![
                    study,
                    number,
                    params_json(&params),
                    distributions_json(&distributions)
                ],
            )?;
        }
        Change::RunDir(_) => {
            tx.execute(
                "UPDATE trials SET run_dir = ?3 WHERE study_id = ?1 AND number = ?2",
                params![study, number, stored.run_dir],
            )?;
        }
        Change::Report { step, value } => {
            tx.execute(
                "INSERT OR REPLACE INTO intermediate_values (study_id, number, step, value) VALUES (?1, ?2, ?3, ?4)",
                params![study, number, step as i64, value],
            )?;
        }
        Change::End(end) => {
            tx.execute(
                "UPDATE trials SET state = ?3, value = ?4, error = ?5, cause = ?6, finished = ?7,
                     owner = NULL, lease_until = NULL, vals = ?8,
                     busy = busy + MAX(0, ?7 - COALESCE(segment_started, ?7)), segment_started = NULL
                 WHERE study_id = ?1 AND number = ?2",
                params![
                    study,
                    number,
                    end.state.as_str(),
                    end.value,
                    end.message,
                    cause_json(end.cause),
                    stored.now,
                    numbers_json(&end.values)
                ],
            )?;
            if let Some(step) = change.keeps_values_through() {
                tx.execute(
                    "DELETE FROM intermediate_values WHERE study_id = ?1 AND number = ?2 AND step > ?3",
                    params![study, number, step as i64],
                )?;
            }
        }
        Change::Resume(lease) => {
            tx.execute(
                "UPDATE trials SET state = 'running', finished = NULL, error = NULL, cause = NULL,
                     owner = ?3, lease_until = ?4, segment_started = ?5
                 WHERE study_id = ?1 AND number = ?2",
                params![study, number, lease.owner, stored.lease_until, stored.now],
            )?;
        }
        Change::Constraints(constraints) => {
            tx.execute(
                "UPDATE trials SET constraints = ?3 WHERE study_id = ?1 AND number = ?2",
                params![study, number, numbers_json(constraints)],
            )?;
        }
        Change::RetriedAs(retry) => {
            tx.execute(
                "UPDATE trials SET retried_as = ?3 WHERE study_id = ?1 AND number = ?2",
                params![study, number, retry as i64],
            )?;
        }
        Change::Remove => {
            tx.execute(
                "DELETE FROM intermediate_values WHERE study_id = ?1 AND number = ?2",
                params![study, number],
            )?;
            tx.execute(
                "DELETE FROM trials WHERE study_id = ?1 AND number = ?2",
                params![study, number],
            )?;
        }
    }
    Ok(())
}

fn storage_error(path: &Path, e: rusqlite::Error) -> TuneError {
    TuneError::Storage {
        location: path.display().to_string(),
        message: e.to_string(),
    }
}
