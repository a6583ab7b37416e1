//! anneal-model: the networks anneal trains and tunes (MLP and CNN) and their losses, with every
//! architecture choice a field of a serde config that validates before anything is built.

#![warn(missing_docs)]

pub mod config;
pub mod conv;
pub mod error;
mod flex;
pub mod loss;
pub mod memory;
pub mod network;
pub mod pool;

pub use config::{
    Activation, CnnConfig, ConvPlan, Init, MlpConfig, ModelConfig, Padding, Pooling, Widths,
};
pub use error::ConfigError;
pub use loss::{LossConfig, LossKind, predict_classes};
pub use memory::{MemoryEstimate, estimate};
pub use network::{DataShape, Model, initializer};
