//! anneal-data: the bundled datasets and everything that turns files into batches.
//!
//! The flow is: [`Catalog`] finds `datasets/*/manifest.toml` and loads a dataset (verifying
//! checksums and counts) into a [`LoadedDataset`]; [`split()`] makes deterministic train /
//! validation / test sets; a [`Preprocessor`] fitted on the training set transforms all three;
//! a [`Loader`] shuffles, augments and batches them into Burn tensors.

#![warn(missing_docs)]

pub mod augment;
pub mod batch;
pub mod catalog;
pub mod error;
pub mod formats;
pub mod manifest;
pub mod preprocess;
pub use anneal_rng as rng;
pub mod samples;
pub mod split;
pub mod tabular;

pub use augment::{AugmentConfig, Augmenter};
pub use batch::{Batch, BatchTargets, HostBatch, Loader};
pub use catalog::{Catalog, CsvSource, DataSource, IdxSource, load_idx};
pub use error::{DataError, Result};
pub use manifest::Manifest;
pub use preprocess::{FittedStep, PreprocessStep, Preprocessor, Scope};
pub use samples::{DatasetInfo, LoadedDataset, Samples, Targets, Task};
pub use split::{SplitConfig, SplitPlan, Splits, apply_plan, plan_split, split};
pub use tabular::{
    Encoding, Impute, TabularData, TabularEncoder, TabularOptions, UnseenCategory, load_csv,
};
