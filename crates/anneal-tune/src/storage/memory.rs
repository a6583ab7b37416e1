//! Studies held in this process: for tests, notebooks-style experiments and library users who
//! need no persistence. Same rules as the database storages, nothing survives the process.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use super::encoding::upsert;
use super::{
    Change, Condition, Lease, LeaseState, NewStudy, Standing, StepValue, Storage, StudyId,
    StudyRecord, TrialId, TrialRecord, TrialState, now,
};
use crate::error::Result;

/// An in-memory storage (the default of [`crate::Study::builder`]). Everything in it lives in
/// this process, so no lease ever runs out (and no heartbeat is needed): a trial is stale only
/// once the handle that held it is dropped.
#[derive(Debug, Default)]
pub struct MemoryStorage {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    studies: Vec<StudyRecord>,
    trials: HashMap<StudyId, Vec<TrialRecord>>,
    next_id: i64,
    /// When each running trial's current segment began.
    segments: HashMap<(StudyId, usize), f64>,
}

impl State {
    /// The study's trials, in number order (none for an unknown study).
    fn trials_of(&self, study: StudyId) -> impl Iterator<Item = &TrialRecord> {
        self.trials.get(&study).into_iter().flatten()
    }

    fn trial_mut(&mut self, trial: TrialId) -> Option<&mut TrialRecord> {
        self.trials
            .get_mut(&trial.study)?
            .iter_mut()
            .find(|t| t.number == trial.number)
    }
}

impl MemoryStorage {
    /// An empty storage.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Storage for MemoryStorage {
    fn location(&self) -> String {
        "memory".into()
    }

    fn shared(&self) -> bool {
        false
    }

    fn add_study(&self, new: &NewStudy) -> Result<()> {
        let mut state = self.lock();
        if state.studies.iter().any(|s| s.name == new.name) {
            return Ok(());
        }
        state.next_id += 1;
        let record = StudyRecord {
            id: StudyId(state.next_id),
            name: new.name.clone(),
            direction: new.direction,
            directions: new.all_directions(),
            objective: new.objective.clone(),
            sampler: new.sampler.clone(),
            definition: new.definition.clone(),
            seed: new.seed,
            created: now(),
        };
        state.trials.insert(record.id, Vec::new());
        state.studies.push(record);
        Ok(())
    }

    fn study(&self, name: &str) -> Result<Option<StudyRecord>> {
        Ok(self.lock().studies.iter().find(|s| s.name == name).cloned())
    }

    fn studies(&self) -> Result<Vec<StudyRecord>> {
        Ok(self.lock().studies.clone())
    }

    fn delete_study(&self, study: StudyId) -> Result<()> {
        let mut state = self.lock();
        state.studies.retain(|s| s.id != study);
        state.trials.remove(&study);
        Ok(())
    }

    fn claim_new(
        &self,
        study: StudyId,
        budget: Option<usize>,
        lease: Option<Lease<'_>>,
    ) -> Result<Option<TrialId>> {
        let mut state = self.lock();
        let trials = state.trials.entry(study).or_default();
        let counted = trials
            .iter()
            .filter(|t| t.state.counts_toward_budget())
            .count();
        if budget.is_some_and(|budget| counted >= budget) {
            return Ok(None);
        }
        let number = trials.last().map_or(0, |t| t.number + 1);
        trials.push(TrialRecord {
            number,
            state: TrialState::Running,
            params: Vec::new(),
            distributions: Vec::new(),
            value: None,
            values: Vec::new(),
            constraints: Vec::new(),
            intermediate: Vec::new(),
            started: now(),
            finished: None,
            running_seconds: 0.0,
            cause: None,
            message: None,
            retried_as: None,
            run_dir: None,
            owner: lease.map(|lease| lease.owner.to_string()),
        });
        state.segments.insert((study, number), now());
        Ok(Some(TrialId { study, number }))
    }

    fn update(&self, trial: TrialId, when: Condition<'_>, change: Change<'_>) -> Result<bool> {
        let mut state = self.lock();
        let Some(t) = state.trial_mut(trial) else {
            return Ok(false);
        };
        let standing = Standing {
            state: t.state,
            owner: t.owner.as_deref(),
            // Nothing outside this process shares it: no lease runs out.
            lease_until: Some(f64::INFINITY),
            retried: t.retried_as.is_some(),
        };
        if !when.holds(&standing, now()) {
            return Ok(false);
        }
        match change {
            Change::Params(chosen) => {
                for c in chosen {
                    upsert(&mut t.params, &c.name, c.value.clone());
                    upsert(&mut t.distributions, &c.name, c.distribution.clone());
                }
            }
            Change::RunDir(run_dir) => t.run_dir = run_dir.map(str::to_string),
            Change::Report { step, value } => {
                match t.intermediate.binary_search_by_key(&step, |(s, _)| *s) {
                    Ok(i) => t.intermediate[i].1 = value,
                    Err(i) => t.intermediate.insert(i, (step, value)),
                }
            }
            Change::End(end) => {
                if let Some(step) = change.keeps_values_through() {
                    t.intermediate.retain(|(s, _)| *s <= step);
                }
                t.state = end.state;
                t.value = end.value;
                t.values = end.values.clone();
                t.cause = end.cause;
                t.message = end.message.clone();
                t.owner = None;
                let finished = now();
                t.finished = Some(finished);
                let segment = state.segments.remove(&(trial.study, trial.number));
                let t = state.trial_mut(trial).expect("found above");
                t.running_seconds += segment.map_or(0.0, |start| (finished - start).max(0.0));
            }
            Change::Resume(lease) => {
                t.state = TrialState::Running;
                t.finished = None;
                t.cause = None;
                t.message = None;
                t.owner = Some(lease.owner.to_string());
                state.segments.insert((trial.study, trial.number), now());
            }
            Change::Constraints(constraints) => t.constraints = constraints.to_vec(),
            Change::RetriedAs(retry) => t.retried_as = Some(retry),
            Change::Remove => {
                if let Some(trials) = state.trials.get_mut(&trial.study) {
                    trials.retain(|t| t.number != trial.number);
                }
            }
        }
        Ok(true)
    }

    fn renew(&self, lease: Lease<'_>) -> Result<usize> {
        let state = self.lock();
        Ok(state
            .trials
            .values()
            .flatten()
            .filter(|t| t.state == TrialState::Running && t.owner.as_deref() == Some(lease.owner))
            .count())
    }

    fn leases(&self, study: StudyId) -> Result<Vec<LeaseState>> {
        let state = self.lock();
        Ok(state
            .trials_of(study)
            .filter(|t| t.state == TrialState::Running)
            .filter_map(|t| {
                Some(LeaseState {
                    number: t.number,
                    owner: t.owner.clone()?,
                    expired: false,
                })
            })
            .collect())
    }

    fn trials_except(&self, study: StudyId, known: &[usize]) -> Result<Vec<TrialRecord>> {
        let state = self.lock();
        Ok(state
            .trials_of(study)
            .filter(|t| !(t.state.is_finished() && known.binary_search(&t.number).is_ok()))
            .cloned()
            .collect())
    }

    fn trial(&self, trial: TrialId) -> Result<Option<TrialRecord>> {
        Ok(self
            .lock()
            .trials
            .get(&trial.study)
            .and_then(|trials| trials.iter().find(|t| t.number == trial.number).cloned()))
    }

    fn values_at(&self, study: StudyId, step: usize) -> Result<Vec<StepValue>> {
        Ok(self
            .lock()
            .trials
            .get(&study)
            .map(|trials| {
                trials
                    .iter()
                    .filter_map(|t| {
                        let (_, value) = t.intermediate.iter().find(|(s, _)| *s == step)?;
                        Some(StepValue {
                            number: t.number,
                            state: t.state,
                            value: *value,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default())
    }
}
