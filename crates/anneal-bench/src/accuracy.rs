//! Training ready run configs for the README's accuracy table.

use std::path::{Path, PathBuf};

use anneal_data::Catalog;
use anneal_train::{RunConfig, RunTarget, Summary, free_run_name, run_recorded};
use anneal_tune::Quiet;
use burn::tensor::Device;

use crate::Result;

/// The configs the table trains by default: the MLP configs and digits-cnn.
pub const DEFAULT_CONFIGS: [&str; 8] = [
    "configs/digits-mlp.toml",
    "configs/iris-mlp.toml",
    "configs/wine-mlp.toml",
    "configs/breast_cancer-mlp.toml",
    "configs/diabetes-mlp.toml",
    "configs/mnist-mlp.toml",
    "configs/fashion-mnist-mlp.toml",
    "configs/digits-cnn.toml",
];

/// Trains the config at `path` into a new folder under `runs_dir`; its name and summary.
pub fn train_config(
    path: &Path,
    runs_dir: &Path,
    catalog: &Catalog,
    device: &Device,
    backend: &str,
) -> Result<(String, Summary)> {
    let config = RunConfig::load(path, &[])?;
    let stem = path
        .file_stem()
        .map_or("run".into(), |s| s.to_string_lossy().into_owned());
    let name = free_run_name(runs_dir, &stem);
    let target = RunTarget {
        catalog,
        runs_root: runs_dir,
        name: &name,
        device,
        backend,
    };
    let (_, summary) = run_recorded(&config, &target, &mut Quiet)?;
    Ok((stem, summary))
}

/// The default configs as paths.
pub fn default_configs() -> Vec<PathBuf> {
    DEFAULT_CONFIGS.iter().map(PathBuf::from).collect()
}
