//! What `anneal tune` prints as trials end, and the retrained model's test figures.

use std::time::{Duration, Instant};

use anneal_train::{Summary, TaskMetrics};
use anneal_tune::{Study, StudyObserver, TrialRecord, TrialState};
use anyhow::{Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::commands::study::{fmt_params, fmt_value, fmt_values};

/// One line per trial as it ends: its outcome, time, parameters and the best so far.
pub(super) struct Progress {
    pub(super) quiet: bool,
    /// The status line under the trial lines (on a terminal only).
    pub(super) status: Option<ProgressBar>,
    /// Trials this process finished (or paused).
    finished: usize,
    /// The study has several objectives: a front, no best trial.
    several: bool,
}

impl Progress {
    pub(super) fn new(quiet: bool, objectives: usize) -> Self {
        Self {
            quiet,
            status: None,
            finished: 0,
            several: objectives > 1,
        }
    }

    /// Adds the live status line (trials done, running trials and their epochs, best, ETA);
    /// indicatif draws it on standard error only when that is a terminal.
    pub(super) fn with_status_line(mut self) -> Self {
        if !self.quiet {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg}").expect("a valid template"),
            );
            bar.enable_steady_tick(Duration::from_millis(250));
            self.status = Some(bar);
        }
        self
    }

    fn print(&self, line: String) {
        match &self.status {
            Some(bar) => bar.suspend(|| outln!("{line}")),
            None => outln!("{line}"),
        }
    }

    /// How many trials ended (or paused) in this process.
    pub(super) fn finished(&self) -> usize {
        self.finished
    }

    pub(super) fn finish(&mut self) {
        if let Some(bar) = self.status.take() {
            bar.finish_and_clear();
        }
    }
}

/// The status line's text: `12/50 trials · running #13 (epoch 4), #14 (epoch 2) · best 0.9724
/// (trial 7) · 1m 12s · ETA 3m 05s`.
pub(super) fn status_text(
    trials: &[TrialRecord],
    budget: usize,
    best: Option<&TrialRecord>,
    elapsed: Duration,
) -> String {
    let done = trials
        .iter()
        .filter(|t| !matches!(t.state, TrialState::Running | TrialState::Paused))
        .count();
    let running: Vec<String> = trials
        .iter()
        .filter(|t| t.state == TrialState::Running)
        .map(|t| match t.last_step() {
            Some((step, _)) => format!("#{} (epoch {step})", t.number),
            None => format!("#{}", t.number),
        })
        .collect();
    let mut parts = vec![format!("{done}/{budget} trials")];
    if !running.is_empty() {
        parts.push(format!("running {}", running.join(", ")));
    }
    if let Some(best) = best {
        parts.push(format!(
            "best {} (trial {})",
            fmt_value(best.value),
            best.number
        ));
    }
    parts.push(fmt_duration(elapsed));
    if done > 0 && done < budget {
        let eta = elapsed.mul_f64((budget - done) as f64 / done as f64);
        parts.push(format!("ETA {}", fmt_duration(eta)));
    }
    parts.join(" · ")
}

fn fmt_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

impl StudyObserver for Progress {
    /// Nobody reads the progress any more (`anneal tune ... | head`): stop claiming trials.
    fn stop(&self) -> bool {
        crate::output::closed()
    }

    fn trial_finished(&mut self, trial: &TrialRecord, best: Option<&TrialRecord>) {
        self.finished += 1;
        if self.quiet {
            return;
        }
        let outcome = match trial.state {
            TrialState::Complete => format!(
                "{} {}{}",
                if trial.values.len() > 1 {
                    "values"
                } else {
                    "value"
                },
                fmt_values(trial),
                if trial.is_feasible() {
                    ""
                } else {
                    " (infeasible)"
                }
            ),
            _ => format!(
                "{}: {}",
                trial.state.as_str(),
                trial.message.as_deref().unwrap_or("")
            ),
        };
        // A study with several objectives has a front, not a best trial.
        let best = match self.several {
            false => format!(
                "  | best {}",
                best.map_or("-".into(), |b| format!(
                    "{} (trial {})",
                    fmt_value(b.value),
                    b.number
                ))
            ),
            true => String::new(),
        };
        self.print(format!(
            "trial {:>3}  {outcome}  ({:.1}s)  {}{best}",
            trial.number,
            trial.running_seconds,
            fmt_params(&trial.params),
        ));
    }
}

/// Reports the trials workers finish, read from the study as they land, and keeps the status
/// line current.
pub(super) struct Printer {
    reported: std::collections::HashSet<(usize, &'static str)>,
    budget: usize,
    started: Instant,
}

impl Printer {
    pub(super) fn new(budget: usize) -> Self {
        Self {
            reported: Default::default(),
            budget,
            started: Instant::now(),
        }
    }

    /// Prints every trial that reached an end (or a pause) since the last call.
    pub(super) fn catch_up(&mut self, study: &Study, progress: &mut Progress) -> Result<()> {
        let trials = study.trials()?;
        let best = study.best_of(&trials);
        if let Some(bar) = &progress.status {
            bar.set_message(status_text(
                &trials,
                self.budget,
                best,
                self.started.elapsed(),
            ));
        }
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
