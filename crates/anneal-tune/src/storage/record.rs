//! What a storage keeps about a trial: where it is in its life, why it ended as it did, and
//! how a running trial is ended. Every field that code decides by is typed; messages are for
//! people.

use serde::{Deserialize, Serialize};

use crate::distribution::Distribution;
use crate::space::Assignment;

/// Where a trial is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrialState {
    /// Claimed by a process and being evaluated.
    Running,
    /// Finished with a value.
    Complete,
    /// Stopped early by the pruner; its value is its best so far.
    Pruned,
    /// The objective failed, or the process running it died; [`TrialRecord::cause`] says which.
    Failed,
    /// Stopped at a successive-halving rung with its state saved; it continues if it ranks well
    /// enough once more trials reach the rung, and is pruned when the study settles otherwise.
    Paused,
    /// Stopped by the user (Ctrl-C) before it finished. It is over, but does not count toward
    /// the study's budget: running the study again finishes the budget.
    Interrupted,
}

impl TrialState {
    /// The state's name as stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            TrialState::Running => "running",
            TrialState::Complete => "complete",
            TrialState::Pruned => "pruned",
            TrialState::Failed => "failed",
            TrialState::Paused => "paused",
            TrialState::Interrupted => "interrupted",
        }
    }

    /// The state named `text` ([`TrialState::as_str`]'s words).
    pub fn parse(text: &str) -> Option<Self> {
        [
            TrialState::Running,
            TrialState::Complete,
            TrialState::Pruned,
            TrialState::Failed,
            TrialState::Paused,
            TrialState::Interrupted,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    /// Whether the trial is over (complete, pruned, failed or interrupted).
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            TrialState::Complete
                | TrialState::Pruned
                | TrialState::Failed
                | TrialState::Interrupted
        )
    }

    /// Whether the trial counts toward the study's budget (all but interrupted ones).
    pub fn counts_toward_budget(self) -> bool {
        self != TrialState::Interrupted
    }
}

/// Why a trial ended as it did. Stored beside the trial's message, which says the same in
/// words (with any detail); code reads this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Cause {
    /// The objective returned an error or panicked.
    ObjectiveError,
    /// The objective's value was not a finite number: the run blew up.
    Diverged,
    /// The objective ran past its time limit.
    TimedOut,
    /// The sampler could not choose the trial's parameters.
    SamplerError,
    /// A signal ended the process running the trial (an out-of-memory kill, a crash).
    Killed {
        /// The signal's number.
        signal: i32,
    },
    /// The process running the trial, on this host, exited before the trial finished.
    ProcessExited,
    /// The process running the trial stopped renewing its lease (hung, or cut off).
    LeaseLapsed,
    /// The user stopped it (Ctrl-C).
    ByUser,
    /// The pruner stopped it, after `step` where it reported one.
    Pruned {
        /// The last step it reported.
        step: Option<usize>,
    },
    /// Paused at a rung after `step`, its state saved.
    Paused {
        /// The step it paused after.
        step: usize,
    },
}

impl Cause {
    /// Whether the trial's process died under it (its parameters are not to blame).
    pub fn process_died(self) -> bool {
        matches!(
            self,
            Cause::Killed { .. } | Cause::ProcessExited | Cause::LeaseLapsed
        )
    }

    /// Whether the process stopped without a reason that says anything about the trial's
    /// settings: the failure guard leaves such trials out. A kill by a signal (often running
    /// out of memory) counts, since the settings may well cause it.
    pub fn is_interruption(self) -> bool {
        matches!(
            self,
            Cause::ProcessExited | Cause::LeaseLapsed | Cause::ByUser
        )
    }
}

/// The cause in words, as a trial's message starts (or is, when there is nothing more to say).
impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const STOPPED: &str =
            "interrupted: the process running this trial stopped before it finished";
        match *self {
            Cause::ObjectiveError => write!(f, "the objective failed"),
            Cause::Diverged => write!(f, "diverged"),
            Cause::TimedOut => write!(f, "timed out"),
            Cause::SamplerError => write!(f, "the sampler failed"),
            Cause::Killed { signal } => {
                let why = match signal {
                    6 => {
                        "SIGABRT: the process aborted, likely a failed memory allocation (out of memory)"
                    }
                    9 => "SIGKILL: likely the kernel's out-of-memory killer",
                    11 => "SIGSEGV: a crash",
                    _ => "the process was ended",
                };
                write!(f, "killed by signal {signal} ({why})")
            }
            Cause::ProcessExited => write!(f, "{STOPPED} (its process had exited)"),
            Cause::LeaseLapsed => write!(f, "{STOPPED} (its lease lapsed)"),
            Cause::ByUser => write!(
                f,
                "interrupted by the user (not counted toward the budget: run the study again to finish it)"
            ),
            Cause::Pruned { step: Some(step) } => write!(f, "pruned after step {step}"),
            Cause::Pruned { step: None } => write!(f, "pruned"),
            Cause::Paused { step } => write!(f, "paused after step {step}"),
        }
    }
}

/// How a running trial ends, as [`crate::LeasedStorage::finish`] records it.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialEnd {
    /// Complete, pruned, failed, paused or interrupted.
    pub state: TrialState,
    /// Its value (complete; the first objective's in a study with several), or its best so far
    /// (pruned, paused, interrupted).
    pub value: Option<f64>,
    /// Every objective's value of a complete trial of a study with several objectives, in the
    /// study's order; empty otherwise.
    pub values: Vec<f64>,
    /// Why, for every state but complete.
    pub cause: Option<Cause>,
    /// The same in words, with any detail.
    pub message: Option<String>,
}

impl TrialEnd {
    /// Finished with `value`.
    pub fn complete(value: f64) -> Self {
        Self {
            state: TrialState::Complete,
            value: Some(value),
            values: Vec::new(),
            cause: None,
            message: None,
        }
    }

    /// Finished with one value per objective (a single value is a single-objective end).
    pub fn complete_all(values: &[f64]) -> Self {
        Self {
            values: match values.len() {
                0 | 1 => Vec::new(),
                _ => values.to_vec(),
            },
            ..Self::complete(values.first().copied().unwrap_or(f64::NAN))
        }
    }

    /// Failed for `cause`, with `message` in words (an error's text; the cause's own words
    /// where there is none), bounded in size: it may be megabytes of a program's output.
    pub fn failed(cause: Cause, message: Option<&str>) -> Self {
        let message = match message {
            Some(message) if !message.is_empty() => anneal_text::clip_message(message).into_owned(),
            _ => cause.to_string(),
        };
        Self {
            state: TrialState::Failed,
            value: None,
            values: Vec::new(),
            cause: Some(cause),
            message: Some(message),
        }
    }

    /// Stopped by the pruner after `step`, `value` its best so far.
    pub fn pruned(value: Option<f64>, step: Option<usize>) -> Self {
        Self::stopped(TrialState::Pruned, value, Cause::Pruned { step })
    }

    /// Paused at a rung after `step`, `value` its best so far.
    pub fn paused(value: f64, step: usize) -> Self {
        Self::stopped(TrialState::Paused, Some(value), Cause::Paused { step })
    }

    /// Stopped by the user, `value` its best so far.
    pub fn interrupted(value: Option<f64>) -> Self {
        Self::stopped(TrialState::Interrupted, value, Cause::ByUser)
    }

    /// The step a pause ends after.
    pub fn paused_after(&self) -> Option<usize> {
        paused_step(self.state, self.cause)
    }

    fn stopped(state: TrialState, value: Option<f64>, cause: Cause) -> Self {
        Self {
            state,
            value,
            values: Vec::new(),
            cause: Some(cause),
            message: Some(cause.to_string()),
        }
    }
}

/// The step a trial in `state` for `cause` paused after.
fn paused_step(state: TrialState, cause: Option<Cause>) -> Option<usize> {
    match (state, cause) {
        (TrialState::Paused, Some(Cause::Paused { step })) => Some(step),
        _ => None,
    }
}

/// A trial as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialRecord {
    /// Its number in the study.
    pub number: usize,
    /// Where it is in its life.
    pub state: TrialState,
    /// Its parameters in the order they were suggested.
    pub params: Assignment,
    /// Each parameter's distribution, in the same order.
    pub distributions: Vec<(String, Distribution)>,
    /// The objective's value (complete; the first objective's in a study with several), or the
    /// best value so far (pruned, paused).
    pub value: Option<f64>,
    /// Every objective's value of a complete trial of a study with several objectives, in the
    /// study's order; empty in a single-objective study, where [`TrialRecord::value`] is all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<f64>,
    /// The trial's constraint values, each satisfied when at most 0 (as Optuna's); empty when
    /// the study has no constraints.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<f64>,
    /// `(step, value)` reported while it ran, in step order.
    pub intermediate: Vec<(usize, f64)>,
    /// When it was claimed (seconds since the Unix epoch).
    pub started: f64,
    /// When it finished or paused.
    pub finished: Option<f64>,
    /// Seconds it spent running, over all its segments (a paused trial's wait not counted).
    #[serde(default)]
    pub running_seconds: f64,
    /// Why it failed, was pruned, paused or interrupted, for code to read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<Cause>,
    /// The same in words for people, with any detail (an error's text, a program's last
    /// lines of output).
    pub message: Option<String>,
    /// The trial that took this failed trial's parameters to run them again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retried_as: Option<usize>,
    /// The folder the objective kept its files in (a run folder, a working directory).
    pub run_dir: Option<String>,
    /// The storage handle (process) running it, while it runs under a lease.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

impl TrialRecord {
    /// Seconds from its first claim to its end (or pause), waits included.
    pub fn wall_seconds(&self) -> Option<f64> {
        self.finished.map(|f| f - self.started)
    }

    /// What people read about how it ended: its message, and the trial that retried it.
    pub fn note(&self) -> Option<String> {
        match (self.message.as_deref(), self.retried_as) {
            (Some(message), Some(retry)) => Some(format!("{message}; retried as trial {retry}")),
            (None, Some(retry)) => Some(format!("retried as trial {retry}")),
            (message, None) => message.map(str::to_string),
        }
    }

    /// The step a paused trial stopped after.
    pub fn paused_after(&self) -> Option<usize> {
        paused_step(self.state, self.cause)
    }

    /// Whether the trial failed because its process died (interrupted, killed by a signal):
    /// its parameters are not to blame, so a retry may take them and samplers learn nothing
    /// from it.
    pub fn process_died(&self) -> bool {
        self.state == TrialState::Failed && self.cause.is_some_and(Cause::process_died)
    }

    /// Every objective's value of a complete trial: [`TrialRecord::values`] in a study with
    /// several objectives, else its one value.
    pub fn objective_values(&self) -> Vec<f64> {
        match (self.values.is_empty(), self.value) {
            (false, _) => self.values.clone(),
            (true, Some(value)) => vec![value],
            (true, None) => Vec::new(),
        }
    }

    /// How far the trial is from meeting its constraints: the sum of the parts above 0 (0 when
    /// it meets them all, or has none).
    pub fn violation(&self) -> f64 {
        crate::pareto::violation(&self.constraints)
    }

    /// Whether the trial meets every constraint (a trial with none does).
    pub fn is_feasible(&self) -> bool {
        self.violation() <= 0.0
    }

    /// The last reported step and its value.
    pub fn last_step(&self) -> Option<(usize, f64)> {
        self.intermediate.last().copied()
    }
}

/// A value reported at one step, as a pruner reads them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepValue {
    /// The reporting trial's number.
    pub number: usize,
    /// Its state now.
    pub state: TrialState,
    /// The value it reported at the step.
    pub value: f64,
}

/// One parameter of a trial as recorded: its value and the distribution it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct ChosenParam {
    /// The parameter's name.
    pub name: String,
    /// The value chosen.
    pub value: crate::Value,
    /// Where it was drawn from.
    pub distribution: Distribution,
}
