//! The optimisation loop: claim a trial within the budget (or continue a promotable paused
//! one), evaluate it, record how it ended; when the budget is spent, settle the paused trials.
//! The loop keeps no state beyond the storage, so a process killed at any point resumes where
//! it stopped, and several processes can run it on one study.

use std::panic::{AssertUnwindSafe, catch_unwind};

use super::history::check_not_all_failing;
use super::{Outcome, Study};
use crate::error::{Result, TuneError};
use crate::objective::{BoxError, FnObjective, Objective, Quiet, StudyObserver, Values};
use crate::pruner::Settlement;
use crate::storage::{Cause, TrialEnd, TrialId, TrialRecord, TrialState};

/// The longest the settling process sleeps between looks at other processes' trials.
const WAIT_FOR_OTHERS: std::time::Duration = std::time::Duration::from_secs(2);
use crate::trial::Trial;

/// How an optimisation run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct OptimizeOutcome {
    /// Every trial of the study afterwards.
    pub trials: Vec<TrialRecord>,
    /// The sampler ran out of points (a grid smaller than the budget).
    pub exhausted: bool,
}

/// What [`Study::optimize_with`] does with paused trials once the budget is spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PausedTrials {
    /// Settle them: continue those a rung-based pruner promotes, prune the rest (the process
    /// that owns the study, after any workers).
    Settle,
    /// Leave them for the process that settles (a worker beside others).
    Leave,
}

impl Study {
    /// Evaluates `objective` until the study holds `trials` trials in all (trials of earlier
    /// runs count, so rerunning after a kill finishes the same budget), then settles paused
    /// trials. Return `Err` from the objective to fail a trial (the study goes on), or the
    /// [`TuneError::Pruned`] that [`Trial::report`] gave to record it pruned.
    pub fn optimize<F, V>(&self, trials: usize, objective: F) -> Result<OptimizeOutcome>
    where
        F: FnMut(&mut Trial) -> Result<V, BoxError>,
        V: Into<Values>,
    {
        self.optimize_with(
            trials,
            &mut FnObjective(objective),
            &mut Quiet,
            PausedTrials::Settle,
        )
    }

    /// [`Study::optimize`] for an [`Objective`], reporting progress to `observer`. With
    /// [`PausedTrials::Leave`] this is a worker beside others: it stops when there is no trial
    /// to start or promote and leaves paused trials for the process that settles (which runs
    /// once every worker has exited, so no worker ever waits on a trial a dead process left
    /// running).
    pub fn optimize_with(
        &self,
        trials: usize,
        objective: &mut dyn Objective,
        observer: &mut dyn StudyObserver,
        paused: PausedTrials,
    ) -> Result<OptimizeOutcome> {
        let settle = paused == PausedTrials::Settle;
        let mut exhausted = false;
        let can_pause = objective.can_pause();
        loop {
            if observer.stop() {
                break;
            }
            self.recover_stale(objective)?;
            let snapshot = self.trials()?;
            check_not_all_failing(&snapshot, self.max_failures)?;
            // Promotions come before new trials (ASHA): a paused trial that now ranks in the
            // best 1/η of its rung continues from its saved state.
            if can_pause {
                if let Some(number) = self
                    .pruner()
                    .next_promotion(&snapshot, &self.pruner_context())
                {
                    if self.continue_paused(number, objective, observer)? {
                        break; // the user interrupted it
                    }
                    continue;
                }
            }
            let claimed = if exhausted {
                None
            } else {
                self.storage().claim_new(self.id(), Some(trials))?
            };
            let started = match claimed {
                Some(id) => match self.start(id, &snapshot) {
                    Ok(started) => started,
                    // The claim is this process's: end it rather than hold it for ever.
                    Err(e) => {
                        let _ = self.storage().finish(
                            id,
                            &TrialEnd::failed(
                                Cause::SamplerError,
                                Some(&format!("{}: {e}", Cause::SamplerError)),
                            ),
                        );
                        return Err(e);
                    }
                },
                None => None,
            };
            let Some(mut trial) = started else {
                exhausted |= claimed.is_some();
                // Nothing new to start. Trials other processes still run may promote paused
                // ones, so the settling process waits for them (a dead process's trials go
                // stale within a lease), then settles the paused trials nobody will promote.
                let held_elsewhere = snapshot
                    .iter()
                    .any(|t| t.state == TrialState::Running && t.owner.is_some());
                if settle && held_elsewhere {
                    std::thread::sleep(self.storage().lease().min(WAIT_FOR_OTHERS) / 4);
                    continue;
                }
                if settle && self.settle_paused(&snapshot, objective, observer)? {
                    continue;
                }
                break;
            };
            trial.can_pause = can_pause;
            if self.evaluate(trial, objective, observer)? {
                break; // the user interrupted it
            }
        }
        Ok(OptimizeOutcome {
            trials: self.trials()?,
            exhausted,
        })
    }

    /// Continues paused trial `number` if this process is first to claim it; whether the user
    /// interrupted it.
    fn continue_paused(
        &self,
        number: usize,
        objective: &mut dyn Objective,
        observer: &mut dyn StudyObserver,
    ) -> Result<bool> {
        let id = TrialId {
            study: self.id(),
            number,
        };
        if !self.storage().claim_paused(id)? {
            return Ok(false);
        }
        let record = self
            .storage()
            .trial(id)?
            .ok_or_else(|| TuneError::config("trial", format!("paused trial {number} vanished")))?;
        let mut trial = Trial::reopen(self, &record, true);
        trial.can_pause = objective.can_pause();
        self.evaluate(trial, objective, observer)
    }

    /// Once no new trial will start: continue the paused trial the pruner picks, or prune the
    /// rest where they stopped. `true` when the loop should look again.
    fn settle_paused(
        &self,
        trials: &[TrialRecord],
        objective: &mut dyn Objective,
        observer: &mut dyn StudyObserver,
    ) -> Result<bool> {
        match self.pruner().settle(trials, &self.pruner_context()) {
            Settlement::Continue(number) => {
                // After the user interrupted it, the loop stops.
                return Ok(!self.continue_paused(number, objective, observer)?);
            }
            Settlement::Prune(numbers) => {
                for number in numbers {
                    let id = TrialId {
                        study: self.id(),
                        number,
                    };
                    let Some(record) = trials.iter().find(|t| t.number == number) else {
                        continue;
                    };
                    let step = record.last_step().map(|(s, _)| s);
                    let end = TrialEnd {
                        message: Some(format!(
                            "{} (paused at a rung, never promoted)",
                            Cause::Pruned { step }
                        )),
                        ..TrialEnd::pruned(record.value, step)
                    };
                    // The trial is claimed (running, this process's, under its lease) so that no
                    // other process promotes it meanwhile; the study learns it ended before its
                    // files are ended. A kill before the record leaves it running, and the next
                    // process puts it back to its pause (its saved state untouched); a kill after
                    // it leaves a pruned trial whose folder still holds its state, which
                    // `Objective::tidy` ends again.
                    if self.storage().claim_paused(id)? {
                        match self.storage().finish(id, &end) {
                            Err(TuneError::LeaseLost { .. }) => continue,
                            other => other?,
                        }
                        objective.discard_paused(record);
                        self.announce(number, observer)?;
                    }
                }
            }
        }
        objective.tidy(&self.trials()?);
        Ok(false)
    }

    /// Evaluates a claimed trial (a panic is a failure of that trial) and records how it
    /// ended; whether the user interrupted it.
    fn evaluate(
        &self,
        mut trial: Trial<'_>,
        objective: &mut dyn Objective,
        observer: &mut dyn StudyObserver,
    ) -> Result<bool> {
        observer.trial_started(trial.number(), trial.resumed_from());
        let result = catch_unwind(AssertUnwindSafe(|| objective.evaluate(&mut trial)))
            .unwrap_or_else(|panic| Err(panic_message(panic).into()));
        let outcome = match result {
            Ok(values) => Outcome::Complete(values.0),
            Err(error) => match tune_error(error.as_ref()) {
                Some(TuneError::Pruned { step }) => Outcome::Pruned {
                    value: trial.best_reported(),
                    step: Some(*step),
                },
                Some(TuneError::Paused { step }) if trial.can_pause => Outcome::Paused {
                    value: trial.best_reported().unwrap_or(f64::NAN),
                    step: *step,
                },
                Some(TuneError::Interrupted) => Outcome::Interrupted {
                    value: trial.best_reported(),
                },
                found => Outcome::Failed {
                    cause: match found {
                        Some(TuneError::TimedOut { .. }) => Cause::TimedOut,
                        _ => Cause::ObjectiveError,
                    },
                    message: error_chain(error.as_ref()),
                },
            },
        };
        let interrupted = matches!(outcome, Outcome::Interrupted { .. });
        let number = trial.number();
        match self.record_outcome(trial.id, outcome) {
            // Another process declared this trial stale and ended it: its record stands.
            Err(TuneError::LeaseLost { number }) => {
                tracing::warn!("trial {number} was ended by another process (its lease lapsed)");
                Ok(interrupted)
            }
            Err(e) => Err(e),
            Ok(_) => self.announce(number, observer).map(|()| interrupted),
        }
    }

    fn announce(&self, number: usize, observer: &mut dyn StudyObserver) -> Result<()> {
        let trials = self.trials()?;
        if let Some(trial) = trials.iter().find(|t| t.number == number) {
            observer.trial_finished(trial, self.best_of(&trials));
        }
        Ok(())
    }
}

/// The tuner's own error in an objective's error or its causes (a prune wrapped by the user's
/// error type still counts as a prune).
fn tune_error<'e>(error: &'e (dyn std::error::Error + 'static)) -> Option<&'e TuneError> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<TuneError>() {
            return Some(found);
        }
        current = e.source();
    }
    None
}

/// An error with its causes, each once ("a: b: c").
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        source = cause.source();
    }
    text
}

fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    let message = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into());
    format!("panicked: {message}")
}
