//! Studies held in this process: for tests, notebooks-style experiments and library users who
//! need no persistence. Same rules as the database storages, nothing survives the process.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use super::encoding::upsert;
use super::owner::Owner;
use super::{
    ChosenParam, NewStudy, StepValue, Storage, StudyId, StudyRecord, TrialEnd, TrialId,
    TrialRecord, TrialState, check_same_study, held_or_lost, now,
};
use crate::error::Result;

/// An in-memory storage (the default of [`crate::Study::builder`]). Everything in it lives in
/// this process, so its trials are never stale; leases are kept only as owners.
#[derive(Debug)]
pub struct MemoryStorage {
    state: Mutex<State>,
    owner: Owner,
}

impl Default for MemoryStorage {
    fn default() -> Self {
        Self {
            state: Mutex::default(),
            owner: Owner::new(),
        }
    }
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
    fn trial_mut(&mut self, trial: TrialId) -> Option<&mut TrialRecord> {
        self.trials
            .get_mut(&trial.study)?
            .iter_mut()
            .find(|t| t.number == trial.number)
    }

    /// The trial, if it is running and `owner` holds it.
    fn running_held_by(&mut self, trial: TrialId, owner: &str) -> Option<&mut TrialRecord> {
        self.trial_mut(trial)
            .filter(|t| t.state == TrialState::Running && t.owner.as_deref() == Some(owner))
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

    /// Applies `change` to the trial if it is in `state` (and, running, held by this handle or
    /// nobody); whether it was.
    fn change(
        &self,
        trial: TrialId,
        state: TrialState,
        change: impl FnOnce(&mut TrialRecord),
    ) -> bool {
        let mut guard = self.lock();
        let found = guard
            .trial_mut(trial)
            .filter(|t| t.state == state)
            .filter(|t| {
                state != TrialState::Running
                    || t.owner
                        .as_deref()
                        .is_none_or(|owner| owner == self.owner.as_str())
            });
        match found {
            Some(record) => {
                change(record);
                true
            }
            None => false,
        }
    }
}

impl Storage for MemoryStorage {
    fn location(&self) -> String {
        "memory".into()
    }

    fn owner(&self) -> &str {
        self.owner.as_str()
    }

    fn lease(&self) -> std::time::Duration {
        super::DEFAULT_LEASE
    }

    fn heartbeat(&self) -> Result<usize> {
        let state = self.lock();
        Ok(state
            .trials
            .values()
            .flatten()
            .filter(|t| {
                t.state == TrialState::Running && t.owner.as_deref() == Some(self.owner.as_str())
            })
            .count())
    }

    fn stale(&self, _study: StudyId) -> Result<Vec<TrialRecord>> {
        Ok(Vec::new())
    }

    fn mark_retried(&self, failed: TrialId, retry: usize) -> Result<bool> {
        let mut state = self.lock();
        let Some(t) = state
            .trial_mut(failed)
            .filter(|t| t.state == TrialState::Failed && t.retried_as.is_none())
        else {
            return Ok(false);
        };
        t.retried_as = Some(retry);
        Ok(true)
    }

    fn fail_stale(&self, trial: TrialId, owner: &str, end: &TrialEnd) -> Result<bool> {
        let mut state = self.lock();
        let Some(t) = state.running_held_by(trial, owner) else {
            return Ok(false);
        };
        ended(t, end);
        Ok(true)
    }

    fn create_study(&self, new: &NewStudy) -> Result<StudyRecord> {
        let mut state = self.lock();
        if let Some(existing) = state.studies.iter().find(|s| s.name == new.name) {
            check_same_study(existing, new, "memory")?;
            return Ok(existing.clone());
        }
        state.next_id += 1;
        let record = StudyRecord {
            id: StudyId(state.next_id),
            name: new.name.clone(),
            direction: new.direction,
            objective: new.objective.clone(),
            sampler: new.sampler.clone(),
            definition: new.definition.clone(),
            seed: new.seed,
            created: now(),
        };
        state.studies.push(record.clone());
        state.trials.insert(record.id, Vec::new());
        Ok(record)
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
        leased: bool,
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
            intermediate: Vec::new(),
            started: now(),
            finished: None,
            running_seconds: 0.0,
            cause: None,
            message: None,
            retried_as: None,
            run_dir: None,
            owner: leased.then(|| self.owner.as_str().to_string()),
        });
        state.segments.insert((study, number), now());
        Ok(Some(TrialId { study, number }))
    }

    fn claim_paused(&self, trial: TrialId) -> Result<bool> {
        let claimed = self.change(trial, TrialState::Paused, |t| {
            t.state = TrialState::Running;
            t.finished = None;
            t.cause = None;
            t.message = None;
            t.owner = Some(self.owner.as_str().to_string());
        });
        if claimed {
            self.lock()
                .segments
                .insert((trial.study, trial.number), now());
        }
        Ok(claimed)
    }

    fn set_params(&self, trial: TrialId, chosen: &[ChosenParam]) -> Result<()> {
        let held = self.change(trial, TrialState::Running, |t| {
            for c in chosen {
                upsert(&mut t.params, &c.name, c.value.clone());
                upsert(&mut t.distributions, &c.name, c.distribution.clone());
            }
        });
        held_or_lost(held, trial)
    }

    fn set_run_dir(&self, trial: TrialId, run_dir: Option<&str>) -> Result<()> {
        let held = self.change(trial, TrialState::Running, |t| {
            t.run_dir = run_dir.map(str::to_string);
        });
        held_or_lost(held, trial)
    }

    fn report(&self, trial: TrialId, step: usize, value: f64) -> Result<()> {
        let held = self.change(trial, TrialState::Running, |t| {
            match t.intermediate.binary_search_by_key(&step, |(s, _)| *s) {
                Ok(i) => t.intermediate[i].1 = value,
                Err(i) => t.intermediate.insert(i, (step, value)),
            }
        });
        held_or_lost(held, trial)
    }

    fn finish(&self, trial: TrialId, end: &TrialEnd) -> Result<()> {
        let segment = self.lock().segments.remove(&(trial.study, trial.number));
        let held = self.change(trial, TrialState::Running, |t| {
            ended(t, end);
            let finished = t.finished.unwrap_or_default();
            t.running_seconds += segment.map_or(0.0, |start| finished - start);
        });
        held_or_lost(held, trial)
    }

    fn revert_to_paused(
        &self,
        trial: TrialId,
        owner: &str,
        step: usize,
        value: f64,
    ) -> Result<bool> {
        let mut state = self.lock();
        let Some(t) = state.running_held_by(trial, owner) else {
            return Ok(false);
        };
        t.intermediate.retain(|(s, _)| *s <= step);
        ended(t, &TrialEnd::paused(value, step));
        Ok(true)
    }

    fn release(&self, trial: TrialId) -> Result<()> {
        let mut state = self.lock();
        if let Some(trials) = state.trials.get_mut(&trial.study) {
            trials.retain(|t| !(t.number == trial.number && t.state == TrialState::Running));
        }
        Ok(())
    }

    fn trials(&self, study: StudyId) -> Result<Vec<TrialRecord>> {
        Ok(self.lock().trials.get(&study).cloned().unwrap_or_default())
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

/// Ends running trial `t` as `end` says, now.
fn ended(t: &mut TrialRecord, end: &TrialEnd) {
    t.state = end.state;
    t.value = end.value;
    t.cause = end.cause;
    t.message = end.message.clone();
    t.finished = Some(now());
    t.owner = None;
}
