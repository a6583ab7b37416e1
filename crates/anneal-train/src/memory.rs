//! Refusing a model that cannot fit in memory before it is built: a failed allocation aborts
//! the whole process (and with it a sweep), while this is an error naming the estimate and the
//! limit.

use anneal_data::DatasetInfo;
use anneal_model::config::output_size;
use anneal_model::{DataShape, estimate};

use crate::config::RunConfig;
use crate::error::{Result, TrainError};

/// The variable that sets the memory limit in GiB (default: the machine's memory, or its
/// container's limit).
pub const LIMIT_VARIABLE: &str = "ANNEAL_MEMORY_LIMIT_GB";

const GIB: f64 = (1u64 << 30) as f64;

/// Fails when training `config` on data like `info` would need more memory than the limit.
pub fn check_fits(config: &RunConfig, info: &DatasetInfo) -> Result<()> {
    let shape = DataShape {
        input: info.shape.clone(),
        outputs: output_size(info),
    };
    let estimate = estimate(&config.model, &shape)?;
    let needed = estimate.training_bytes(config.train.batch_size) as f64;
    let Some((limit, source)) = memory_limit()? else {
        return Ok(());
    };
    if needed > limit {
        return Err(TrainError::config(
            "model",
            format!(
                "training it needs about {:.1} GiB ({} parameters, batches of {}), more than the {:.1} GiB {source}; use a smaller model or batch, or set {LIMIT_VARIABLE} to allow more",
                needed / GIB,
                estimate.parameters,
                config.train.batch_size,
                limit / GIB
            ),
        ));
    }
    Ok(())
}

/// The limit in bytes and where it comes from: the variable, else the container's limit or the
/// machine's memory, whichever is smaller; `None` where neither can be read.
fn memory_limit() -> Result<Option<(f64, String)>> {
    if let Some(text) = std::env::var_os(LIMIT_VARIABLE) {
        let text = text.to_string_lossy();
        let gib: f64 = text
            .trim()
            .parse()
            .ok()
            .filter(|g: &f64| *g > 0.0)
            .ok_or_else(|| {
                TrainError::config(
                    LIMIT_VARIABLE,
                    format!("'{text}' is not a positive number of GiB"),
                )
            })?;
        return Ok(Some((gib * GIB, format!("{LIMIT_VARIABLE} allows"))));
    }
    let machine = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024.0)
        });
    let container = [
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ]
    .iter()
    .find_map(|path| {
        std::fs::read_to_string(path)
            .ok()?
            .trim()
            .parse::<f64>()
            .ok()
    })
    .filter(|bytes| *bytes < 1e18);
    Ok(match (machine, container) {
        (Some(m), Some(c)) if c < m => Some((c, "its container allows".into())),
        (Some(m), _) => Some((m, "this machine has".into())),
        (None, Some(c)) => Some((c, "its container allows".into())),
        (None, None) => None,
    })
}
