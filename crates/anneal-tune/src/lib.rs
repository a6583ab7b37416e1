//! anneal-tune: hyperparameter search. A sweep file names a base run config (or a synthetic
//! test function), a [`SearchSpace`] over its fields, an objective and a budget; [`run_sweep`]
//! asks a sampler (grid, random, TPE) for each trial's parameters, trains it, and records every
//! trial in a SQLite [`Storage`] as it starts, reports each epoch and ends, so a killed sweep
//! resumes where it stopped.

pub mod error;
pub mod gp;
pub mod multivariate;
pub mod pruner;
pub mod sampler;
pub mod space;
pub mod storage;
pub mod study;
pub mod synthetic;

pub use error::{Result, TuneError};
pub use pruner::{
    Decision, PrunerConfig, hyperband_bracket, hyperband_brackets, successive_halving,
};
pub use sampler::{Observation, SamplerConfig, gamma, grid};
pub use space::{Assignment, Distribution, Param, ParamSpec, SearchSpace, lookup};
pub use storage::{Storage, StudyRecord, TrialRecord, TrialState};
pub use study::{
    Objective, Quiet, Sweep, SweepFile, SweepOutcome, TrainingContext, TuneObserver, best_trial,
    direction_name, resume_study, run_sweep, run_sweep_worker, trial_config,
};
pub use synthetic::{Synthetic, branin, hartmann6};
