//! What `anneal train` and `anneal eval` print: the progress bar per epoch, the epoch lines,
//! the summary and the evaluation tables.

use std::time::Duration;

use anneal_model::Model;
use anneal_train::{Control, EpochRecord, Evaluation, Observer, Summary, TaskMetrics};
use indicatif::{ProgressBar, ProgressStyle};

/// Human output: stdout normally, stderr when stdout carries JSON; nothing when quiet.
#[derive(Clone)]
pub(super) struct Output {
    to_stderr: bool,
    quiet: bool,
}

impl Output {
    pub(super) fn new(json: bool, quiet: bool) -> Self {
        Self {
            to_stderr: json,
            quiet,
        }
    }

    pub(super) fn line(&mut self, text: std::fmt::Arguments) {
        if self.quiet {
            return;
        }
        if self.to_stderr {
            eprintln!("{text}");
        } else {
            outln!("{text}");
        }
    }
}

/// A progress bar per epoch and a line of validation figures when it ends.
pub(super) struct Progress {
    enabled: bool,
    out: Output,
    bar: Option<ProgressBar>,
    epoch: usize,
    epochs: usize,
}

impl Progress {
    pub(super) fn new(enabled: bool, out: Output) -> Self {
        Self {
            enabled,
            out,
            bar: None,
            epoch: 0,
            epochs: 0,
        }
    }

    pub(super) fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Observer for Progress {
    fn epoch_started(&mut self, epoch: usize, epochs: usize, batches: usize) {
        self.epoch = epoch;
        self.epochs = epochs;
        if !self.enabled {
            return;
        }
        let bar = ProgressBar::new(batches as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "epoch {prefix} [{bar:30.cyan/blue}] {pos}/{len} batches  {msg}  {elapsed}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix(format!("{epoch}/{epochs}"));
        bar.enable_steady_tick(Duration::from_millis(200));
        self.bar = Some(bar);
    }

    fn batch_finished(&mut self, batch: usize, loss: f64, samples_per_sec: f64) {
        if let Some(bar) = &self.bar {
            bar.set_position(batch as u64);
            bar.set_message(format!("loss {loss:.4}  {samples_per_sec:.0} samples/s"));
        }
    }

    fn epoch_finished(
        &mut self,
        r: &EpochRecord,
        new_best: Option<&Model>,
    ) -> anneal_train::Result<Control> {
        self.finish();
        if self.enabled {
            let width = self.epochs.to_string().len();
            let train_acc = r
                .train_accuracy
                .map(|a| format!(" acc {:.2}%", a * 100.0))
                .unwrap_or_default();
            let val = match &r.validation.metrics {
                TaskMetrics::Classification(m) => format!(
                    "val loss {:.4} acc {:.2}% f1 {:.4}",
                    r.validation.loss,
                    m.accuracy * 100.0,
                    m.macro_f1
                ),
                TaskMetrics::Regression(m) => format!(
                    "val loss {:.4} mse {:.2} mae {:.2} r2 {:.4}",
                    r.validation.loss, m.mse, m.mae, m.r2
                ),
            };
            self.out.line(format_args!(
                "epoch {:>width$}/{}  train loss {:.4}{train_acc}  {val}  lr {:.2e}  {:.1}s ({:.0} samples/s){}",
                r.epoch,
                self.epochs,
                r.train_loss,
                r.lr,
                r.seconds,
                r.samples_per_sec,
                if new_best.is_some() { "  *" } else { "" }
            ));
        }
        Ok(Control::Continue)
    }
}

pub(super) fn print_summary(out: &mut Output, s: &Summary) {
    out.line(format_args!(
        "{}: {} epochs, best epoch {} ({} = {}), {:.1}s wall, {:.0} training samples/s, {} parameters, backend {}",
        s.message,
        s.epochs_run,
        s.best_epoch.map_or("-".into(), |e| e.to_string()),
        s.monitor,
        s.best_value.map_or("-".into(), |v| format!("{v:.4}")),
        s.wall_seconds,
        s.train_samples_per_sec,
        s.parameter_count,
        s.backend
    ));
    if let Some(test) = &s.test {
        print_evaluation(out, "test", test, &s.class_names);
    }
}

/// An evaluation's figures on one line (`test: accuracy 98.89%  macro-F1 0.9889  loss 0.3757`).
pub(super) fn headline(label: &str, e: &Evaluation) -> String {
    match &e.metrics {
        TaskMetrics::Classification(m) => format!(
            "{label}: accuracy {:.2}%  macro-F1 {:.4}  loss {:.4}",
            m.accuracy * 100.0,
            m.macro_f1,
            e.loss
        ),
        TaskMetrics::Regression(m) => format!(
            "{label}: R² {:.4}  MSE {:.2}  MAE {:.2}  loss {:.4}",
            m.r2, m.mse, m.mae, e.loss
        ),
    }
}

pub(super) fn print_evaluation(
    out: &mut Output,
    label: &str,
    e: &Evaluation,
    class_names: &[String],
) {
    out.line(format_args!("{}", headline(label, e)));
    match &e.metrics {
        TaskMetrics::Classification(m) => {
            if m.per_class.len() <= 20 {
                out.line(format_args!(
                    "  class         precision  recall  f1      support"
                ));
                for (c, s) in m.per_class.iter().enumerate() {
                    let name = class_names.get(c).cloned().unwrap_or_else(|| c.to_string());
                    out.line(format_args!(
                        "  {name:<12}  {:.4}     {:.4}  {:.4}  {}",
                        s.precision, s.recall, s.f1, s.support
                    ));
                }
                out.line(format_args!(
                    "  confusion (rows: actual, columns: predicted)"
                ));
                for row in &m.confusion {
                    let cells: Vec<String> = row.iter().map(|n| format!("{n:>5}")).collect();
                    out.line(format_args!("  {}", cells.join("")));
                }
            }
        }
        TaskMetrics::Regression(_) => {}
    }
}
