//! The tables of a PostgreSQL study database, created on first use and versioned, and how rows
//! read back. Tables carry an `anneal_` prefix so a database shared with other programs stays
//! tidy; every time is the server's clock (seconds since the Unix epoch), so leases compare
//! times from one clock whatever the workers' hosts say.

use postgres::{Client, Row};

use crate::direction::Direction;
use crate::storage::encoding::{
    bounded_message, cause_json, parse_cause, parse_directions, parse_distributions, parse_numbers,
    parse_params,
};
use crate::storage::legacy;
use crate::storage::{StudyId, StudyRecord, TrialRecord, TrialState};

/// The schema this code writes (1 kept a trial's cause and retry only in its message, and no
/// claim keys; 2 had one objective and no constraints). A database written by a newer anneal
/// is refused rather than guessed at.
pub(super) const SCHEMA_VERSION: i32 = 3;

/// The server's time now, as stored.
pub(super) const NOW: &str = "EXTRACT(EPOCH FROM clock_timestamp())::float8";

/// Any fixed key: the advisory lock that makes concurrent first uses create the tables once.
const SCHEMA_LOCK: i64 = 0x616e_6e65_616c;

/// Creates the tables, or checks the version of the ones there. Several workers may start at
/// once on an empty database: the advisory lock lets one create while the others wait.
pub(super) fn migrate(client: &mut Client) -> Result<(), MigrateError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS anneal_meta (
             key TEXT PRIMARY KEY,
             value TEXT NOT NULL
         );
         CREATE TABLE IF NOT EXISTS anneal_studies (
             id BIGSERIAL PRIMARY KEY,
             name TEXT NOT NULL UNIQUE,
             direction TEXT NOT NULL,
             objective TEXT NOT NULL,
             sampler TEXT NOT NULL,
             definition TEXT NOT NULL,
             seed BIGINT NOT NULL,
             created DOUBLE PRECISION NOT NULL,
             directions TEXT
         );
         CREATE TABLE IF NOT EXISTS anneal_trials (
             study_id BIGINT NOT NULL REFERENCES anneal_studies (id) ON DELETE CASCADE,
             number BIGINT NOT NULL,
             state TEXT NOT NULL,
             params TEXT NOT NULL DEFAULT '[]',
             distributions TEXT NOT NULL DEFAULT '[]',
             value DOUBLE PRECISION,
             started DOUBLE PRECISION NOT NULL,
             finished DOUBLE PRECISION,
             message TEXT,
             run_dir TEXT,
             owner TEXT,
             lease_until DOUBLE PRECISION,
             busy DOUBLE PRECISION NOT NULL DEFAULT 0,
             segment_started DOUBLE PRECISION,
             cause TEXT,
             retried_as BIGINT,
             claim_key BIGINT,
             vals TEXT,
             constraints TEXT,
             PRIMARY KEY (study_id, number)
         );
         CREATE INDEX IF NOT EXISTS anneal_trials_running
             ON anneal_trials (owner) WHERE state = 'running';
         CREATE TABLE IF NOT EXISTS anneal_values (
             study_id BIGINT NOT NULL,
             number BIGINT NOT NULL,
             step BIGINT NOT NULL,
             value DOUBLE PRECISION,
             PRIMARY KEY (study_id, number, step),
             FOREIGN KEY (study_id, number) REFERENCES anneal_trials (study_id, number)
                 ON DELETE CASCADE
         );
         CREATE INDEX IF NOT EXISTS anneal_values_by_step ON anneal_values (study_id, step);",
    )?;
    let stored: Option<String> = tx
        .query_opt(
            "SELECT value FROM anneal_meta WHERE key = 'schema_version'",
            &[],
        )?
        .map(|row| row.get(0));
    match stored.map(|v| v.parse::<i32>()) {
        None => {
            tx.execute(
                "INSERT INTO anneal_meta (key, value) VALUES ('schema_version', $1)",
                &[&SCHEMA_VERSION.to_string()],
            )?;
        }
        Some(Ok(version)) if version == SCHEMA_VERSION => {}
        Some(Ok(version @ (1 | 2))) => {
            if version == 1 {
                upgrade_from_1(&mut tx)?;
            }
            upgrade_from_2(&mut tx)?;
            tx.execute(
                "UPDATE anneal_meta SET value = $1 WHERE key = 'schema_version'",
                &[&SCHEMA_VERSION.to_string()],
            )?;
        }
        Some(version) => {
            return Err(MigrateError::Newer(format!("{version:?}")));
        }
    }
    tx.commit()?;
    Ok(())
}

/// Schema 1 kept why a trial ended, and which trial retried it, in its message only, and had no
/// claim keys.
fn upgrade_from_1(tx: &mut postgres::Transaction) -> Result<(), postgres::Error> {
    tx.batch_execute(
        "ALTER TABLE anneal_trials ADD COLUMN IF NOT EXISTS cause TEXT;
         ALTER TABLE anneal_trials ADD COLUMN IF NOT EXISTS retried_as BIGINT;
         ALTER TABLE anneal_trials ADD COLUMN IF NOT EXISTS claim_key BIGINT;",
    )?;
    let ended = tx.query(
        "SELECT study_id, number, state, message FROM anneal_trials WHERE state != 'running'",
        &[],
    )?;
    let update = tx.prepare(
        "UPDATE anneal_trials SET cause = $3, retried_as = $4, message = $5
         WHERE study_id = $1 AND number = $2",
    )?;
    for row in ended {
        let (study, number): (i64, i64) = (row.get(0), row.get(1));
        let state = TrialState::parse(row.get(2)).unwrap_or(TrialState::Failed);
        let upgraded = legacy::upgrade(state, row.get(3));
        let retried_as = upgraded.retried_as.map(|n| n as i64);
        tx.execute(
            &update,
            &[
                &study,
                &number,
                &cause_json(upgraded.cause),
                &retried_as,
                &upgraded.message,
            ],
        )?;
    }
    Ok(())
}

/// Schema 2 had one objective per study and no constraints.
fn upgrade_from_2(tx: &mut postgres::Transaction) -> Result<(), postgres::Error> {
    tx.batch_execute(
        "ALTER TABLE anneal_studies ADD COLUMN IF NOT EXISTS directions TEXT;
         ALTER TABLE anneal_trials ADD COLUMN IF NOT EXISTS vals TEXT;
         ALTER TABLE anneal_trials ADD COLUMN IF NOT EXISTS constraints TEXT;",
    )
}

/// For a read-only handle: makes the session's transactions read-only (the server then refuses
/// any change) and checks the tables are there, of a version this code reads.
pub(super) fn check_read_only(client: &mut Client) -> Result<(), MigrateError> {
    client.batch_execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")?;
    let exists: bool = client
        .query_one("SELECT to_regclass('anneal_meta') IS NOT NULL", &[])?
        .get(0);
    if !exists {
        return Err(MigrateError::Missing);
    }
    let stored: Option<String> = client
        .query_opt(
            "SELECT value FROM anneal_meta WHERE key = 'schema_version'",
            &[],
        )?
        .map(|row| row.get(0));
    match stored.as_deref().map(str::parse::<i32>) {
        None => Err(MigrateError::Missing),
        Some(Ok(version)) if version == SCHEMA_VERSION => Ok(()),
        Some(Ok(version)) if version < SCHEMA_VERSION => Err(MigrateError::Older(version)),
        Some(version) => Err(MigrateError::Newer(format!("{version:?}"))),
    }
}

/// Why the tables could not be made ready.
pub(super) enum MigrateError {
    Database(postgres::Error),
    /// Written by a newer anneal (its version).
    Newer(String),
    /// Not created yet (only a read-only handle leaves them so).
    Missing,
    /// Of an older schema (its version), which only a writable handle upgrades.
    Older(i32),
}

impl From<postgres::Error> for MigrateError {
    fn from(e: postgres::Error) -> Self {
        Self::Database(e)
    }
}

pub(super) const STUDY_COLUMNS: &str =
    "id, name, direction, objective, sampler, definition, seed, created, directions";

pub(super) fn study_row(row: &Row) -> StudyRecord {
    let direction = Direction::parse(row.get(2)).unwrap_or_default();
    StudyRecord {
        id: StudyId(row.get(0)),
        name: row.get(1),
        direction,
        directions: parse_directions(row.get(8), direction),
        objective: row.get(3),
        sampler: row.get(4),
        definition: row.get(5),
        seed: row.get::<_, i64>(6) as u64,
        created: row.get(7),
    }
}

fn trial_row(row: &Row) -> TrialRecord {
    let state: String = row.get(1);
    let params: String = row.get(2);
    let distributions: String = row.get(3);
    TrialRecord {
        number: row.get::<_, i64>(0) as usize,
        state: TrialState::parse(&state).unwrap_or(TrialState::Failed),
        params: parse_params(&params),
        distributions: parse_distributions(&distributions),
        value: row.get(4),
        values: parse_numbers(row.get(14)),
        constraints: parse_numbers(row.get(15)),
        intermediate: Vec::new(),
        started: row.get(5),
        finished: row.get(6),
        cause: parse_cause(row.get(12)),
        message: bounded_message(row.get(7)),
        retried_as: row.get::<_, Option<i64>>(13).map(|n| n as usize),
        run_dir: row.get(8),
        owner: row.get(9),
        running_seconds: row.get(11),
    }
}

/// A trial's columns (of `anneal_trials t`) with its reported steps and values as two arrays in
/// step order: a trial and its values in one statement, so in one round trip and one snapshot.
pub(super) const TRIAL_WITH_VALUES: &str = "number, state, params, distributions, value, started, \
     finished, message, run_dir, owner, lease_until, busy, cause, retried_as, vals, constraints, \
     ARRAY(SELECT v.step FROM anneal_values v \
           WHERE v.study_id = t.study_id AND v.number = t.number ORDER BY v.step), \
     ARRAY(SELECT v.value FROM anneal_values v \
           WHERE v.study_id = t.study_id AND v.number = t.number ORDER BY v.step)";

/// A row of [`TRIAL_WITH_VALUES`].
pub(super) fn trial_row_with_values(row: &Row) -> TrialRecord {
    let mut trial = trial_row(row);
    let steps: Vec<i64> = row.get(16);
    let values: Vec<Option<f64>> = row.get(17);
    trial.intermediate = steps
        .into_iter()
        .zip(values)
        .map(|(step, value)| (step as usize, value.unwrap_or(f64::NAN)))
        .collect();
    trial
}
