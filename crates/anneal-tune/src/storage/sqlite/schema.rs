//! The database's tables and how rows read back: creating or upgrading a file's schema, and
//! the row mappers and stored forms the storage shares.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};

use super::SCHEMA_VERSION;
use crate::direction::Direction;
use crate::storage::encoding::{
    bounded_message, cause_json, parse_cause, parse_directions, parse_distributions, parse_numbers,
    parse_params,
};
use crate::storage::legacy;
use crate::storage::{StudyId, StudyRecord, TrialRecord, TrialState};

/// Opens the file in WAL mode and brings its schema up to date. Another process creating the
/// same file at the same moment can hold the lock these need even before a busy handler is in
/// place, so a busy answer is retried for a while rather than failing.
pub(super) fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let attempt = Connection::open(path).and_then(|mut connection| {
            connection.busy_timeout(std::time::Duration::from_secs(30))?;
            connection.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")?;
            migrate(&mut connection)?;
            Ok(connection)
        });
        match attempt {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

/// Opens the file only to read it: no journal mode switch, no upgrade (a file whose schema is
/// older comes with what it holds, in words, for the error). SQLite still needs the `-wal` and
/// `-shm` files beside it; where the folder cannot take them (another user's, a read-only
/// mount) and no write-ahead log is pending, the file is opened immutable, read as it stands.
pub(super) fn open_read_only(path: &Path) -> rusqlite::Result<(Connection, Option<String>)> {
    let open = |query: &str| -> rusqlite::Result<(Connection, i64)> {
        let connection = Connection::open_with_flags(
            file_uri(path, query),
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        connection.busy_timeout(std::time::Duration::from_secs(30))?;
        // The first read is where a missing `-shm` fails.
        let version = connection.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        Ok((connection, version))
    };
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let pending = std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0);
    let (connection, version) = match open("mode=ro") {
        // Immutable skips the log, so only when there is none to skip.
        Err(error) if !pending => open("immutable=1").map_err(|_| error)?,
        other => other?,
    };
    if version >= SCHEMA_VERSION {
        return Ok((connection, None));
    }
    let has_tables = connection
        .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'trials'")?
        .exists([])?;
    let found = match has_tables {
        true => {
            format!("its tables are schema {version}, older than this anneal's {SCHEMA_VERSION}")
        }
        false => "it holds no study tables yet".into(),
    };
    Ok((connection, Some(found)))
}

/// `file:` URI of `path` (made absolute, every byte outside the plain ones escaped) with `query`.
fn file_uri(path: &Path, query: &str) -> String {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    #[cfg(unix)]
    let bytes = std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()).to_vec();
    #[cfg(not(unix))]
    let bytes = path.to_string_lossy().replace('\\', "/").into_bytes();
    let mut uri = String::from("file:");
    for byte in bytes {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'/' | b':' | b'-' | b'_' | b'.' | b'~' => {
                uri.push(byte as char)
            }
            _ => uri.push_str(&format!("%{byte:02X}")),
        }
    }
    // A Windows path (`C:/x`) needs the leading slash of `file:///C:/x`.
    if !uri.starts_with("file:/") {
        uri.insert(5, '/');
    }
    format!("{uri}?{query}")
}

/// Creates the tables, or upgrades an older file: schema 0 kept intermediate values as a JSON
/// column and no distributions; schema 2 had no owners or leases; schema 4 kept a trial's
/// cause and retry only in its message; schema 5 had one objective and no constraints.
fn migrate(connection: &mut Connection) -> rusqlite::Result<()> {
    let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if version >= SCHEMA_VERSION {
        return tx.commit();
    }
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS studies (
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
             seed INTEGER NOT NULL DEFAULT 0,
             started REAL NOT NULL,
             finished REAL,
             error TEXT,
             run_dir TEXT,
             PRIMARY KEY (study_id, number)
         );
         CREATE TABLE IF NOT EXISTS intermediate_values (
             study_id INTEGER NOT NULL,
             number INTEGER NOT NULL,
             step INTEGER NOT NULL,
             value REAL,
             PRIMARY KEY (study_id, number, step)
         );
         CREATE INDEX IF NOT EXISTS intermediate_by_step ON intermediate_values (study_id, step);",
    )?;
    if !has_column(&tx, "trials", "distributions")? {
        tx.execute_batch("ALTER TABLE trials ADD COLUMN distributions TEXT NOT NULL DEFAULT '[]'")?;
    }
    if !has_column(&tx, "trials", "owner")? {
        // Trials left running before leases existed belong to a lapsed owner: the next
        // process recovers them as it recovers any stale trial.
        tx.execute_batch(
            "ALTER TABLE trials ADD COLUMN owner TEXT;
             ALTER TABLE trials ADD COLUMN lease_until REAL;
             UPDATE trials SET owner = 'before-leases', lease_until = 0 WHERE state = 'running';",
        )?;
    }
    if !has_column(&tx, "trials", "busy")? {
        // Older trials' running time is their whole span (the best known).
        tx.execute_batch(
            "ALTER TABLE trials ADD COLUMN busy REAL NOT NULL DEFAULT 0;
             ALTER TABLE trials ADD COLUMN segment_started REAL;
             UPDATE trials SET busy = finished - started WHERE finished IS NOT NULL;
             UPDATE trials SET segment_started = started WHERE state = 'running';",
        )?;
    }
    if !has_column(&tx, "studies", "directions")? {
        tx.execute_batch("ALTER TABLE studies ADD COLUMN directions TEXT")?;
    }
    if !has_column(&tx, "trials", "vals")? {
        tx.execute_batch(
            "ALTER TABLE trials ADD COLUMN vals TEXT;
             ALTER TABLE trials ADD COLUMN constraints TEXT;",
        )?;
    }
    if !has_column(&tx, "trials", "cause")? {
        tx.execute_batch(
            "ALTER TABLE trials ADD COLUMN cause TEXT;
             ALTER TABLE trials ADD COLUMN retried_as INTEGER;",
        )?;
        type Row = (i64, i64, String, Option<String>);
        let ended: Vec<Row> = tx
            .prepare("SELECT study_id, number, state, error FROM trials WHERE state != 'running'")?
            .query_map([], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        for (study, number, state, message) in ended {
            let state = TrialState::parse(&state).unwrap_or(TrialState::Failed);
            let upgraded = legacy::upgrade(state, message.as_deref());
            tx.execute(
                "UPDATE trials SET cause = ?3, retried_as = ?4, error = ?5
                 WHERE study_id = ?1 AND number = ?2",
                params![
                    study,
                    number,
                    cause_json(upgraded.cause),
                    upgraded.retried_as.map(|n| n as i64),
                    upgraded.message
                ],
            )?;
        }
    }
    // Schema 0 kept each trial's values as a JSON list: move them into rows.
    let legacy: Vec<(i64, i64, String)> = tx
        .prepare("SELECT study_id, number, intermediate FROM trials WHERE intermediate != '[]'")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (study, number, text) in legacy {
        let values: Vec<(usize, f64)> = serde_json::from_str(&text).unwrap_or_default();
        for (step, value) in values {
            tx.execute(
                "INSERT OR REPLACE INTO intermediate_values (study_id, number, step, value) VALUES (?1, ?2, ?3, ?4)",
                params![study, number, step as i64, value],
            )?;
        }
    }
    tx.execute("UPDATE trials SET intermediate = '[]'", [])?;
    tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))?;
    tx.commit()
}

/// Whether `table` has `column` (older files lack the newer ones).
fn has_column(tx: &rusqlite::Transaction, table: &str, column: &str) -> rusqlite::Result<bool> {
    tx.prepare("SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2")?
        .exists([table, column])
}

pub(super) const STUDY_COLUMNS: &str =
    "id, name, direction, objective, sampler, sweep, seed, created, directions";

pub(super) fn study_row(row: &rusqlite::Row) -> rusqlite::Result<StudyRecord> {
    let direction = Direction::parse(&row.get::<_, String>(2)?).unwrap_or_default();
    Ok(StudyRecord {
        id: StudyId(row.get(0)?),
        name: row.get(1)?,
        direction,
        directions: parse_directions(row.get(8)?, direction),
        objective: row.get(3)?,
        sampler: row.get(4)?,
        definition: row.get(5)?,
        seed: row.get::<_, i64>(6)? as u64,
        created: row.get(7)?,
    })
}

pub(super) const TRIAL_COLUMNS: &str = "number, state, params, distributions, value, started, finished, error, run_dir, owner, lease_until, busy, cause, retried_as, vals, constraints";

pub(super) fn trial_row(row: &rusqlite::Row) -> rusqlite::Result<TrialRecord> {
    let params: String = row.get(2)?;
    let distributions: String = row.get(3)?;
    Ok(TrialRecord {
        number: row.get::<_, i64>(0)? as usize,
        state: TrialState::parse(&row.get::<_, String>(1)?).unwrap_or(TrialState::Failed),
        params: parse_params(&params),
        distributions: parse_distributions(&distributions),
        value: row.get(4)?,
        values: parse_numbers(row.get(14)?),
        constraints: parse_numbers(row.get(15)?),
        intermediate: Vec::new(),
        started: row.get(5)?,
        finished: row.get(6)?,
        cause: parse_cause(row.get(12)?),
        message: bounded_message(row.get(7)?),
        retried_as: row.get::<_, Option<i64>>(13)?.map(|n| n as usize),
        run_dir: row.get(8)?,
        owner: row.get(9)?,
        running_seconds: row.get(11)?,
    })
}
