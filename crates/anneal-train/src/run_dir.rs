//! A run's folder: the resolved config, `metrics.csv` (appended and flushed every epoch, so a
//! killed run keeps its history), the checkpoint, `summary.json` and the learning-curve plot.
//! `summary.json` is written last and only by a run that ended: a folder without one did not
//! finish, and one whose status is `diverged` failed.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anneal_model::Model;
use burn::module::Module;

use crate::config::RunConfig;
use crate::error::{Result, TrainError};
use crate::pipeline::{PIPELINE_VERSION, Pipeline};
use crate::run_files::{MetricsRow, Summary, csv_row, metrics_header, read_metrics};
use crate::trainer::{Control, EpochRecord, Observer};

/// The resolved config's file name in a run folder.
pub const CONFIG_FILE: &str = "config.toml";
/// The per-epoch metrics' file name in a run folder.
pub const METRICS_FILE: &str = "metrics.csv";
/// The model checkpoint's file name in a run folder.
pub const CHECKPOINT_FILE: &str = "model.bpk";
/// The summary's file name in a run folder (written when the run ends).
pub const SUMMARY_FILE: &str = "summary.json";
/// The learning-curve plot's file name in a run folder.
pub const CURVES_FILE: &str = "curves.svg";
/// The saved pipeline's file name in a run folder (see [`Pipeline`]).
pub const PIPELINE_FILE: &str = "pipeline.json";

/// A run's folder on disk.
#[derive(Debug, Clone)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    /// Creates `root/name`; an existing folder is an error, never overwritten.
    pub fn create(root: &Path, name: &str) -> Result<Self> {
        if name.is_empty() || name.contains(['/', '\\']) || name == "." || name == ".." {
            return Err(TrainError::config(
                "name",
                format!("'{name}' is not a folder name (no slashes)"),
            ));
        }
        std::fs::create_dir_all(root).map_err(|e| TrainError::io(root, e))?;
        let path = root.join(name);
        match std::fs::create_dir(&path) {
            Ok(()) => Ok(Self { path }),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(TrainError::RunExists(path))
            }
            Err(e) => Err(TrainError::io(&path, e)),
        }
    }

    /// An existing run folder (for `anneal eval`).
    pub fn open(path: &Path) -> Result<Self> {
        if !path.join(CONFIG_FILE).is_file() {
            return Err(TrainError::io(
                path.join(CONFIG_FILE),
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "not a run folder (no config.toml)",
                ),
            ));
        }
        Ok(Self {
            path: path.to_path_buf(),
        })
    }

    /// The folder's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of the file `name` in the folder.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// The config with every default filled in (and the loss resolved).
    pub fn write_config(&self, config: &RunConfig) -> Result<()> {
        let text = toml::to_string_pretty(config).map_err(|e| TrainError::Checkpoint {
            path: self.file(CONFIG_FILE),
            message: format!("cannot serialise the config: {e}"),
        })?;
        write_atomically(&self.file(CONFIG_FILE), text.as_bytes())
    }

    /// The resolved config. A folder written before `patience` was always recorded left it out
    /// to mean "every epoch"; that meaning is kept, so its paused run continues as it began.
    /// Its data paths are absolute (relative ones, in older folders, are read from the working
    /// directory).
    pub fn read_config(&self) -> Result<RunConfig> {
        let path = self.file(CONFIG_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| TrainError::io(&path, e))?;
        let mut table: toml::Table = toml::from_str(&text).map_err(|e| TrainError::Parse {
            path: path.clone(),
            message: e.to_string(),
        })?;
        if let Some(stopping) = table
            .get_mut("train")
            .and_then(|t| t.get_mut("early_stopping"))
            .and_then(|e| e.as_table_mut())
        {
            stopping
                .entry("patience")
                .or_insert_with(|| toml::Value::String("off".into()));
        }
        if self.file(PIPELINE_FILE).exists() {
            RunConfig::from_table(&path, table)
        } else {
            // Folders from before runs saved their pipeline recorded data paths relative to
            // the directory anneal ran in, not to the folder.
            RunConfig::from_table_in(&path, Path::new(""), table)
        }
    }

    /// What new inputs go through before the model (see [`Pipeline`]).
    pub fn write_pipeline(&self, pipeline: &Pipeline) -> Result<()> {
        let text = serde_json::to_string_pretty(pipeline).expect("pipelines serialise");
        write_atomically(&self.file(PIPELINE_FILE), text.as_bytes())
    }

    /// The saved pipeline, or `None` for a run folder written before runs saved one.
    pub fn read_pipeline(&self) -> Result<Option<Pipeline>> {
        let path = self.file(PIPELINE_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(TrainError::io(&path, e)),
        };
        let pipeline: Pipeline = serde_json::from_str(&text).map_err(|e| TrainError::Parse {
            path: path.clone(),
            message: e.to_string(),
        })?;
        if pipeline.version != PIPELINE_VERSION {
            return Err(TrainError::Parse {
                path,
                message: format!(
                    "pipeline version {} is not the one this anneal reads ({PIPELINE_VERSION})",
                    pipeline.version
                ),
            });
        }
        Ok(Some(pipeline))
    }

    /// Saves beside the old checkpoint, then renames over it: a kill mid-save leaves the
    /// previous checkpoint intact.
    pub fn save_checkpoint(&self, model: &Model) -> Result<()> {
        let path = self.file(CHECKPOINT_FILE);
        let temp = path.with_extension("partial");
        model
            .clone()
            .save_file(&temp)
            .map_err(|e| TrainError::Checkpoint {
                path: path.clone(),
                message: format!("cannot save the model: {e}"),
            })?;
        std::fs::rename(&temp, &path).map_err(|e| TrainError::io(&path, e))
    }

    /// Loads the checkpoint into a freshly built model of the same architecture.
    pub fn load_checkpoint(&self, skeleton: Model) -> Result<Model> {
        let path = self.file(CHECKPOINT_FILE);
        skeleton
            .try_load_file(&path)
            .map_err(|e| TrainError::Checkpoint {
                path: path.clone(),
                message: format!("cannot load the model: {e}"),
            })
    }

    /// The run's `metrics.csv`, one row per epoch.
    pub fn read_metrics(&self) -> Result<Vec<MetricsRow>> {
        read_metrics(&self.file(METRICS_FILE))
    }

    /// Writes `summary.json` (atomically: a temporary file renamed into place).
    pub fn write_summary(&self, summary: &Summary) -> Result<()> {
        let text = serde_json::to_string_pretty(summary).expect("summaries serialise");
        write_atomically(&self.file(SUMMARY_FILE), text.as_bytes())
    }

    /// Reads `summary.json`.
    pub fn read_summary(&self) -> Result<Summary> {
        let path = self.file(SUMMARY_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| TrainError::io(&path, e))?;
        serde_json::from_str(&text).map_err(|e| TrainError::Parse {
            path,
            message: e.to_string(),
        })
    }
}

/// `base`, or `base-2`, `base-3`… whichever folder under `root` does not exist yet: a default
/// run name that never collides with (and so never overwrites) an earlier run.
pub fn free_run_name(root: &Path, base: &str) -> String {
    if !root.join(base).exists() {
        return base.to_string();
    }
    (2..)
        .map(|i| format!("{base}-{i}"))
        .find(|n| !root.join(n).exists())
        .expect("some suffix is free")
}

/// Writes to a temporary file beside `path`, then renames it into place, so a reader never sees
/// half a file.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let temp = path.with_extension("partial");
    std::fs::write(&temp, bytes).map_err(|e| TrainError::io(&temp, e))?;
    std::fs::rename(&temp, path).map_err(|e| TrainError::io(path, e))
}

/// Writes `metrics.csv` rows as epochs end.
pub struct MetricsWriter {
    file: File,
    path: PathBuf,
}

impl MetricsWriter {
    /// Creates the run's `metrics.csv` with its header line (the classification or the regression
    /// columns); an existing file is an error.
    pub fn create(run: &RunDir, classification: bool) -> Result<Self> {
        let path = run.file(METRICS_FILE);
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| TrainError::io(&path, e))?;
        writeln!(file, "{}", metrics_header(classification))
            .map_err(|e| TrainError::io(&path, e))?;
        Ok(Self { file, path })
    }

    /// Reopens the metrics of a paused run that continues: the file is rewritten with the
    /// epochs the paused state holds (dropping rows of a continuation that was killed), then
    /// appended to.
    pub fn resume(run: &RunDir, classification: bool, history: &[EpochRecord]) -> Result<Self> {
        let path = run.file(METRICS_FILE);
        let mut text = format!("{}\n", metrics_header(classification));
        for record in history {
            text.push_str(&csv_row(record));
            text.push('\n');
        }
        write_atomically(&path, text.as_bytes())?;
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| TrainError::io(&path, e))?;
        Ok(Self { file, path })
    }

    /// Appends one epoch's row and flushes it to disk.
    pub fn append(&mut self, record: &EpochRecord) -> Result<()> {
        let row = csv_row(record);
        writeln!(self.file, "{row}")
            .and_then(|_| self.file.flush())
            .map_err(|e| TrainError::io(&self.path, e))
    }
}

/// An observer that records a run into its folder: metrics rows and best checkpoints as they
/// happen. It never stops a run.
pub struct RunRecorder<'a> {
    /// The folder recorded into.
    pub run: &'a RunDir,
    /// Writes the epochs' rows to `metrics.csv`.
    pub metrics: MetricsWriter,
    /// Checkpoint each new best model (on when the best epoch's weights are restored at the end).
    pub checkpoint_best: bool,
}

impl Observer for RunRecorder<'_> {
    fn epoch_finished(
        &mut self,
        record: &EpochRecord,
        new_best: Option<&Model>,
    ) -> Result<Control> {
        self.metrics.append(record)?;
        if let (true, Some(model)) = (self.checkpoint_best, new_best) {
            self.run.save_checkpoint(model)?;
        }
        Ok(Control::Continue)
    }
}
