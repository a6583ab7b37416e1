//! What `anneal tune` prints as trials end, and the retrained model's test figures.

use anneal_train::{Summary, TaskMetrics};
use anneal_tune::{Study, StudyObserver, TrialRecord, TrialState};
use anyhow::{Result, bail};

use crate::commands::study::{fmt_params, fmt_value};

/// One line per trial as it ends: its outcome, time, parameters and the best so far.
pub(super) struct Progress {
    pub(super) quiet: bool,
}

impl StudyObserver for Progress {
    /// Nobody reads the progress any more (`anneal tune ... | head`): stop claiming trials.
    fn stop(&self) -> bool {
        crate::output::closed()
    }

    fn trial_finished(&mut self, trial: &TrialRecord, best: Option<&TrialRecord>) {
        if self.quiet {
            return;
        }
        let outcome = match trial.state {
            TrialState::Complete => format!("value {}", fmt_value(trial.value)),
            _ => format!(
                "{}: {}",
                trial.state.as_str(),
                trial.message.as_deref().unwrap_or("")
            ),
        };
        outln!(
            "trial {:>3}  {outcome}  ({:.1}s)  {}  | best {}",
            trial.number,
            trial.running_seconds,
            fmt_params(&trial.params),
            best.map_or("-".into(), |b| format!(
                "{} (trial {})",
                fmt_value(b.value),
                b.number
            ))
        );
    }
}

/// Reports the trials workers finish, read from the study as they land.
#[derive(Default)]
pub(super) struct Printer {
    reported: std::collections::HashSet<(usize, &'static str)>,
}

impl Printer {
    /// Prints every trial that reached an end (or a pause) since the last call.
    pub(super) fn catch_up(&mut self, study: &Study, progress: &mut Progress) -> Result<()> {
        let trials = study.trials()?;
        let best = anneal_tune::best_trial(&trials, study.direction());
        for trial in &trials {
            if trial.state == TrialState::Running {
                continue;
            }
            if self.reported.insert((trial.number, trial.state.as_str())) {
                progress.trial_finished(trial, best);
            }
        }
        Ok(())
    }
}

/// A retrained model's test figures.
pub(super) fn print_test_figures(summary: &Summary) -> Result<()> {
    match summary.test.as_ref().map(|t| &t.metrics) {
        Some(TaskMetrics::Classification(m)) => outln!(
            "test ({} samples): accuracy {:.2}%  macro-F1 {:.4}",
            summary.test_samples,
            m.accuracy * 100.0,
            m.macro_f1
        ),
        Some(TaskMetrics::Regression(m)) => outln!(
            "test ({} samples): R² {:.4}  MSE {:.2}  MAE {:.2}",
            summary.test_samples,
            m.r2,
            m.mse,
            m.mae
        ),
        None => bail!("retraining did not finish: {}", summary.message),
    }
    Ok(())
}
