//! The parallel side of `anneal tune --jobs N`: each worker's command line, and what this
//! process shows while the workers run.

use std::path::{Path, PathBuf};

use anneal_sweep::ParallelEvents;
use anyhow::{Context, Result};

use super::report::{Printer, Progress};
use super::{TuneArgs, resumed_line};

/// How `anneal tune` hears its parallel sweep: trial lines and the status line as the workers
/// record trials, and what happens to the workers.
pub(super) struct Watch {
    pub(super) printer: Printer,
    pub(super) progress: Progress,
    /// Whether to say what happens (not with `--quiet` or `--json`).
    pub(super) talk: bool,
}

impl ParallelEvents for Watch {
    fn resumed(&mut self, failed: usize) {
        if failed > 0 && self.talk {
            outln!("{}", resumed_line(failed));
        }
    }

    fn tick(&mut self, study: &anneal_tune::Study) {
        if let Err(e) = self.printer.catch_up(study, &mut self.progress) {
            tracing::warn!("cannot show the study's progress: {e:#}");
        }
    }

    fn interrupting(&mut self) {
        if self.talk {
            eprintln!(
                "stopping: the running trials end as interrupted (Ctrl-C again stops at once)"
            );
        }
    }

    fn worker_killed(&mut self, signal: i32, trials: &[usize]) {
        for number in trials {
            tracing::warn!("trial {number}: its worker was killed by signal {signal}");
        }
    }

    fn abandon(&self) -> bool {
        crate::output::closed()
    }

    fn observer(&mut self) -> &mut dyn anneal_tune::StudyObserver {
        &mut self.progress
    }
}

/// The command line of each worker: this program on the same sweep and study, one CPU thread,
/// quiet, its device from `--devices` round-robin. The storage location is not on it: the
/// supervisor hands it over on the worker's standard input.
pub(super) struct WorkerCommands {
    exe: PathBuf,
    args: Vec<std::ffi::OsString>,
    devices: Vec<usize>,
    device: Option<usize>,
}

impl WorkerCommands {
    pub(super) fn new(args: &TuneArgs, data_dir: Option<&Path>, trials: usize) -> Result<Self> {
        let exe = std::env::current_exe().context("finding the anneal executable for workers")?;
        let mut line: Vec<std::ffi::OsString> = Vec::new();
        line.push("tune".into());
        line.push(args.sweep.clone().into());
        if let Some(dir) = data_dir {
            line.extend(["--data-dir".into(), dir.into()]);
        }
        line.extend(["--threads".into(), "1".into()]);
        // The location (perhaps with a password) goes down the worker's standard input.
        line.push("--storage-from-parent".into());
        line.extend(["--lease".into(), args.shared.lease.to_string().into()]);
        if let Some(artifacts) = &args.shared.artifacts {
            line.extend(["--artifacts".into(), artifacts.into()]);
        }
        line.extend(["--trials".into(), trials.to_string().into()]);
        line.extend(["--worker".into(), "--quiet".into()]);
        line.extend(["--backend".into(), args.backend.name().into()]);
        Ok(Self {
            exe,
            args: line,
            devices: args.devices.clone(),
            device: args.backend.device,
        })
    }

    pub(super) fn command(&self, slot: usize) -> std::process::Command {
        let mut command = std::process::Command::new(&self.exe);
        command.args(&self.args);
        let device = match self.devices.as_slice() {
            [] => self.device,
            list => Some(list[slot % list.len()]),
        };
        if let Some(device) = device {
            command.args(["--device", &device.to_string()]);
        }
        command
    }
}
