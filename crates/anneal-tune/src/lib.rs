//! anneal-tune: hyperparameter optimisation for any objective, with no machine-learning
//! framework attached. A [`Study`] asks its [`Sampler`] for each [`Trial`]'s parameters as the
//! objective asks for them (define-by-run), lets its [`Pruner`] stop unpromising trials from
//! their intermediate values, and records every state change in a [`Storage`], so a killed
//! study resumes where it stopped and several processes can share one.
//!
//! ```
//! use anneal_tune::{Direction, MedianPruner, Study, TpeSampler};
//!
//! let study = Study::builder()
//!     .name("quadratic")
//!     .direction(Direction::Minimize)
//!     .sampler(TpeSampler::default())
//!     .pruner(MedianPruner::default())
//!     .build()?;
//! let outcome = study.optimize(30, |trial| {
//!     let x = trial.suggest_float("x", -10.0, 10.0)?;
//!     let kind = trial.suggest_categorical("kind", &["square", "abs"])?;
//!     let value = if kind == "square" { (x - 2.0).powi(2) } else { (x - 2.0).abs() };
//!     Ok(value)
//! })?;
//! assert_eq!(outcome.trials.len(), 30);
//! let best = study.best_trial()?.expect("a complete trial");
//! assert!(best.value.unwrap() < 1.0);
//! # Ok::<(), anneal_tune::TuneError>(())
//! ```
//!
//! Sweep files describe the same pieces as serde configs ([`SamplerConfig`], [`PrunerConfig`],
//! [`ParamSpec`]) that build the trait objects.

#![warn(missing_docs)]

// The modules are private: every public item has one path, at the crate's root.

mod direction;
mod distribution;
mod error;
mod objective;
mod pareto;
mod pruner;
mod sampler;
mod space;
mod storage;
mod study;
mod synthetic;
mod trial;

pub use anneal_rng::SeededRng;
pub use direction::Direction;
pub use distribution::{Distribution, Value};
pub use error::{Result, TuneError};
pub use objective::{BoxError, Objective, Quiet, StudyObserver, Values};
pub use pareto::{hypervolume, pareto_front};
pub use pruner::{
    AshaPruner, Decision, HyperbandPruner, MedianPruner, NopPruner, PruneQuery, Pruner,
    PrunerConfig, PrunerContext, Settlement, hyperband_bracket, hyperband_brackets,
};
pub use sampler::{
    CmaEsSampler, GpSampler, GridSampler, Nsga2Sampler, Observation, RandomSampler, SampleContext,
    SampleMemo, Sampler, SamplerConfig, Seen, TpeSampler, grid,
};
pub use space::{Assignment, Param, ParamSpec, SearchSpace, lookup, nest_layers};
#[cfg(feature = "postgres")]
pub use storage::PostgresStorage;
pub use storage::{
    Cause, Change, ChosenParam, Clock, Condition, DEFAULT_LEASE, Lease, LeaseState, LeasedStorage,
    ManualClock, MemoryStorage, NewStudy, OwnerToken, SqliteStorage, StepValue, Storage,
    StorageOptions, StudyId, StudyRecord, SystemClock, TrialEnd, TrialId, TrialRecord, TrialState,
    WORKER_TAG_VARIABLE, is_postgres_url, open_storage, sqlite_path,
};
pub use study::{
    MAX_STUDY_NAME, OptimizeOutcome, PausedTrials, Study, StudyBuilder, TrialResult, best_trial,
    check_study_name,
};
pub use synthetic::{SYNTHETIC_FUNCTIONS, Synthetic};
pub use trial::Trial;
