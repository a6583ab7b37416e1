//! Studies in a PostgreSQL database, for workers on many hosts. Every state change is one
//! transaction that checks the trial's owner in the same statement (or under a row lock), a
//! new trial's number is claimed under a lock on its study's row (so the budget is exact with
//! any number of workers), and every time is the server's clock, so leases hold across hosts
//! whose clocks disagree. A handle whose connection drops (a server restart) connects again on
//! its next call, retrying for a while, instead of failing the study.

use postgres::types::ToSql;
use std::path::PathBuf;
use std::sync::Mutex;

use super::encoding::{
    cause_json, directions_json, distributions_json, numbers_json, params_json,
    parse_distributions, parse_params, upsert,
};
use super::{
    Change, Condition, Lease, LeaseState, NewStudy, StepValue, Storage, StudyId, StudyRecord,
    TrialId, TrialRecord, TrialState,
};
use crate::error::Result;

mod connection;
mod password;
mod schema;
mod session;

use schema::{NOW, STUDY_COLUMNS, TRIAL_WITH_VALUES, study_row, trial_row_with_values};
use session::Session;

/// A PostgreSQL study database.
pub struct PostgresStorage {
    session: Mutex<Option<Session>>,
    config: postgres::Config,
    location: String,
    artifacts: Option<PathBuf>,
    /// Opened only to read: its sessions are read-only, and the tables are never created.
    read_only: bool,
}

impl std::fmt::Debug for PostgresStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStorage")
            .field("location", &self.location)
            .finish()
    }
}

/// A statement's own parameters followed by its condition's.
fn joined<'a>(
    own: &[&'a (dyn ToSql + Sync)],
    guard: Vec<&'a (dyn ToSql + Sync)>,
) -> Vec<&'a (dyn ToSql + Sync)> {
    own.iter().copied().chain(guard).collect()
}

/// `when` as SQL on a trial's row, its parameters numbered from `$first`.
fn guard<'a>(when: &'a Condition<'a>, first: usize) -> (String, Vec<&'a (dyn ToSql + Sync)>) {
    match when {
        Condition::HeldBy(owner) => (
            format!("state = 'running' AND (owner IS NULL OR owner = ${first})"),
            vec![owner],
        ),
        Condition::StaleUnder { owner, owner_gone } => (
            format!(
                "state = 'running' AND owner = ${first}
                 AND (${} OR lease_until IS NULL OR lease_until < {NOW})",
                first + 1
            ),
            vec![owner, owner_gone],
        ),
        Condition::Paused => ("state = 'paused'".into(), Vec::new()),
        Condition::Unretried => ("state = 'failed' AND retried_as IS NULL".into(), Vec::new()),
    }
}

impl Storage for PostgresStorage {
    fn location(&self) -> String {
        self.location.clone()
    }

    fn add_study(&self, new: &NewStudy) -> Result<()> {
        let seed = new.seed as i64;
        let directions = directions_json(&new.all_directions());
        self.run(|client| {
            client.execute(
                &format!(
                    "INSERT INTO anneal_studies (name, direction, objective, sampler, definition, seed, created, directions)
                     VALUES ($1, $2, $3, $4, $5, $6, {NOW}, $7) ON CONFLICT (name) DO NOTHING"
                ),
                &[
                    &new.name,
                    &new.direction.name(),
                    &new.objective,
                    &new.sampler,
                    &new.definition,
                    &seed,
                    &directions,
                ],
            )
        })
        .map(drop)
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
        lease: Option<Lease<'_>>,
    ) -> Result<Option<TrialId>> {
        let owner = lease.map(|lease| lease.owner);
        let length = lease.map(|lease| lease.length.as_secs_f64());
        // The claim's own key: a claim repeated after a lost connection first looks for the row
        // an attempt whose commit reply was lost may have written, so a lost reply never leaves
        // a trial held by this handle that nothing runs.
        let key: i64 = rand::random();
        let mut repeated = false;
        self.run(|client| {
            if std::mem::replace(&mut repeated, true) {
                let earlier = client.query_opt(
                    "SELECT number FROM anneal_trials WHERE study_id = $1 AND claim_key = $2",
                    &[&study.0, &key],
                )?;
                if let Some(row) = earlier {
                    return Ok(Some(TrialId {
                        study,
                        number: row.get::<_, i64>(0) as usize,
                    }));
                }
            }
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
                "SELECT COUNT(*) FILTER (WHERE state != 'interrupted'), COALESCE(MAX(number) + 1, 0)
                 FROM anneal_trials WHERE study_id = $1",
                &[&study.0],
            )?;
            let (count, next): (i64, i64) = (row.get(0), row.get(1));
            if budget.is_some_and(|budget| count as usize >= budget) {
                return Ok(None);
            }
            tx.execute(
                &format!(
                    "INSERT INTO anneal_trials (study_id, number, state, started, owner, lease_until,
                         segment_started, claim_key)
                     VALUES ($1, $2, 'running', {NOW}, $3, {NOW} + $4::float8, {NOW}, $5)"
                ),
                &[&study.0, &next, &owner, &length, &key],
            )?;
            tx.commit()?;
            Ok(Some(TrialId {
                study,
                number: next as usize,
            }))
        })
    }

    fn update(&self, trial: TrialId, when: Condition<'_>, change: Change<'_>) -> Result<bool> {
        let number = trial.number as i64;
        let run_dir = match change {
            Change::RunDir(run_dir) => run_dir.map(|dir| self.stored_run_dir(dir)),
            _ => None,
        };
        let when = &when;
        self.run(|client| {
            // Each statement checks `when` in its own WHERE clause (under the trial's row lock),
            // so the check and the change are one round trip.
            let changed = match change {
                Change::Params(chosen) => {
                    let (guard, guard_params) = guard(when, 3);
                    let mut tx = client.transaction()?;
                    let Some(row) = tx.query_opt(
                        &format!(
                            "SELECT params, distributions FROM anneal_trials
                             WHERE study_id = $1 AND number = $2 AND {guard} FOR UPDATE"
                        ),
                        &joined(&[&trial.study.0, &number], guard_params),
                    )?
                    else {
                        return Ok(false);
                    };
                    let mut params = parse_params(row.get(0));
                    let mut distributions = parse_distributions(row.get(1));
                    for c in chosen {
                        upsert(&mut params, &c.name, c.value.clone());
                        upsert(&mut distributions, &c.name, c.distribution.clone());
                    }
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
                    1
                }
                Change::RunDir(_) => {
                    let (guard, guard_params) = guard(when, 4);
                    client.execute(
                        &format!(
                            "UPDATE anneal_trials SET run_dir = $3
                             WHERE study_id = $1 AND number = $2 AND {guard}"
                        ),
                        &joined(&[&trial.study.0, &number, &run_dir], guard_params),
                    )?
                }
                Change::Report { step, value } => {
                    let (guard, guard_params) = guard(when, 5);
                    let step = step as i64;
                    client.execute(
                        &format!(
                            "WITH held AS (
                                 SELECT 1 FROM anneal_trials
                                 WHERE study_id = $1 AND number = $2 AND {guard} FOR UPDATE
                             )
                             INSERT INTO anneal_values (study_id, number, step, value)
                             SELECT $1, $2, $3, $4 FROM held
                             ON CONFLICT (study_id, number, step) DO UPDATE SET value = EXCLUDED.value"
                        ),
                        &joined(&[&trial.study.0, &number, &step, &value], guard_params),
                    )?
                }
                Change::End(end) => {
                    let (guard, guard_params) = guard(when, 9);
                    let values = numbers_json(&end.values);
                    let kept = change.keeps_values_through().map(|step| step as i64);
                    let cause = cause_json(end.cause);
                    let state = end.state.as_str();
                    // A paused trial's later values go in the same statement.
                    let row = client.query_one(
                        &format!(
                            "WITH ended AS (
                                 UPDATE anneal_trials SET state = $3, value = $4, message = $5,
                                     cause = $6, finished = {NOW}, owner = NULL, lease_until = NULL,
                                     vals = $8,
                                     busy = busy + GREATEST(0, {NOW} - COALESCE(segment_started, {NOW})),
                                     segment_started = NULL
                                 WHERE study_id = $1 AND number = $2 AND {guard}
                                 RETURNING number
                             ), dropped AS (
                                 DELETE FROM anneal_values WHERE study_id = $1 AND step > $7
                                     AND number IN (SELECT number FROM ended)
                             )
                             SELECT COUNT(*) FROM ended"
                        ),
                        &joined(
                            &[
                                &trial.study.0,
                                &number,
                                &state,
                                &end.value,
                                &end.message,
                                &cause,
                                &kept,
                                &values,
                            ],
                            guard_params,
                        ),
                    )?;
                    row.get::<_, i64>(0) as u64
                }
                Change::Resume(lease) => {
                    let (guard, guard_params) = guard(when, 5);
                    let length = lease.length.as_secs_f64();
                    client.execute(
                        &format!(
                            "UPDATE anneal_trials SET state = 'running', finished = NULL,
                                 message = NULL, cause = NULL, owner = $3,
                                 lease_until = {NOW} + $4::float8, segment_started = {NOW}
                             WHERE study_id = $1 AND number = $2 AND {guard}"
                        ),
                        &joined(
                            &[&trial.study.0, &number, &lease.owner, &length],
                            guard_params,
                        ),
                    )?
                }
                Change::Constraints(constraints) => {
                    let (guard, guard_params) = guard(when, 4);
                    let constraints = numbers_json(constraints);
                    client.execute(
                        &format!(
                            "UPDATE anneal_trials SET constraints = $3
                             WHERE study_id = $1 AND number = $2 AND {guard}"
                        ),
                        &joined(&[&trial.study.0, &number, &constraints], guard_params),
                    )?
                }
                Change::RetriedAs(retry) => {
                    let (guard, guard_params) = guard(when, 4);
                    let retry = retry as i64;
                    client.execute(
                        &format!(
                            "UPDATE anneal_trials SET retried_as = $3
                             WHERE study_id = $1 AND number = $2 AND {guard}"
                        ),
                        &joined(&[&trial.study.0, &number, &retry], guard_params),
                    )?
                }
                Change::Remove => {
                    // Its values go with it (ON DELETE CASCADE).
                    let (guard, guard_params) = guard(when, 3);
                    client.execute(
                        &format!(
                            "DELETE FROM anneal_trials WHERE study_id = $1 AND number = $2 AND {guard}"
                        ),
                        &joined(&[&trial.study.0, &number], guard_params),
                    )?
                }
            };
            Ok(changed == 1)
        })
    }

    fn renew(&self, lease: Lease<'_>) -> Result<usize> {
        let length = lease.length.as_secs_f64();
        self.run(|client| {
            client.execute(
                &format!(
                    "UPDATE anneal_trials SET lease_until = {NOW} + $2::float8
                     WHERE owner = $1 AND state = 'running'"
                ),
                &[&lease.owner, &length],
            )
        })
        .map(|n| n as usize)
    }

    fn leases(&self, study: StudyId) -> Result<Vec<LeaseState>> {
        let rows = self.run(|client| {
            client.query(
                &format!(
                    "SELECT number, owner, (lease_until IS NULL OR lease_until < {NOW})
                     FROM anneal_trials
                     WHERE study_id = $1 AND state = 'running' AND owner IS NOT NULL
                     ORDER BY number"
                ),
                &[&study.0],
            )
        })?;
        Ok(rows
            .iter()
            .map(|row| LeaseState {
                number: row.get::<_, i64>(0) as usize,
                owner: row.get(1),
                expired: row.get(2),
            })
            .collect())
    }

    fn trials_except(&self, study: StudyId, known: &[usize]) -> Result<Vec<TrialRecord>> {
        let known: Vec<i64> = known.iter().map(|&n| n as i64).collect();
        // One statement, so the trials and their values are of one moment.
        let rows = self.run(|client| {
            client.query(
                &format!(
                    "SELECT {TRIAL_WITH_VALUES} FROM anneal_trials t WHERE study_id = $1
                     AND NOT (state IN ('complete', 'pruned', 'failed', 'interrupted') AND number = ANY($2))
                     ORDER BY number"
                ),
                &[&study.0, &known],
            )
        })?;
        Ok(rows
            .iter()
            .map(|row| self.resolved(trial_row_with_values(row)))
            .collect())
    }

    fn trial(&self, trial: TrialId) -> Result<Option<TrialRecord>> {
        let number = trial.number as i64;
        let row = self.run(|client| {
            client.query_opt(
                &format!(
                    "SELECT {TRIAL_WITH_VALUES} FROM anneal_trials t
                     WHERE study_id = $1 AND number = $2"
                ),
                &[&trial.study.0, &number],
            )
        })?;
        Ok(row.map(|row| self.resolved(trial_row_with_values(&row))))
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
