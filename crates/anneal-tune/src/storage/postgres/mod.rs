//! Studies in a PostgreSQL database, for workers on many hosts. Every state change is one
//! transaction that checks the trial's owner in the same statement (or under a row lock), a
//! new trial's number is claimed under a lock on its study's row (so the budget is exact with
//! any number of workers), and every time is the server's clock, so leases hold across hosts
//! whose clocks disagree. A handle whose connection drops (a server restart) connects again on
//! its next call, retrying for a while, instead of failing the study.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use super::encoding::{
    cause_json, distributions_json, params_json, parse_distributions, parse_params, upsert,
};
use super::owner::{Owner, owner_is_gone, stale_among};
use super::{
    ChosenParam, NewStudy, StepValue, Storage, StudyId, StudyRecord, TrialEnd, TrialId,
    TrialRecord, TrialState, check_same_study, held_or_lost,
};
use crate::error::{Result, TuneError};

mod connection;
mod password;
mod schema;
mod session;

use schema::{
    NOW, STUDY_COLUMNS, TRIAL_COLUMNS, TRIAL_WITH_VALUES, study_row, trial_row,
    trial_row_with_values,
};
use session::Session;

/// A PostgreSQL study database.
pub struct PostgresStorage {
    session: Mutex<Option<Session>>,
    config: postgres::Config,
    location: String,
    owner: Owner,
    lease: Duration,
    artifacts: Option<PathBuf>,
    /// Opened only to read: its sessions are read-only, and the tables are never created.
    read_only: bool,
}

impl std::fmt::Debug for PostgresStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStorage")
            .field("location", &self.location)
            .field("owner", &self.owner)
            .finish()
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
                &[&study.0, &next, &owner, &lease, &key],
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
                    "UPDATE anneal_trials SET state = 'running', finished = NULL, message = NULL, cause = NULL,
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

    fn set_params(&self, trial: TrialId, chosen: &[ChosenParam]) -> Result<()> {
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
            Ok(true)
        })?;
        held_or_lost(held, trial)
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
        held_or_lost(one(changed), trial)
    }

    fn report(&self, trial: TrialId, step: usize, value: f64) -> Result<()> {
        let (number, step) = (trial.number as i64, step as i64);
        // One statement, one round trip: the trial's row lock, taken in the same statement as
        // the write, keeps a stale-failing from slipping in between the check and the write.
        let written = self.run(|client| {
            client.execute(
                "WITH held AS (
                     SELECT 1 FROM anneal_trials
                     WHERE study_id = $1 AND number = $2 AND state = 'running'
                         AND (owner IS NULL OR owner = $5)
                     FOR UPDATE
                 )
                 INSERT INTO anneal_values (study_id, number, step, value)
                 SELECT $1, $2, $3, $4 FROM held
                 ON CONFLICT (study_id, number, step) DO UPDATE SET value = EXCLUDED.value",
                &[&trial.study.0, &number, &step, &value, &self.owner.as_str()],
            )
        })?;
        held_or_lost(one(written), trial)
    }

    fn finish(&self, trial: TrialId, end: &TrialEnd) -> Result<()> {
        let number = trial.number as i64;
        let cause = cause_json(end.cause);
        let changed = self.run(|client| {
            client.execute(
                &format!(
                    "UPDATE anneal_trials SET state = $3, value = $4, message = $5, cause = $7,
                         finished = {NOW}, owner = NULL, lease_until = NULL,
                         busy = busy + GREATEST(0, {NOW} - COALESCE(segment_started, {NOW})),
                         segment_started = NULL
                     WHERE study_id = $1 AND number = $2 AND state = 'running'
                         AND (owner IS NULL OR owner = $6)"
                ),
                &[
                    &trial.study.0,
                    &number,
                    &end.state.as_str(),
                    &end.value,
                    &end.message,
                    &self.owner.as_str(),
                    &cause,
                ],
            )
        })?;
        held_or_lost(one(changed), trial)
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
        let running = rows.iter().map(|row| (trial_row(row), row.get("expired")));
        stale_among(self, study, running)
    }

    fn fail_stale(&self, trial: TrialId, owner: &str, end: &TrialEnd) -> Result<bool> {
        // Still stale when written: a heartbeat that renewed the lease meanwhile wins.
        let gone = owner_is_gone(owner);
        let number = trial.number as i64;
        let cause = cause_json(end.cause);
        self.run(|client| {
            client.execute(
                &format!(
                    "UPDATE anneal_trials SET state = $6, finished = {NOW}, message = $3,
                         cause = $7, owner = NULL, lease_until = NULL
                     WHERE study_id = $1 AND number = $2 AND state = 'running' AND owner = $4
                         AND ($5 OR lease_until IS NULL OR lease_until < {NOW})"
                ),
                &[
                    &trial.study.0,
                    &number,
                    &end.message,
                    &owner,
                    &gone,
                    &end.state.as_str(),
                    &cause,
                ],
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
        let end = TrialEnd::paused(value, step);
        let cause = cause_json(end.cause);
        self.run(|client| {
            let mut tx = client.transaction()?;
            let changed = tx.execute(
                &format!(
                    "UPDATE anneal_trials SET state = 'paused', value = $3, message = $4,
                         cause = $7, finished = {NOW}, owner = NULL, lease_until = NULL,
                         busy = busy + GREATEST(0, {NOW} - COALESCE(segment_started, {NOW})),
                         segment_started = NULL
                     WHERE study_id = $1 AND number = $2 AND state = 'running' AND owner = $5
                         AND ($6 OR lease_until IS NULL OR lease_until < {NOW})"
                ),
                &[
                    &trial.study.0,
                    &number,
                    &end.value,
                    &end.message,
                    &owner,
                    &gone,
                    &cause,
                ],
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
        let (number, retry) = (failed.number as i64, retry as i64);
        self.run(|client| {
            client.execute(
                "UPDATE anneal_trials SET retried_as = $3
                 WHERE study_id = $1 AND number = $2 AND state = 'failed' AND retried_as IS NULL",
                &[&failed.study.0, &number, &retry],
            )
        })
        .map(one)
    }

    fn trials(&self, study: StudyId) -> Result<Vec<TrialRecord>> {
        self.trials_except(study, &[])
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
