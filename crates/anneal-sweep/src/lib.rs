//! anneal-sweep: hyperparameter sweeps over anneal's run configs. A sweep file names a base
//! run config (or a built-in test function), a search space over its keys, a sampler, a
//! pruner and a budget; [`run_sweep`] runs it as an `anneal_tune` study whose objective trains
//! the config with each trial's parameters, pausing trials at successive-halving rungs and
//! continuing them from their saved training state when they are promoted.

#![warn(missing_docs)]

pub mod check;
pub mod command;
pub mod error;
pub mod export;
pub mod file;
pub mod metrics;
pub mod parallel;
pub mod retrain;
pub mod run_folders;
pub mod runner;
pub mod signals;
pub mod training;
pub mod workers;

pub use command::{CommandObjective, CommandSpec};
pub use error::{Result, SweepError};
pub use file::{Sweep, SweepFile, SweepObjective, SweepOverrides};
pub use metrics::{Bound, Constraint, TrialMetric};
pub use parallel::{ParallelEnd, ParallelEvents, ParallelSweep};
pub use retrain::{Retrained, retrain_best};
pub use run_folders::{RemovedRuns, remove_run_folders};
pub use runner::{
    SweepOutcome, open_study, record_worker_death, resume_study, run_sweep, run_sweep_worker,
};
pub use training::{TrainingContext, TrainingObjective, trial_config};
pub use workers::{ProcessPool, Supervisor, WorkerEnd, exit_with_parent};
