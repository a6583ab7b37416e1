//! A sweep run by worker processes while this process watches (`anneal tune --jobs N`): the
//! workers share the study's storage, a worker a signal ends (a trial that aborted its process,
//! the out-of-memory killer) has its trials recorded with the signal and is started again, the
//! user's Ctrl-C is passed on, and once every worker is gone this process settles the study.
//!
//! The worker processes are whatever `make` builds; each must run [`crate::run_sweep_worker`] on
//! the same sweep and storage (reading the storage location from its standard input with
//! [`crate::workers::read_handshake`]). The binary's workers are `anneal tune --worker`; tests
//! use their own executable.

use std::process::Command;
use std::time::Duration;

use anneal_tune::{Study, StudyObserver};

use crate::error::{Result, SweepError};
use crate::file::Sweep;
use crate::runner::{SweepOutcome, record_worker_death, resume_study, run_sweep};
use crate::training::TrainingContext;
use crate::workers::{Supervisor, WorkerEnd};

/// How often the watching process looks at its workers and the study.
const TICK: Duration = Duration::from_millis(200);

/// How a parallel sweep is run.
pub struct ParallelSweep<'a> {
    /// The study, open in this process.
    pub study: &'a Study,
    /// The sweep its workers run.
    pub sweep: &'a Sweep,
    /// What a training sweep's trials train on (for the final settling in this process).
    pub training: Option<&'a TrainingContext<'a>>,
    /// How many workers run at once.
    pub jobs: usize,
    /// The storage location, handed to each worker on its standard input (never on its
    /// command line, where a password would show in `ps`).
    pub location: String,
    /// Whether the workers' standard error is shown as it comes.
    pub show_stderr: bool,
}

/// What the watching process is told, and asked, as the sweep goes.
pub trait ParallelEvents {
    /// Trials left running by processes that are gone were recorded (`failed` of them failed,
    /// the others put back to their pause) before any worker started.
    fn resumed(&mut self, _failed: usize) {}

    /// Called at every look (about five times a second) and once after the workers are gone:
    /// a chance to show trials that ended meanwhile.
    fn tick(&mut self, _study: &Study) {}

    /// The user pressed Ctrl-C; the workers have been asked to stop.
    fn interrupting(&mut self) {}

    /// A worker was ended by `signal`; `trials` are the trials it held, recorded so.
    fn worker_killed(&mut self, _signal: i32, _trials: &[usize]) {}

    /// Whether to give up at once (whoever reads the output went away): the workers are
    /// ended, their trials recorded interrupted, and the study left for a rerun.
    fn abandon(&self) -> bool {
        false
    }

    /// What hears about the trials this process runs while settling the study.
    fn observer(&mut self) -> &mut dyn StudyObserver;
}

/// How a parallel sweep ended.
#[derive(Debug)]
pub enum ParallelEnd {
    /// Every worker finished and the study is settled; `worker_errors` says how workers that
    /// failed (rather than being killed) ended, and how many trials they left.
    Finished {
        /// The settled study.
        outcome: SweepOutcome,
        /// Why workers failed, one entry each.
        worker_errors: Vec<String>,
    },
    /// The user pressed Ctrl-C: the running trials ended as interrupted and nothing was
    /// settled (a rerun finishes the budget and settles).
    Interrupted,
    /// [`ParallelEvents::abandon`] said to stop.
    Abandoned,
}

impl ParallelSweep<'_> {
    /// Repairs what dead processes left, runs `jobs` workers built by `make(slot)` until none
    /// is left (a killed one is started again, up to four times per job in all), then runs
    /// what remains of the budget and settles the paused trials in this process.
    pub fn run(
        &self,
        make: impl FnMut(usize) -> Command + 'static,
        events: &mut dyn ParallelEvents,
    ) -> Result<ParallelEnd> {
        crate::signals::install();
        let failed = resume_study(self.study, self.sweep, self.training)?;
        events.resumed(failed);
        let mut workers = Supervisor::start(
            self.jobs,
            4 * self.jobs,
            self.show_stderr,
            Some(self.location.clone()),
            make,
        )
        .map_err(SweepError::Workers)?;
        let mut worker_errors = Vec::new();
        let mut interrupting = false;
        while workers.running() {
            std::thread::sleep(TICK);
            if crate::signals::interrupted() && !interrupting {
                // The workers are in process groups of their own: the Ctrl-C is passed on.
                interrupting = true;
                workers.interrupt();
                events.interrupting();
            }
            for end in workers.poll().map_err(SweepError::Workers)? {
                match end {
                    WorkerEnd::Done | WorkerEnd::Interrupted => {}
                    WorkerEnd::Failed(message) => worker_errors.push(message),
                    WorkerEnd::Killed {
                        tag,
                        signal,
                        stderr,
                    } => {
                        let trials = record_worker_death(self.study, &tag, signal, &stderr)?;
                        events.worker_killed(signal, &trials);
                    }
                }
            }
            events.tick(self.study);
            if events.abandon() {
                workers.stop();
                resume_study(self.study, self.sweep, self.training)?;
                return Ok(ParallelEnd::Abandoned);
            }
        }
        events.tick(self.study);
        if interrupting {
            return Ok(ParallelEnd::Interrupted);
        }
        // With every worker gone: trials a dead worker left running are recorded, any budget a
        // failed worker left is run, and paused trials are settled.
        let outcome = run_sweep(self.study, self.sweep, self.training, events.observer())?;
        if outcome.interrupted > 0 {
            worker_errors.push(format!(
                "{} trial(s) of a failed worker were marked interrupted",
                outcome.interrupted
            ));
        }
        Ok(ParallelEnd::Finished {
            outcome,
            worker_errors,
        })
    }
}
