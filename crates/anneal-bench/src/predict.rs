//! Prediction speed on new tabular rows: a run trained on the churn example scores a file of
//! `rows` customers (the example's test rows, repeated), timed stage by stage.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anneal_data::Catalog;
use anneal_train::Predictor;
use burn::tensor::Device;

use crate::accuracy::train_config;
use crate::{BenchError, Result, median};

/// The run config the bench trains (three epochs are enough to time a model of its size).
pub const CONFIG: &str = "configs/churn-mlp.toml";

/// Median seconds of each stage over the rounds.
#[derive(Debug, Clone, Copy)]
pub struct PredictTimes {
    /// Rows scored per round.
    pub rows: usize,
    /// Reading the CSV and encoding its columns.
    pub read: f64,
    /// Preprocessing, the model's forward pass and the metrics (the file has its targets).
    pub model: f64,
    /// Writing the predictions as CSV (to memory).
    pub write: f64,
    /// All three.
    pub total: f64,
    /// Loading the run: config, pipeline and checkpoint (once).
    pub load: f64,
}

/// Trains [`CONFIG`] for three epochs into `work`, writes a file of `rows` rows there, and
/// times `rounds` predictions of it.
pub fn time_predict(
    work: &Path,
    rows: usize,
    rounds: usize,
    catalog: &Catalog,
    device: &Device,
    backend: &str,
) -> Result<PredictTimes> {
    let runs = work.join("runs");
    // The bench's own folder: a run left by an earlier bench (perhaps of another config) goes.
    if runs.exists() {
        std::fs::remove_dir_all(&runs)
            .map_err(|e| BenchError::Setting(format!("cannot clear {}: {e}", runs.display())))?;
    }
    let config = work.join("churn-bench.toml");
    let text = std::fs::read_to_string(CONFIG)
        .map_err(|e| BenchError::Setting(format!("cannot read {CONFIG}: {e}")))?;
    // Absolute data paths, so the copied config finds the example's files.
    let data = std::fs::canonicalize("configs/data")
        .map_err(|e| BenchError::Setting(format!("cannot find configs/data: {e}")))?;
    let text = text
        .replace("\"data/", &format!("\"{}/", data.display()))
        .replace("epochs = 40", "epochs = 3");
    write(&config, text.as_bytes())?;
    let (name, _) = train_config(&config, &runs, catalog, device, backend)?;
    let run = runs.join(name);

    let started = Instant::now();
    let predictor = Predictor::load(&run, Some(catalog.root()), device)?;
    let load = started.elapsed().as_secs_f64();

    let test = std::fs::read_to_string(data.join("churn-test.csv"))
        .map_err(|e| BenchError::Setting(format!("cannot read the churn test file: {e}")))?;
    let mut lines = test.lines();
    let header = lines.next().unwrap_or_default();
    let body: Vec<&str> = lines.collect();
    let mut big = String::with_capacity(rows * 40);
    big.push_str(header);
    big.push('\n');
    for i in 0..rows {
        big.push_str(body[i % body.len()]);
        big.push('\n');
    }
    let input = work.join("churn-rows.csv");
    write(&input, big.as_bytes())?;

    let (mut read, mut model, mut write_out, mut total) = (vec![], vec![], vec![], vec![]);
    for _ in 0..rounds.max(1) {
        let t0 = Instant::now();
        let new = predictor.read_csv(&input)?;
        let t1 = Instant::now();
        let predictions = predictor.predict(&new, device);
        let t2 = Instant::now();
        let mut out = Vec::new();
        predictions
            .write_csv(&mut out)
            .map_err(|e| BenchError::Setting(format!("cannot write predictions: {e}")))?;
        let t3 = Instant::now();
        if predictions.rows != rows || predictions.evaluation.is_none() {
            return Err(BenchError::Setting(format!(
                "predicted {} rows of {rows}",
                predictions.rows
            )));
        }
        read.push((t1 - t0).as_secs_f64());
        model.push((t2 - t1).as_secs_f64());
        write_out.push((t3 - t2).as_secs_f64());
        total.push((t3 - t0).as_secs_f64());
    }
    Ok(PredictTimes {
        rows,
        read: median(read),
        model: median(model),
        write: median(write_out),
        total: median(total),
        load,
    })
}

fn write(path: &PathBuf, bytes: &[u8]) -> Result<()> {
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder)
            .map_err(|e| BenchError::Setting(format!("cannot create {}: {e}", folder.display())))?;
    }
    std::fs::write(path, bytes)
        .map_err(|e| BenchError::Setting(format!("cannot write {}: {e}", path.display())))
}
