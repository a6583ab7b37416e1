//! anneal-bench: the measurements behind `anneal bench` and the README's figures, kept out of
//! the timed test suite. Each function measures and returns numbers; the binary prints them.

#![warn(missing_docs)]

pub mod accuracy;
pub mod data;
pub mod multi;
pub mod predict;
pub mod pruning;
pub mod sampler;
pub mod storage;
pub mod throughput;

/// What can go wrong measuring.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A sweep.
    #[error(transparent)]
    Sweep(#[from] anneal_sweep::SweepError),
    /// A study.
    #[error(transparent)]
    Tune(#[from] anneal_tune::TuneError),
    /// Training.
    #[error(transparent)]
    Train(#[from] anneal_train::TrainError),
    /// Loading data.
    #[error(transparent)]
    Data(#[from] anneal_data::DataError),
    /// A model config.
    #[error(transparent)]
    Model(#[from] anneal_model::ConfigError),
    /// A setting of the measurement itself.
    #[error("{0}")]
    Setting(String),
}

/// The bench's result type.
pub type Result<T, E = BenchError> = std::result::Result<T, E>;

/// The median of `values`; NaN for none.
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}
