//! Loading a bundled dataset: read, sha256 check, gunzip, parse, convert to f32, count checks.

use std::time::Instant;

use anneal_data::{Catalog, LoadedDataset};

use crate::Result;

/// `rounds` timed loads of dataset `name`, in seconds, and the last load.
pub fn time_load(
    catalog: &Catalog,
    name: &str,
    rounds: usize,
) -> Result<(Vec<f64>, LoadedDataset)> {
    let mut seconds = Vec::with_capacity(rounds.max(1));
    let mut last = None;
    for _ in 0..rounds.max(1) {
        let started = Instant::now();
        let loaded = catalog.load(name)?;
        seconds.push(started.elapsed().as_secs_f64());
        last = Some(loaded);
    }
    Ok((seconds, last.expect("at least one round")))
}
