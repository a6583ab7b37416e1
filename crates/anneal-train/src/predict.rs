//! Using a finished run on new data: read rows (or images) as the training data was read, put
//! them through the run's saved [`Pipeline`], and turn the model's outputs into answers: a class
//! and every class's probability, or a value in the target's own units. When the new data has
//! its targets, the metrics are computed exactly as `anneal eval` computes them.

use std::io::Write;
use std::path::{Path, PathBuf};

use anneal_data::formats::csv::read_raw;
use anneal_data::formats::idx::{images_and_labels, images_only, read_idx};
use anneal_data::tabular::{Classes, parse_targets};
use anneal_data::{Catalog, DataError, DataSource, Samples, Targets, Task};
use anneal_model::{LossKind, Model};
use burn::tensor::Device;

use crate::config::RunConfig;
use crate::error::{Result, TrainError};
use crate::evaluate::{Evaluation, evaluate, evaluate_with_outputs, outputs};
use crate::pipeline::{Inputs, Pipeline};
use crate::prepare::prepare;
use crate::run_dir::RunDir;
use crate::runner::{eval_batch, finished_run, load_model};

/// A finished run, loaded to predict.
#[derive(Debug)]
pub struct Predictor {
    /// The run's folder.
    pub run: RunDir,
    /// The run's resolved config.
    pub config: RunConfig,
    /// The run's saved pipeline (refitted for a folder that has none).
    pub pipeline: Pipeline,
    model: Model,
}

/// New inputs, read and encoded, before preprocessing.
#[derive(Debug, Clone)]
pub struct NewData {
    /// The file read (the images file for IDX).
    pub path: PathBuf,
    /// Features as read, with targets in their own units (placeholders where unlabelled).
    pub raw: Samples,
    /// The rows that have targets: the metrics are theirs.
    pub labelled: Vec<usize>,
    /// Columns that are not features (IDs), copied to the predictions: `(name, value per row)`.
    pub passthrough: Vec<(String, Vec<String>)>,
}

/// The model's answers, one per input row, in input order.
#[derive(Debug, Clone)]
pub struct Predictions {
    /// Classification or regression, as the run was trained.
    pub task: Task,
    /// Class names in class-index order (empty for regression).
    pub class_names: Vec<String>,
    /// Number of input rows.
    pub rows: usize,
    /// Classification: the predicted class of each row.
    pub classes: Vec<u32>,
    /// Classification: `rows × classes` probabilities. Regression: one value per row, in the
    /// target's units.
    pub values: Vec<f32>,
    /// The metrics of the rows that had targets, when any had.
    pub evaluation: Option<Evaluation>,
    /// How many rows had targets.
    pub labelled: usize,
    /// The input's ignored columns (IDs), written first in the output: `(name, value per row)`.
    pub passthrough: Vec<(String, Vec<String>)>,
}

impl Predictor {
    /// Loads the run in `path`: its config, saved pipeline and checkpoint. A run folder from
    /// before pipelines were saved gets its pipeline refitted from its training data.
    /// `data_dir` is only looked at for such an old folder of a bundled dataset (see
    /// [`Catalog::discover`]).
    pub fn load(path: &Path, data_dir: Option<&Path>, device: &Device) -> Result<Self> {
        let (run, _) = finished_run(path)?;
        let config = run.read_config()?;
        let pipeline = match run.read_pipeline()? {
            Some(pipeline) => pipeline,
            None => {
                // Only a bundled dataset needs the datasets folder.
                let catalog = match config.data.source()? {
                    DataSource::Bundled(_) => Catalog::discover(data_dir)?,
                    _ => Catalog::empty(),
                };
                prepare(&config, &catalog)?.pipeline
            }
        };
        let model = load_model(&run, &config, &pipeline, device)?;
        Ok(Self {
            run,
            config,
            pipeline,
            model,
        })
    }

    /// Reads a table laid out as the training file was (same delimiter and header). Columns are
    /// matched by name when it had a header; the target column may be there or not.
    pub fn read_csv(&self, path: &Path) -> Result<NewData> {
        let Inputs::Table {
            delimiter,
            header,
            encoder,
            class_ids,
        } = &self.pipeline.inputs
        else {
            return Err(self.wrong_input("a CSV file", "images; give --idx"));
        };
        let table = read_raw(path, *delimiter, *header)?;
        let binding = encoder.bind(&table)?;
        let features = encoder.encode(&table, &binding)?;
        let rows = table.rows();
        // Rows whose target is filled in are scored; a blank target is a row to predict.
        let (targets, labelled) = match binding.target {
            Some(column) => {
                let labelled: Vec<usize> = (0..rows)
                    .filter(|&row| !encoder.missing.is(table.cell(row, column)))
                    .collect();
                let classes = match class_ids {
                    true => Classes::KnownOrIndex(&self.pipeline.class_names),
                    false => Classes::Known(&self.pipeline.class_names),
                };
                let (targets, _) = parse_targets(
                    &table,
                    column,
                    labelled.iter().copied(),
                    self.pipeline.task,
                    classes,
                    &encoder.missing,
                )?;
                (Some(targets), labelled)
            }
            None => (None, vec![]),
        };
        let mut data = self.new_data(path, features, rows, targets, labelled)?;
        data.passthrough = binding
            .passthrough
            .iter()
            .map(|(name, column)| {
                let values = (0..rows).map(|row| table.cell(row, *column).to_string());
                (name.clone(), values.collect())
            })
            .collect();
        Ok(data)
    }

    /// Reads IDX images (gzipped or not), with their labels when given.
    pub fn read_idx(&self, images: &Path, labels: Option<&Path>) -> Result<NewData> {
        if !matches!(self.pipeline.inputs, Inputs::Images) {
            return Err(self.wrong_input("IDX images", "a table; give --csv"));
        }
        let array = read_idx(images)?;
        let count = array.dims.first().copied().unwrap_or(0);
        let (shape, pixels, targets) = match labels {
            Some(path) => {
                let labels = read_idx(path)?;
                let (shape, pixels, labels) = images_and_labels(images, array, path, labels)?;
                let classes = self.pipeline.class_names.len() as u32;
                if let Some(bad) = labels.iter().find(|&&l| l >= classes) {
                    return Err(DataError::format(
                        path,
                        format!("label {bad} is out of range: the model knows {classes} classes"),
                    )
                    .into());
                }
                (shape, pixels, Some(Targets::Classes(labels)))
            }
            None => {
                let (shape, pixels) = images_only(images, array)?;
                (shape, pixels, None)
            }
        };
        let labelled = if targets.is_some() {
            (0..count).collect()
        } else {
            vec![]
        };
        if shape != self.pipeline.raw_shape {
            return Err(DataError::format(
                images,
                format!(
                    "images have shape {shape:?}; the model was trained on {:?}",
                    self.pipeline.raw_shape
                ),
            )
            .into());
        }
        self.new_data(images, pixels, count, targets, labelled)
    }

    /// `targets` are those of the `labelled` rows, in order.
    fn new_data(
        &self,
        path: &Path,
        features: Vec<f32>,
        rows: usize,
        targets: Option<Targets>,
        labelled: Vec<usize>,
    ) -> Result<NewData> {
        if rows == 0 {
            return Err(DataError::format(path, "no rows to predict").into());
        }
        // Unlabelled rows get placeholder targets; only the labelled rows are scored.
        let mut all = match self.pipeline.task {
            Task::Classification => Targets::Classes(vec![0; rows]),
            Task::Regression => Targets::Values(vec![0.0; rows]),
        };
        match (&mut all, targets) {
            (Targets::Classes(all), Some(Targets::Classes(known))) => labelled
                .iter()
                .zip(known)
                .for_each(|(&row, c)| all[row] = c),
            (Targets::Values(all), Some(Targets::Values(known))) => labelled
                .iter()
                .zip(known)
                .for_each(|(&row, v)| all[row] = v),
            _ => {}
        }
        Ok(NewData {
            path: path.to_path_buf(),
            raw: Samples::new(self.pipeline.raw_shape.clone(), features, all),
            labelled,
            passthrough: vec![],
        })
    }

    fn wrong_input(&self, given: &str, trained: &str) -> TrainError {
        TrainError::config(
            "input",
            format!(
                "{} was trained on {trained}, not {given}",
                self.run.path().display()
            ),
        )
    }

    /// Runs the model on `data`, in the batches `anneal eval` uses.
    pub fn predict(&self, data: &NewData, device: &Device) -> Predictions {
        let samples = self.pipeline.transform(&data.raw);
        let batch = eval_batch(&self.config);
        let scoring = self.pipeline.scoring();
        // One forward pass serves the predictions and, when every row is labelled, the metrics.
        let (raw, evaluation) = if data.labelled.len() == samples.len() {
            let (evaluation, raw) =
                evaluate_with_outputs(&self.model, &samples, &scoring, batch, device);
            (raw, Some(evaluation))
        } else {
            let raw = outputs(&self.model, &samples, batch, device);
            let evaluation = (!data.labelled.is_empty()).then(|| {
                let scored = samples.select(&data.labelled);
                evaluate(&self.model, &scored, &scoring, batch, device)
            });
            (raw, evaluation)
        };
        let rows = samples.len();
        let pipeline = &self.pipeline;
        let (classes, values) = match pipeline.task {
            Task::Classification => {
                let single_logit = pipeline.loss.kind == LossKind::Bce;
                let k = pipeline.class_names.len();
                let probabilities = probabilities(&raw, pipeline.outputs, k, single_logit);
                let classes = if single_logit {
                    // As the metrics decide it: logit > 0.
                    raw.iter().map(|&z| u32::from(z > 0.0)).collect()
                } else {
                    raw.chunks_exact(pipeline.outputs).map(arg_max).collect()
                };
                (classes, probabilities)
            }
            Task::Regression => {
                let unscale = |v: f32| pipeline.target_scale.map_or(v, |s| s.unscale(v));
                (vec![], raw.into_iter().map(unscale).collect())
            }
        };
        Predictions {
            task: pipeline.task,
            class_names: pipeline.class_names.clone(),
            rows,
            classes,
            values,
            evaluation,
            labelled: data.labelled.len(),
            passthrough: data.passthrough.clone(),
        }
    }
}

/// The first index of the largest output, as the metrics' arg-max picks it.
fn arg_max(row: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best as u32
}

/// Class probabilities: the softmax of the outputs, or for one binary-cross-entropy logit the
/// sigmoid as the second class's probability.
fn probabilities(raw: &[f32], outputs: usize, classes: usize, single_logit: bool) -> Vec<f32> {
    let mut out = Vec::with_capacity(raw.len() / outputs.max(1) * classes);
    for row in raw.chunks_exact(outputs) {
        if single_logit {
            let p = 1.0 / (1.0 + (-row[0]).exp());
            out.extend([1.0 - p, p]);
        } else {
            let top = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let exp: Vec<f32> = row.iter().map(|&z| (z - top).exp()).collect();
            let sum: f32 = exp.iter().sum();
            out.extend(exp.iter().map(|e| e / sum));
        }
    }
    out
}

impl Predictions {
    /// One CSV row per input: its ignored columns (IDs) as given, then `predicted` and a
    /// `prob_<class>` column per class, or just `predicted` (in the target's units) for
    /// regression.
    pub fn write_csv(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut text = String::with_capacity(self.rows * (8 + 10 * self.class_names.len()));
        let mut header: Vec<String> = self.passthrough.iter().map(|(n, _)| csv_field(n)).collect();
        header.push("predicted".into());
        if self.task == Task::Classification {
            header.extend(
                self.class_names
                    .iter()
                    .map(|name| csv_field(&format!("prob_{name}"))),
            );
        }
        text.push_str(&header.join(","));
        text.push('\n');
        let k = self.class_names.len();
        for row in 0..self.rows {
            for (_, values) in &self.passthrough {
                text.push_str(&csv_field(&values[row]));
                text.push(',');
            }
            match self.task {
                Task::Classification => {
                    text.push_str(&csv_field(&self.class_names[self.classes[row] as usize]));
                    for p in &self.values[row * k..(row + 1) * k] {
                        text.push_str(&format!(",{p:.6}"));
                    }
                }
                Task::Regression => text.push_str(&self.values[row].to_string()),
            }
            text.push('\n');
        }
        out.write_all(text.as_bytes())
    }
}

/// A class name as a CSV field: quoted when it holds a comma, quote or line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_predictions_file_is_valid_csv_whatever_the_names_and_ids() {
        let predictions = Predictions {
            task: Task::Classification,
            class_names: vec!["no".into(), "yes, \"surely\"".into()],
            rows: 2,
            classes: vec![1, 0],
            values: vec![0.25, 0.75, 0.5, 0.5],
            evaluation: None,
            labelled: 0,
            passthrough: vec![("id".into(), vec!["a,1".into(), "b\"2".into()])],
        };
        let mut out = Vec::new();
        predictions.write_csv(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "id,predicted,prob_no,\"prob_yes, \"\"surely\"\"\"\n\
             \"a,1\",\"yes, \"\"surely\"\"\",0.250000,0.750000\n\
             \"b\"\"2\",no,0.500000,0.500000\n"
        );
        let regression = Predictions {
            task: Task::Regression,
            class_names: vec![],
            rows: 2,
            classes: vec![],
            values: vec![1.5, -2.0],
            evaluation: None,
            labelled: 0,
            passthrough: vec![],
        };
        let mut out = Vec::new();
        regression.write_csv(&mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "predicted\n1.5\n-2\n");
    }
}
