//! Refusing a model that cannot fit in memory before it is built: a failed allocation aborts
//! the whole process (and with it a sweep), while this is an error naming the estimate and the
//! limit.

use anneal_data::DatasetInfo;
use anneal_model::config::output_size;
use anneal_model::{DataShape, estimate};

use crate::config::RunConfig;
use crate::error::{Result, TrainError};

/// The variable that sets the memory limit in GiB, in place of every limit read from the
/// system (the machine's memory, its container's limit, `ulimit -v` and `ulimit -d`).
pub const LIMIT_VARIABLE: &str = "ANNEAL_MEMORY_LIMIT_GB";

const GIB: f64 = (1u64 << 30) as f64;

/// A limit in bytes, what sets it ("this machine has") and how to get past it.
struct Limit {
    bytes: f64,
    source: String,
    advice: String,
}

/// Fails when training `config` on data like `info` would need more memory than the limit.
pub fn check_fits(config: &RunConfig, info: &DatasetInfo) -> Result<()> {
    let shape = DataShape {
        input: info.shape.clone(),
        outputs: output_size(info),
    };
    let estimate = estimate(&config.model, &shape)?;
    let needed = estimate.training_bytes(config.train.batch_size) as f64;
    let Some(limit) = memory_limit()? else {
        return Ok(());
    };
    if needed > limit.bytes {
        return Err(TrainError::config(
            "model",
            format!(
                "training it needs about {} ({} parameters, batches of {}), more than the {} {}; use a smaller model or batch, or {}",
                size(needed),
                estimate.parameters,
                config.train.batch_size,
                size(limit.bytes),
                limit.source,
                limit.advice
            ),
        ));
    }
    Ok(())
}

/// Bytes in GiB, or in MiB below one GiB.
fn size(bytes: f64) -> String {
    match bytes >= GIB {
        true => format!("{:.1} GiB", bytes / GIB),
        false => format!("{:.0} MiB", bytes / (1u64 << 20) as f64),
    }
}

/// The smallest limit: the variable alone where set, else the machine's memory, its
/// container's limit and the room this process's own limits leave; `None` where none can be
/// read.
fn memory_limit() -> Result<Option<Limit>> {
    let raise_variable = format!("set {LIMIT_VARIABLE} to allow more");
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
        return Ok(Some(Limit {
            bytes: gib * GIB,
            source: format!("{LIMIT_VARIABLE} allows"),
            advice: raise_variable,
        }));
    }
    let machine = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024.0)
        })
        .map(|bytes| Limit {
            bytes,
            source: "this machine has".into(),
            advice: raise_variable.clone(),
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
    .filter(|bytes| *bytes < 1e18)
    .map(|bytes| Limit {
        bytes,
        source: "its container allows".into(),
        advice: raise_variable.clone(),
    });
    Ok(machine
        .into_iter()
        .chain(container)
        .chain(process_limits())
        .min_by(|a, b| a.bytes.total_cmp(&b.bytes)))
}

/// The room this process's resource limits leave: `ulimit -v` (RLIMIT_AS, all its address
/// space) less its size now, `ulimit -d` (RLIMIT_DATA, its heap and private mappings) less its
/// data now. A failed allocation under either aborts the process as surely as a full machine.
#[cfg(unix)]
fn process_limits() -> Vec<Limit> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    // In use now, from `/proc/self/status` (in kB); 0 where it cannot be read.
    let used = |field: &str| -> f64 {
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|rest| rest.split_whitespace().next()?.parse::<f64>().ok())
            .map_or(0.0, |kib| kib * 1024.0)
    };
    [
        (libc::RLIMIT_AS, "VmSize:", "ulimit -v (RLIMIT_AS)"),
        (libc::RLIMIT_DATA, "VmData:", "ulimit -d (RLIMIT_DATA)"),
    ]
    .into_iter()
    .filter_map(|(resource, field, name)| {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit only writes the struct it is given.
        if unsafe { libc::getrlimit(resource, &mut limit) } != 0
            || limit.rlim_cur == libc::RLIM_INFINITY
        {
            return None;
        }
        Some(Limit {
            bytes: (limit.rlim_cur as f64 - used(field)).max(0.0),
            source: format!("{name} leaves this process"),
            advice: format!("raise {}", name.split(" (").next().unwrap_or(name)),
        })
    })
    .collect()
}

#[cfg(not(unix))]
fn process_limits() -> Vec<Limit> {
    Vec::new()
}
