//! Durable studies in SQLite: every trial is written when it starts, after every epoch and when
//! it ends, each in its own transaction, so a killed sweep loses at most the running trial's
//! unfinished epoch. WAL mode and a busy timeout let several processes share one file.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TuneError};
use crate::space::Assignment;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrialState {
    Running,
    Complete,
    Pruned,
    Failed,
    /// Stopped at a successive-halving rung with its training state saved; it continues if it
    /// ranks well enough once more trials reach the rung, and is pruned at the study's end
    /// otherwise.
    Paused,
}

impl TrialState {
    pub fn as_str(self) -> &'static str {
        match self {
            TrialState::Running => "running",
            TrialState::Complete => "complete",
            TrialState::Pruned => "pruned",
            TrialState::Failed => "failed",
            TrialState::Paused => "paused",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "running" => TrialState::Running,
            "complete" => TrialState::Complete,
            "pruned" => TrialState::Pruned,
            "paused" => TrialState::Paused,
            _ => TrialState::Failed,
        }
    }
}

/// A study's identity and settings as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyRecord {
    pub id: i64,
    pub name: String,
    /// "minimize" or "maximize".
    pub direction: String,
    pub objective: String,
    pub sampler: String,
    /// The sweep file's text, so a study can be inspected and re-run as it was defined.
    pub sweep: String,
    pub seed: u64,
    pub created: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialRecord {
    pub number: usize,
    pub state: TrialState,
    pub params: Assignment,
    pub value: Option<f64>,
    /// `(epoch, value)` reported while the trial ran.
    pub intermediate: Vec<(usize, f64)>,
    pub seed: u64,
    pub started: f64,
    pub finished: Option<f64>,
    pub error: Option<String>,
    /// The trial's run folder, when it trained a model.
    pub run_dir: Option<String>,
}

impl TrialRecord {
    pub fn seconds(&self) -> Option<f64> {
        self.finished.map(|f| f - self.started)
    }
}

pub struct Storage {
    connection: Connection,
    path: PathBuf,
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl Storage {
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| TuneError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let connection = Connection::open(path).map_err(|e| storage_error(path, e))?;
        let storage = Self {
            connection,
            path: path.to_path_buf(),
        };
        storage
            .connection
            .execute_batch(
                "PRAGMA busy_timeout = 10000;
                 PRAGMA journal_mode = WAL;
                 CREATE TABLE IF NOT EXISTS studies (
                     id INTEGER PRIMARY KEY,
                     name TEXT NOT NULL UNIQUE,
                     direction TEXT NOT NULL,
                     objective TEXT NOT NULL,
                     sampler TEXT NOT NULL,
                     sweep TEXT NOT NULL,
                     seed INTEGER NOT NULL,
                     created REAL NOT NULL
                 );
                 CREATE TABLE IF NOT EXISTS trials (
                     study_id INTEGER NOT NULL REFERENCES studies(id),
                     number INTEGER NOT NULL,
                     state TEXT NOT NULL,
                     params TEXT NOT NULL,
                     value REAL,
                     intermediate TEXT NOT NULL DEFAULT '[]',
                     seed INTEGER NOT NULL,
                     started REAL NOT NULL,
                     finished REAL,
                     error TEXT,
                     run_dir TEXT,
                     PRIMARY KEY (study_id, number)
                 );",
            )
            .map_err(|e| storage_error(path, e))?;
        Ok(storage)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn fail(&self, e: rusqlite::Error) -> TuneError {
        storage_error(&self.path, e)
    }

    pub fn study(&self, name: &str) -> Result<Option<StudyRecord>> {
        self.connection
            .query_row(
                "SELECT id, name, direction, objective, sampler, sweep, seed, created FROM studies WHERE name = ?1",
                params![name],
                study_row,
            )
            .optional()
            .map_err(|e| self.fail(e))
    }

    pub fn studies(&self) -> Result<Vec<StudyRecord>> {
        let mut statement = self
            .connection
            .prepare("SELECT id, name, direction, objective, sampler, sweep, seed, created FROM studies ORDER BY id")
            .map_err(|e| self.fail(e))?;
        let rows = statement
            .query_map([], study_row)
            .map_err(|e| self.fail(e))?;
        rows.collect::<std::result::Result<_, _>>()
            .map_err(|e| self.fail(e))
    }

    /// Creates the study, or returns the existing one of that name. An existing study must
    /// have been defined by the same sweep (same objective, direction and search), otherwise
    /// its trials would not be comparable.
    pub fn create_or_resume(&self, new: &StudyRecord) -> Result<StudyRecord> {
        if let Some(existing) = self.study(&new.name)? {
            if existing.objective != new.objective
                || existing.direction != new.direction
                || existing.sampler != new.sampler
                || existing.sweep != new.sweep
                || existing.seed != new.seed
            {
                return Err(TuneError::config(
                    "study",
                    format!(
                        "a study named '{}' already exists in {} with a different definition; give this sweep another `study` name (or delete the old study)",
                        new.name,
                        self.path.display()
                    ),
                ));
            }
            return Ok(existing);
        }
        self.connection
            .execute(
                "INSERT OR IGNORE INTO studies (name, direction, objective, sampler, sweep, seed, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![new.name, new.direction, new.objective, new.sampler, new.sweep, new.seed as i64, now()],
            )
            .map_err(|e| self.fail(e))?;
        // Another process may have created it in between: check it the same way.
        self.create_or_resume(new)
    }

    /// Marks trials left `running` by a process that died as failed; returns how many.
    pub fn fail_interrupted(&self, study: i64) -> Result<usize> {
        self.connection
            .execute(
                "UPDATE trials SET state = 'failed', finished = ?2,
                     error = 'interrupted: the process running this trial stopped before it finished'
                 WHERE study_id = ?1 AND state = 'running'",
                params![study, now()],
            )
            .map_err(|e| self.fail(e))
    }

    /// Takes a paused trial back to running to continue it; `false` when it is no longer
    /// paused (another worker took it first).
    pub fn claim_paused(&self, study: i64, number: usize) -> Result<bool> {
        self.connection
            .execute(
                "UPDATE trials SET state = 'running', finished = NULL, error = NULL
                 WHERE study_id = ?1 AND number = ?2 AND state = 'paused'",
                params![study, number as i64],
            )
            .map(|changed| changed == 1)
            .map_err(|e| self.fail(e))
    }

    /// Records a running trial as paused after `epoch` with its value so far.
    pub fn pause_trial(&self, study: i64, number: usize, epoch: usize, value: f64) -> Result<()> {
        self.connection
            .execute(
                "UPDATE trials SET state = 'paused', value = ?3, error = ?4, finished = ?5
                 WHERE study_id = ?1 AND number = ?2 AND state = 'running'",
                params![
                    study,
                    number as i64,
                    value,
                    format!("paused after epoch {epoch}"),
                    now()
                ],
            )
            .map(|_| ())
            .map_err(|e| self.fail(e))
    }

    /// Ends a paused trial that will not be promoted: pruned where it paused.
    pub fn prune_paused(&self, study: i64, number: usize, epoch: usize) -> Result<bool> {
        self.connection
            .execute(
                "UPDATE trials SET state = 'pruned', error = ?3, finished = ?4
                 WHERE study_id = ?1 AND number = ?2 AND state = 'paused'",
                params![
                    study,
                    number as i64,
                    format!("pruned after epoch {epoch} (paused at a rung, never promoted)"),
                    now()
                ],
            )
            .map(|changed| changed == 1)
            .map_err(|e| self.fail(e))
    }

    /// A trial whose continuation died with its process goes back to where it was paused:
    /// paused after `epoch` with value `value`, its later intermediate values dropped.
    pub fn revert_to_paused(
        &self,
        study: i64,
        number: usize,
        epoch: usize,
        value: f64,
    ) -> Result<()> {
        let mut values = self.intermediate(study, number)?;
        values.retain(|(e, _)| *e <= epoch);
        self.connection
            .execute(
                "UPDATE trials SET state = 'paused', value = ?3, intermediate = ?4, error = ?5, finished = ?6
                 WHERE study_id = ?1 AND number = ?2 AND state = 'running'",
                params![
                    study,
                    number as i64,
                    value,
                    serde_json::to_string(&values).expect("numbers serialise"),
                    format!("paused after epoch {epoch}"),
                    now()
                ],
            )
            .map(|_| ())
            .map_err(|e| self.fail(e))
    }

    /// Records a new running trial with the next free number.
    pub fn start_trial(&mut self, study: i64, params: &Assignment, seed: u64) -> Result<usize> {
        let path = self.path.clone();
        let tx = self
            .connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| storage_error(&path, e))?;
        let number: i64 = tx
            .query_row(
                "SELECT COALESCE(MAX(number) + 1, 0) FROM trials WHERE study_id = ?1",
                params![study],
                |row| row.get(0),
            )
            .map_err(|e| storage_error(&path, e))?;
        tx.execute(
            "INSERT INTO trials (study_id, number, state, params, seed, started) VALUES (?1, ?2, 'running', ?3, ?4, ?5)",
            params![study, number, params_json(params), seed as i64, now()],
        )
        .map_err(|e| storage_error(&path, e))?;
        tx.commit().map_err(|e| storage_error(&path, e))?;
        Ok(number as usize)
    }

    /// Claims the next trial number for a new running trial, unless the study already holds
    /// `budget` trials. Atomic across processes sharing the database (an immediate
    /// transaction), so parallel workers never exceed the budget or share a number.
    pub fn claim_trial(&mut self, study: i64, budget: usize) -> Result<Option<usize>> {
        let path = self.path.clone();
        let tx = self
            .connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| storage_error(&path, e))?;
        let (count, next): (i64, i64) = tx
            .query_row(
                "SELECT COUNT(*), COALESCE(MAX(number) + 1, 0) FROM trials WHERE study_id = ?1",
                params![study],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .map_err(|e| storage_error(&path, e))?;
        if count as usize >= budget {
            return Ok(None);
        }
        tx.execute(
            "INSERT INTO trials (study_id, number, state, params, seed, started) VALUES (?1, ?2, 'running', '[]', 0, ?3)",
            params![study, next, now()],
        )
        .map_err(|e| storage_error(&path, e))?;
        tx.commit().map_err(|e| storage_error(&path, e))?;
        Ok(Some(next as usize))
    }

    /// Records the parameters and seed chosen for a claimed trial.
    pub fn set_trial_params(
        &self,
        study: i64,
        number: usize,
        params: &Assignment,
        seed: u64,
    ) -> Result<()> {
        self.connection
            .execute(
                "UPDATE trials SET params = ?3, seed = ?4 WHERE study_id = ?1 AND number = ?2 AND state = 'running'",
                params![study, number as i64, params_json(params), seed as i64],
            )
            .map(|_| ())
            .map_err(|e| self.fail(e))
    }

    /// Gives back a claimed trial that will not run (an exhausted grid).
    pub fn release_trial(&self, study: i64, number: usize) -> Result<()> {
        self.connection
            .execute(
                "DELETE FROM trials WHERE study_id = ?1 AND number = ?2 AND state = 'running'",
                params![study, number as i64],
            )
            .map(|_| ())
            .map_err(|e| self.fail(e))
    }

    pub fn set_run_dir(&self, study: i64, number: usize, run_dir: &str) -> Result<()> {
        self.connection
            .execute(
                "UPDATE trials SET run_dir = ?3 WHERE study_id = ?1 AND number = ?2",
                params![study, number as i64, run_dir],
            )
            .map(|_| ())
            .map_err(|e| self.fail(e))
    }

    fn intermediate(&self, study: i64, number: usize) -> Result<Vec<(usize, f64)>> {
        let current: String = self
            .connection
            .query_row(
                "SELECT intermediate FROM trials WHERE study_id = ?1 AND number = ?2",
                params![study, number as i64],
                |row| row.get(0),
            )
            .map_err(|e| self.fail(e))?;
        Ok(serde_json::from_str(&current).unwrap_or_default())
    }

    /// Appends an intermediate value (one per epoch).
    pub fn report(&self, study: i64, number: usize, epoch: usize, value: f64) -> Result<()> {
        let mut values = self.intermediate(study, number)?;
        values.push((epoch, value));
        self.connection
            .execute(
                "UPDATE trials SET intermediate = ?3 WHERE study_id = ?1 AND number = ?2 AND state = 'running'",
                params![
                    study,
                    number as i64,
                    serde_json::to_string(&values).expect("numbers serialise")
                ],
            )
            .map(|_| ())
            .map_err(|e| self.fail(e))
    }

    pub fn finish_trial(
        &self,
        study: i64,
        number: usize,
        state: TrialState,
        value: Option<f64>,
        error: Option<&str>,
    ) -> Result<()> {
        self.connection
            .execute(
                "UPDATE trials SET state = ?3, value = ?4, error = ?5, finished = ?6 WHERE study_id = ?1 AND number = ?2 AND state = 'running'",
                params![study, number as i64, state.as_str(), value, error, now()],
            )
            .map(|_| ())
            .map_err(|e| self.fail(e))
    }

    pub fn trials(&self, study: i64) -> Result<Vec<TrialRecord>> {
        let mut statement = self
            .connection
            .prepare(
                "SELECT number, state, params, value, intermediate, seed, started, finished, error, run_dir
                 FROM trials WHERE study_id = ?1 ORDER BY number",
            )
            .map_err(|e| self.fail(e))?;
        let rows = statement
            .query_map(params![study], |row| {
                let params: String = row.get(2)?;
                let intermediate: String = row.get(4)?;
                Ok(TrialRecord {
                    number: row.get::<_, i64>(0)? as usize,
                    state: TrialState::parse(&row.get::<_, String>(1)?),
                    params: parse_params(&params),
                    value: row.get(3)?,
                    intermediate: serde_json::from_str(&intermediate).unwrap_or_default(),
                    seed: row.get::<_, i64>(5)? as u64,
                    started: row.get(6)?,
                    finished: row.get(7)?,
                    error: row.get(8)?,
                    run_dir: row.get(9)?,
                })
            })
            .map_err(|e| self.fail(e))?;
        rows.collect::<std::result::Result<_, _>>()
            .map_err(|e| self.fail(e))
    }
}

fn study_row(row: &rusqlite::Row) -> rusqlite::Result<StudyRecord> {
    Ok(StudyRecord {
        id: row.get(0)?,
        name: row.get(1)?,
        direction: row.get(2)?,
        objective: row.get(3)?,
        sampler: row.get(4)?,
        sweep: row.get(5)?,
        seed: row.get::<_, i64>(6)? as u64,
        created: row.get(7)?,
    })
}

/// Parameters are stored as a JSON array of `[name, value]` pairs (order kept).
fn params_json(params: &Assignment) -> String {
    let pairs: Vec<(&str, serde_json::Value)> = params
        .iter()
        .map(|(n, v)| {
            (
                n.as_str(),
                serde_json::to_value(v).expect("TOML values are JSON values"),
            )
        })
        .collect();
    serde_json::to_string(&pairs).expect("parameters serialise")
}

fn parse_params(text: &str) -> Assignment {
    let pairs: Vec<(String, serde_json::Value)> = serde_json::from_str(text).unwrap_or_default();
    pairs
        .into_iter()
        .filter_map(|(n, v)| {
            serde_json::from_value::<toml::Value>(v)
                .ok()
                .map(|v| (n, v))
        })
        .collect()
}

fn storage_error(path: &Path, e: rusqlite::Error) -> TuneError {
    TuneError::Storage {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}
