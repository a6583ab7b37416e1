//! A trial being evaluated: its parameters are chosen as the objective asks for them
//! (define-by-run), so the space may differ from trial to trial, and its intermediate values
//! drive the pruner.

use anneal_rng::SeededRng;
use serde::Serialize;

use crate::distribution::{Distribution, Value};
use crate::error::{Result, TuneError};
use crate::pruner::{Decision, PruneQuery};
use crate::sampler::{Observation, SampleMemo};
use crate::space::{Assignment, Param, SearchSpace, lookup};
use crate::storage::{ChosenParam, TrialId, TrialRecord};
use crate::study::Study;

/// One trial of a [`Study`], handed to the objective (or returned by [`Study::ask`]).
pub struct Trial<'s> {
    pub(crate) study: &'s Study,
    pub(crate) id: TrialId,
    rng: SeededRng,
    history: Vec<Observation>,
    memo: SampleMemo,
    relative: Assignment,
    /// The joint values already in storage (recorded when the trial was claimed).
    recorded: Vec<ChosenParam>,
    params: Assignment,
    distributions: Vec<(String, Distribution)>,
    values: Vec<(usize, f64)>,
    resumed_from: Option<usize>,
    pub(crate) can_pause: bool,
    run_dir: Option<String>,
}

impl<'s> Trial<'s> {
    /// A new trial: `history` is what the sampler learns from, `relative` the values it drew
    /// jointly when the trial started, `recorded` those of them already in storage.
    pub(crate) fn new(
        study: &'s Study,
        id: TrialId,
        rng: SeededRng,
        history: Vec<Observation>,
        memo: SampleMemo,
        relative: Assignment,
        recorded: Vec<ChosenParam>,
    ) -> Self {
        Self {
            study,
            id,
            rng,
            history,
            memo,
            relative,
            recorded,
            params: Vec::new(),
            distributions: Vec::new(),
            values: Vec::new(),
            resumed_from: None,
            can_pause: false,
            run_dir: None,
        }
    }

    /// A trial continued from its pause, or re-opened by number: its parameters, values and
    /// folder as stored.
    pub(crate) fn reopen(study: &'s Study, record: &TrialRecord, resumed: bool) -> Self {
        let id = TrialId {
            study: study.id(),
            number: record.number,
        };
        Self {
            rng: study.sampler_rng(record.number),
            history: Vec::new(),
            memo: SampleMemo::default(),
            relative: Vec::new(),
            recorded: Vec::new(),
            params: record.params.clone(),
            distributions: record.distributions.clone(),
            values: record.intermediate.clone(),
            resumed_from: if resumed {
                record.last_step().map(|(step, _)| step)
            } else {
                None
            },
            can_pause: false,
            run_dir: record.run_dir.clone(),
            study,
            id,
        }
    }

    /// The trial's number in its study.
    pub fn number(&self) -> usize {
        self.id.number
    }

    /// The trial's own seed, derived from the study seed and its number: seed the objective's
    /// randomness with it and a study replays exactly.
    pub fn seed(&self) -> u64 {
        self.study.trial_seed(self.id.number)
    }

    /// The parameters chosen so far, in the order they were asked for.
    pub fn params(&self) -> &Assignment {
        &self.params
    }

    /// The values reported so far, `(step, value)`.
    pub fn reported(&self) -> &[(usize, f64)] {
        &self.values
    }

    /// The best value reported so far (for the study's direction).
    pub fn best_reported(&self) -> Option<f64> {
        let direction = self.study.direction();
        self.values
            .iter()
            .map(|(_, v)| *v)
            .reduce(|a, b| direction.best(a, b))
    }

    /// For a trial continued from a pause: the last step it reported before pausing.
    pub fn resumed_from(&self) -> Option<usize> {
        self.resumed_from
    }

    /// The folder the objective keeps this trial's files in, once set.
    pub fn run_dir(&self) -> Option<&str> {
        self.run_dir.as_deref()
    }

    /// Records the folder the objective keeps this trial's files in (`None`: it has none).
    pub fn set_run_dir(&mut self, run_dir: Option<&str>) -> Result<()> {
        self.study.storage().set_run_dir(self.id, run_dir)?;
        self.run_dir = run_dir.map(str::to_string);
        Ok(())
    }

    /// Records the trial's constraint values, each met when at most 0 (as Optuna's
    /// `constraints_func`): `parameters - 200_000.0` for "at most 200,000 parameters". A trial
    /// that misses one is kept and shown, but never reported as best, and the samplers steer
    /// away from it. Values that are not numbers are refused.
    pub fn set_constraints(&mut self, constraints: &[f64]) -> Result<()> {
        if let Some(bad) = constraints.iter().position(|c| !c.is_finite()) {
            return Err(crate::TuneError::config(
                format!("constraints[{bad}]"),
                "is not a finite number; give each constraint as a number, at most 0 when it is met",
            ));
        }
        self.study.storage().set_constraints(self.id, constraints)
    }

    /// A value for parameter `name` from `distribution`. Asking again for the same name gives
    /// the same value; a fixed distribution gives its value and records it.
    pub fn suggest(&mut self, name: &str, distribution: Distribution) -> Result<Value> {
        if let Some(i) = self.params.iter().position(|(n, _)| n == name) {
            let known = self.distributions.iter().find(|(n, _)| n == name);
            if self.resumed_from.is_some() || known.is_none_or(|(_, d)| *d == distribution) {
                return Ok(self.params[i].1.clone());
            }
            return Err(TuneError::config(
                name,
                format!(
                    "was already suggested in trial {} with another distribution ({:?}, now {distribution:?})",
                    self.id.number,
                    known.map(|(_, d)| d)
                ),
            ));
        }
        distribution
            .check()
            .map_err(|message| TuneError::config(name, message))?;
        let value = match (&distribution, lookup(&self.relative, name)) {
            (Distribution::Fixed(v), _) => v.clone(),
            (_, Some(v)) if distribution.contains(v) => v.clone(),
            _ => {
                let param = Param {
                    name: name.to_string(),
                    distribution: distribution.clone(),
                    when: Default::default(),
                    per_layer: None,
                };
                let context = self
                    .study
                    .sample_context(&self.history, self.id.number, &self.memo);
                self.study
                    .sampler()
                    .sample_independent(&context, &param, &mut self.rng)?
            }
        };
        let chosen = ChosenParam {
            name: name.to_string(),
            value: value.clone(),
            distribution: distribution.clone(),
        };
        if !self.recorded.contains(&chosen) {
            self.study.storage().set_params(self.id, &[chosen])?;
        }
        self.params.push((name.to_string(), value.clone()));
        self.distributions.push((name.to_string(), distribution));
        Ok(value)
    }

    /// A real number in `[low, high]`.
    pub fn suggest_float(&mut self, name: &str, low: f64, high: f64) -> Result<f64> {
        let log = false;
        self.float(name, Distribution::Float { low, high, log })
    }

    /// A real number in `[low, high]`, uniform on a log scale (`low` > 0).
    pub fn suggest_float_log(&mut self, name: &str, low: f64, high: f64) -> Result<f64> {
        let log = true;
        self.float(name, Distribution::Float { low, high, log })
    }

    /// An integer in `[low, high]`.
    pub fn suggest_int(&mut self, name: &str, low: i64, high: i64) -> Result<i64> {
        let (log, step) = (false, 1);
        self.int(
            name,
            Distribution::Int {
                low,
                high,
                log,
                step,
            },
        )
    }

    /// An integer in `[low, high]` on the grid `low + k·step`.
    pub fn suggest_int_step(&mut self, name: &str, low: i64, high: i64, step: i64) -> Result<i64> {
        let log = false;
        self.int(
            name,
            Distribution::Int {
                low,
                high,
                log,
                step,
            },
        )
    }

    /// An integer in `[low, high]`, uniform on a log scale (`low` ≥ 1).
    pub fn suggest_int_log(&mut self, name: &str, low: i64, high: i64) -> Result<i64> {
        let (log, step) = (true, 1);
        self.int(
            name,
            Distribution::Int {
                low,
                high,
                log,
                step,
            },
        )
    }

    /// One of `choices` (strings, numbers, booleans, or anything that serialises).
    pub fn suggest_categorical<T: Serialize + Clone>(
        &mut self,
        name: &str,
        choices: &[T],
    ) -> Result<T> {
        let values: Vec<Value> = choices
            .iter()
            .map(|c| {
                serde_json::to_value(c).map_err(|e| {
                    TuneError::config(name, format!("a choice cannot be recorded: {e}"))
                })
            })
            .collect::<Result<_>>()?;
        let chosen = self.suggest(name, Distribution::Categorical(values.clone()))?;
        let index = values.iter().position(|v| *v == chosen).ok_or_else(|| {
            TuneError::config(name, format!("the recorded value {chosen} is not a choice"))
        })?;
        Ok(choices[index].clone())
    }

    /// Values for a declared space, in order: conditional parameters only where their
    /// condition holds, per-layer parameters as one parameter per entry (`name[i]`). Returns the
    /// assignment with per-layer entries gathered into lists.
    pub fn suggest_space(&mut self, space: &SearchSpace) -> Result<Assignment> {
        let mut chosen: Assignment = Vec::with_capacity(space.params.len());
        for param in &space.params {
            if !SearchSpace::is_active(param, &chosen) {
                continue;
            }
            let value = match &param.per_layer {
                None => self.suggest(&param.name, param.distribution.clone())?,
                Some(size) => {
                    let layers = crate::sampler::layer_count(&chosen, size);
                    let entries = (0..layers)
                        .map(|i| {
                            let layer = param.layer(i);
                            self.suggest(&layer.name, layer.distribution)
                        })
                        .collect::<Result<_>>()?;
                    Value::Array(entries)
                }
            };
            chosen.push((param.name.clone(), value));
        }
        Ok(chosen)
    }

    fn float(&mut self, name: &str, distribution: Distribution) -> Result<f64> {
        let value = self.suggest(name, distribution)?;
        value.as_f64().ok_or_else(|| {
            TuneError::config(name, format!("recorded value {value} is not a number"))
        })
    }

    fn int(&mut self, name: &str, distribution: Distribution) -> Result<i64> {
        let value = self.suggest(name, distribution)?;
        value.as_i64().ok_or_else(|| {
            TuneError::config(name, format!("recorded value {value} is not an integer"))
        })
    }

    /// Records the value at `step` without asking the pruner (a trial's last step, say).
    pub fn record(&mut self, step: usize, value: f64) -> Result<()> {
        self.study.storage().report(self.id, step, value)?;
        match self.values.binary_search_by_key(&step, |(s, _)| *s) {
            Ok(i) => self.values[i].1 = value,
            Err(i) => self.values.insert(i, (step, value)),
        }
        Ok(())
    }

    /// Records the value at `step` and asks the pruner whether to go on:
    /// `Err(TuneError::Pruned)` when the trial should stop (return it from the objective), and
    /// for objectives that can pause `Err(TuneError::Paused)` when it should stop for now.
    pub fn report(&mut self, step: usize, value: f64) -> Result<()> {
        self.record(step, value)?;
        let query = PruneQuery {
            number: self.id.number,
            step,
            value,
            best: self.best_reported().unwrap_or(value),
            can_pause: self.can_pause,
        };
        match self
            .study
            .pruner()
            .decide(&query, &self.study.pruner_context())?
        {
            Decision::Continue => Ok(()),
            Decision::Prune => Err(TuneError::Pruned { step }),
            Decision::Pause if self.can_pause => Err(TuneError::Paused { step }),
            Decision::Pause => Err(TuneError::Pruned { step }),
        }
    }
}

impl std::fmt::Debug for Trial<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trial")
            .field("number", &self.id.number)
            .field("params", &self.params)
            .field("reported", &self.values)
            .field("resumed_from", &self.resumed_from)
            .finish()
    }
}
