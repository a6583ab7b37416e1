//! The `manifest.toml` beside each bundled dataset: what the data is, where its files are, what
//! their checksums and sample counts must be, and under which licence it ships.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};
use crate::formats::csv::{Delimiter, Header, TargetColumn};
use crate::samples::Task;

/// One bundled dataset's `manifest.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The dataset's name, which is also its folder's name.
    pub name: String,
    /// A short description of the data.
    pub description: String,
    /// What the dataset asks a model to predict.
    pub task: Task,
    /// Shape of one sample: `[features]` or `[channels, height, width]`.
    pub shape: Vec<usize>,
    /// Class names by index; empty for regression.
    #[serde(default)]
    pub class_names: Vec<String>,
    /// Whether a left-right mirror keeps an image's class (false for digits: a mirrored 2 is no 2).
    #[serde(default)]
    pub flip_invariant: bool,
    /// The licence the data ships under.
    pub licence: String,
    /// The data's authors and where the files come from.
    pub attribution: String,
    /// The format of the data files and which file holds what.
    pub source: SourceFormat,
    /// The sample counts the data files must hold.
    pub samples: SampleCounts,
    /// Every data file with its size and sha256; loading checks each one.
    pub files: Vec<FileEntry>,
}

/// How a dataset's data files are laid out (`format` in `[source]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "format", rename_all = "snake_case", deny_unknown_fields)]
pub enum SourceFormat {
    /// MNIST-style IDX images and labels, with an optional official test split.
    Idx {
        /// The training images file, relative to the dataset folder.
        train_images: String,
        /// The training labels file.
        train_labels: String,
        /// The official test split's images file, if there is one.
        test_images: Option<String>,
        /// The official test split's labels file, if there is one.
        test_labels: Option<String>,
    },
    /// A delimited table; targets are a column of it or, with `targets`, a second one-column file.
    Csv {
        /// The table file, relative to the dataset folder.
        features: String,
        /// What separates the cells.
        #[serde(default)]
        delimiter: Delimiter,
        /// What the first line holds.
        #[serde(default)]
        header: Header,
        /// The target column (ignored when `targets` names a separate file).
        #[serde(default)]
        target: TargetColumn,
        /// A separate one-column file of targets, one per row of `features`.
        targets: Option<String>,
    },
}

/// The sample counts a dataset's files must hold.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleCounts {
    /// Samples in the training file (all samples when there is no official test split).
    pub train: usize,
    /// Samples in the official test split, if the dataset has one.
    pub test: Option<usize>,
    /// Training samples per class; empty skips the check.
    #[serde(default)]
    pub train_class_counts: Vec<usize>,
    /// Official test samples per class; empty skips the check.
    #[serde(default)]
    pub test_class_counts: Vec<usize>,
}

/// One data file, with the size and checksum it must have.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// The file's path, relative to the dataset folder.
    pub path: String,
    /// The file's size in bytes.
    pub bytes: u64,
    /// The file's sha256 digest, in hex.
    pub sha256: String,
}

impl Manifest {
    /// Reads and checks a manifest for internal consistency (not its data files).
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
        let manifest: Manifest = toml::from_str(&text).map_err(|e| DataError::Manifest {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        manifest.check(path)?;
        Ok(manifest)
    }

    fn check(&self, path: &Path) -> Result<()> {
        let fail = |message: String| DataError::Manifest {
            path: path.to_path_buf(),
            message,
        };
        if !matches!(self.shape.len(), 1 | 3) || self.shape.contains(&0) {
            return Err(fail(format!(
                "shape {:?} must be [features] or [channels, height, width] with no zero",
                self.shape
            )));
        }
        match self.task {
            Task::Classification if self.class_names.len() < 2 => {
                return Err(fail(
                    "a classification dataset needs at least 2 class_names".into(),
                ));
            }
            Task::Regression if !self.class_names.is_empty() => {
                return Err(fail("a regression dataset has no class_names".into()));
            }
            _ => {}
        }
        for counts in [
            &self.samples.train_class_counts,
            &self.samples.test_class_counts,
        ] {
            if !counts.is_empty() && counts.len() != self.class_names.len() {
                return Err(fail(format!(
                    "class counts list {} classes, class_names {}",
                    counts.len(),
                    self.class_names.len()
                )));
            }
        }
        for file in self.source_files() {
            if self.file_entry(file).is_none() {
                return Err(fail(format!(
                    "data file '{file}' has no [[files]] entry with its sha256"
                )));
            }
        }
        if let SourceFormat::Idx {
            test_images,
            test_labels,
            ..
        } = &self.source
        {
            if test_images.is_some() != test_labels.is_some()
                || test_images.is_some() != self.samples.test.is_some()
            {
                return Err(fail(
                    "test_images, test_labels and samples.test must be given together".into(),
                ));
            }
        }
        Ok(())
    }

    /// The data files the source reads, in reading order.
    pub fn source_files(&self) -> Vec<&str> {
        match &self.source {
            SourceFormat::Idx {
                train_images,
                train_labels,
                test_images,
                test_labels,
            } => [
                Some(train_images),
                Some(train_labels),
                test_images.as_ref(),
                test_labels.as_ref(),
            ]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect(),
            SourceFormat::Csv {
                features, targets, ..
            } => [Some(features), targets.as_ref()]
                .into_iter()
                .flatten()
                .map(String::as_str)
                .collect(),
        }
    }

    /// The `[[files]]` entry for `path`, if there is one.
    pub fn file_entry(&self, path: &str) -> Option<&FileEntry> {
        self.files.iter().find(|f| f.path == path)
    }

    /// Has an official test split (MNIST, Fashion-MNIST) rather than a held-out one.
    pub fn has_official_test(&self) -> bool {
        self.samples.test.is_some()
    }
}
