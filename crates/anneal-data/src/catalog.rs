//! Finding the bundled datasets and loading them (or a user's own files) into [`LoadedDataset`]s.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};
use crate::formats::csv::{self, Delimiter, Header, TargetColumn};
use crate::formats::idx;
use crate::formats::{maybe_gunzip, read_file, verify_sha256};
use crate::manifest::{Manifest, SourceFormat};
use crate::samples::{DatasetInfo, LoadedDataset, Samples, Targets, Task};
use crate::tabular::{TabularOptions, file_stem, load_csv};

/// Environment variable that points anneal at a datasets folder.
pub const DATA_DIR_ENV: &str = "ANNEAL_DATA_DIR";

/// The bundled datasets: every `<root>/<name>/manifest.toml`.
#[derive(Debug, Clone)]
pub struct Catalog {
    root: PathBuf,
    entries: Vec<Manifest>,
    /// Bundled datasets already loaded and verified, when caching is on (see [`Catalog::cached`]).
    cache: Option<DatasetCache>,
}

#[derive(Clone, Default)]
struct DatasetCache(Arc<Mutex<HashMap<String, LoadedDataset>>>);

impl std::fmt::Debug for DatasetCache {
    /// The names only: the datasets themselves are megabytes of numbers.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self.0.lock().unwrap().keys().cloned().collect();
        f.debug_tuple("DatasetCache").field(&names).finish()
    }
}

impl Catalog {
    /// Opens the datasets folder: `explicit` if given, else `$ANNEAL_DATA_DIR`, else `./datasets`,
    /// else the `datasets/` of the source tree this binary was built from.
    pub fn discover(explicit: Option<&Path>) -> Result<Self> {
        let candidates: Vec<PathBuf> = match explicit {
            Some(p) => vec![p.to_path_buf()],
            None => std::env::var_os(DATA_DIR_ENV)
                .map(PathBuf::from)
                .into_iter()
                .chain([
                    PathBuf::from("datasets"),
                    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets"),
                ])
                .collect(),
        };
        match candidates.iter().find(|c| c.is_dir()) {
            Some(root) => Self::open(root),
            None => Err(DataError::NoDataRoot {
                searched: candidates
                    .iter()
                    .map(|c| c.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// Opens `root`, reading every manifest below it (sorted by dataset name).
    pub fn open(root: &Path) -> Result<Self> {
        let dir = std::fs::read_dir(root).map_err(|e| DataError::io(root, e))?;
        let mut entries = Vec::new();
        for entry in dir {
            let entry = entry.map_err(|e| DataError::io(root, e))?;
            let manifest_path = entry.path().join("manifest.toml");
            if manifest_path.is_file() {
                let manifest = Manifest::load(&manifest_path)?;
                let folder = entry.file_name();
                if manifest.name != folder.to_string_lossy() {
                    return Err(DataError::Manifest {
                        path: manifest_path,
                        message: format!(
                            "name '{}' differs from its folder '{}'",
                            manifest.name,
                            folder.to_string_lossy()
                        ),
                    });
                }
                entries.push(manifest);
            }
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Self {
            root: root.to_path_buf(),
            entries,
            cache: None,
        })
    }

    /// Keeps each bundled dataset in memory after its first load, verified once: a sweep loads
    /// the same dataset for every trial (and again for every continued one), and reading,
    /// checking and unpacking Fashion-MNIST each time costs 0.4 s. Clones share the cache.
    pub fn cached(mut self) -> Self {
        self.cache.get_or_insert_with(Default::default);
        self
    }

    /// A catalog of no datasets, for runs whose data are their own files (CSV, IDX).
    pub fn empty() -> Self {
        Self {
            root: PathBuf::new(),
            entries: vec![],
            cache: None,
        }
    }

    /// The datasets folder the catalog was opened on (empty for [`Catalog::empty`]).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every dataset's manifest, sorted by name.
    pub fn manifests(&self) -> &[Manifest] {
        &self.entries
    }

    /// Every dataset's name, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.entries.iter().map(|m| m.name.as_str()).collect()
    }

    /// The manifest of dataset `name`; an unknown name is an error listing the available ones.
    pub fn manifest(&self, name: &str) -> Result<&Manifest> {
        self.entries
            .iter()
            .find(|m| m.name == name)
            .ok_or_else(|| DataError::UnknownDataset {
                name: name.to_string(),
                available: self.names().join(", "),
            })
    }

    /// Loads a bundled dataset, verifying every file's size and sha256 and every sample count.
    /// With caching on, later loads are copies of the first.
    pub fn load(&self, name: &str) -> Result<LoadedDataset> {
        let manifest = self.manifest(name)?;
        let cache = self.cache.as_ref();
        if let Some(hit) = cache.and_then(|c| c.0.lock().unwrap().get(name).cloned()) {
            return Ok(hit);
        }
        let loaded = load_bundled(&self.root.join(&manifest.name), manifest)?;
        if let Some(cache) = cache {
            cache
                .0
                .lock()
                .unwrap()
                .insert(name.to_string(), loaded.clone());
        }
        Ok(loaded)
    }

    /// Loads whichever source a run names. A CSV is encoded with statistics of all its rows
    /// (as `anneal datasets check` shows it); runs go through [`crate::TabularData`] instead,
    /// which fits on the training rows only.
    pub fn load_source(&self, source: &DataSource) -> Result<LoadedDataset> {
        match source {
            DataSource::Bundled(name) => self.load(name),
            DataSource::Csv(csv) => load_csv(csv, &TabularOptions::default()),
            DataSource::Idx(idx) => load_idx(idx),
        }
    }
}

/// Where a run's data comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataSource {
    /// A dataset shipped in `datasets/`, by name.
    Bundled(String),
    /// The user's own CSV file.
    Csv(CsvSource),
    /// The user's own IDX images and labels.
    Idx(IdxSource),
}

/// A user's CSV file (plain or gzipped) and how to read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvSource {
    /// The training file.
    pub path: PathBuf,
    /// A separate test file with the same columns; without one, a test set is held out of `path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_path: Option<PathBuf>,
    /// What the target column asks a model to predict.
    pub task: Task,
    /// The target column: a header name, `"first"`, `"last"` (default) or a zero-based index.
    #[serde(default)]
    pub target: TargetColumn,
    /// What separates the cells (default: commas).
    #[serde(default)]
    pub delimiter: Delimiter,
    /// What the first line holds (default: column names).
    #[serde(default)]
    pub header: Header,
    /// Columns to treat as text categories even though they hold numbers (codes, ZIP codes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categorical: Vec<String>,
    /// Columns that are not features (IDs, free text); `anneal predict` copies them to its
    /// output, so predictions can be joined back to their rows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<String>,
    /// Cell values that mean "missing" besides the standard ones (empty, NA, N/A, NaN, nan,
    /// NULL, null), e.g. `["?"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    /// Optional dataset name for reports (default: the file stem).
    pub name: Option<String>,
}

/// A user's IDX images and labels (plain or gzipped).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdxSource {
    /// The training images.
    pub train_images: PathBuf,
    /// The training labels, one per training image.
    pub train_labels: PathBuf,
    /// Test images; given together with `test_labels` or not at all.
    pub test_images: Option<PathBuf>,
    /// Test labels, one per test image.
    pub test_labels: Option<PathBuf>,
    /// Whether mirroring keeps the class (enables horizontal-flip augmentation).
    #[serde(default)]
    pub flip_invariant: bool,
    /// Optional dataset name for reports (default: the training images' file stem).
    pub name: Option<String>,
}

fn load_bundled(dir: &Path, manifest: &Manifest) -> Result<LoadedDataset> {
    let read = |file: &str| -> Result<(PathBuf, Vec<u8>)> {
        let path = dir.join(file);
        let entry = manifest
            .file_entry(file)
            .expect("manifest check guarantees an entry per source file");
        let bytes = read_file(&path)?;
        if bytes.len() as u64 != entry.bytes {
            return Err(DataError::format(
                &path,
                format!(
                    "expected {} bytes, found {} ({}); restore it from the repository",
                    entry.bytes,
                    bytes.len(),
                    if (bytes.len() as u64) < entry.bytes {
                        "truncated"
                    } else {
                        "extra bytes"
                    }
                ),
            ));
        }
        verify_sha256(&path, &bytes, &entry.sha256)?;
        Ok((path, bytes))
    };

    let info = DatasetInfo {
        name: manifest.name.clone(),
        task: manifest.task,
        shape: manifest.shape.clone(),
        class_names: manifest.class_names.clone(),
        flip_invariant: manifest.flip_invariant,
    };
    let (train, test) = match &manifest.source {
        SourceFormat::Idx {
            train_images,
            train_labels,
            test_images,
            test_labels,
        } => {
            let pair = |images: &str, labels: &str| -> Result<(PathBuf, Samples)> {
                let (ip, ib) = read(images)?;
                let (lp, lb) = read(labels)?;
                let samples = idx_samples(&ip, ib, &lp, lb)?;
                Ok((lp, samples))
            };
            let train = pair(train_images, train_labels)?;
            let test = match (test_images, test_labels) {
                (Some(i), Some(l)) => Some(pair(i, l)?),
                _ => None,
            };
            (train, test)
        }
        SourceFormat::Csv {
            features,
            delimiter,
            header,
            target,
            targets,
        } => {
            let (path, bytes) = read(features)?;
            let bytes = maybe_gunzip(&path, bytes)?;
            let target_column = targets.is_none().then_some(target);
            let table = csv::parse_table(&path, &bytes, *delimiter, *header, target_column)?;
            let (target_path, target_cells) = match targets {
                None => (path.clone(), table.targets.clone()),
                Some(file) => {
                    let (tp, tb) = read(file)?;
                    let tb = maybe_gunzip(&tp, tb)?;
                    let cells = csv::parse_column(&tp, &tb)?;
                    if cells.len() != table.rows() {
                        return Err(DataError::Count {
                            path: tp,
                            what: format!("targets (one per row of {})", path.display()),
                            expected: table.rows(),
                            found: cells.len(),
                        });
                    }
                    (tp, cells)
                }
            };
            let feature_len: usize = manifest.shape.iter().product();
            if table.num_features != feature_len {
                return Err(DataError::Count {
                    path,
                    what: format!("feature columns for shape {:?}", manifest.shape),
                    expected: feature_len,
                    found: table.num_features,
                });
            }
            let column = table.target_column.unwrap_or(0);
            let targets = match manifest.task {
                Task::Regression => {
                    Targets::Values(parse_values(&target_path, column, &target_cells)?)
                }
                Task::Classification => Targets::Classes(parse_class_ids(
                    &target_path,
                    column,
                    &target_cells,
                    manifest.class_names.len(),
                )?),
            };
            let samples = Samples::new(manifest.shape.clone(), table.features, targets);
            ((target_path, samples), None)
        }
    };

    let (train_path, train) = train;
    check_counts(
        &train_path,
        &info,
        &train,
        manifest.samples.train,
        &manifest.samples.train_class_counts,
    )?;
    let test = match (test, manifest.samples.test) {
        (Some((path, test)), Some(expected)) => {
            check_counts(
                &path,
                &info,
                &test,
                expected,
                &manifest.samples.test_class_counts,
            )?;
            Some(test)
        }
        _ => None,
    };
    Ok(LoadedDataset { info, train, test })
}

fn idx_samples(
    images_path: &Path,
    images: Vec<u8>,
    labels_path: &Path,
    labels: Vec<u8>,
) -> Result<Samples> {
    let images_bytes = maybe_gunzip(images_path, images)?;
    let images = idx::parse_idx(images_path, &images_bytes)?;
    drop(images_bytes);
    let labels = idx::parse_idx(labels_path, &maybe_gunzip(labels_path, labels)?)?;
    let (shape, pixels, labels) = idx::images_and_labels(images_path, images, labels_path, labels)?;
    Ok(Samples::new(shape, pixels, Targets::Classes(labels)))
}

/// Checks a split against the manifest: sample count, shape, label range and class counts.
fn check_counts(
    path: &Path,
    info: &DatasetInfo,
    samples: &Samples,
    expected: usize,
    class_counts: &[usize],
) -> Result<()> {
    if samples.len() != expected {
        return Err(DataError::Count {
            path: path.to_path_buf(),
            what: "samples".into(),
            expected,
            found: samples.len(),
        });
    }
    if samples.shape != info.shape {
        return Err(DataError::format(
            path,
            format!(
                "samples have shape {:?}, the manifest says {:?}",
                samples.shape, info.shape
            ),
        ));
    }
    if let Some(classes) = samples.targets.classes() {
        if let Some(bad) = classes.iter().find(|&&c| c as usize >= info.num_classes()) {
            return Err(DataError::format(
                path,
                format!(
                    "label {bad} is out of range: the dataset has {} classes",
                    info.num_classes()
                ),
            ));
        }
        let found = samples.class_counts(info.num_classes());
        if !class_counts.is_empty() && found != class_counts {
            return Err(DataError::format(
                path,
                format!("class counts {found:?} differ from the manifest's {class_counts:?}"),
            ));
        }
    }
    Ok(())
}

pub(crate) fn parse_values(
    path: &Path,
    column: usize,
    cells: &[(u64, String)],
) -> Result<Vec<f32>> {
    cells
        .iter()
        .map(|(line, cell)| {
            cell.parse::<f32>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| DataError::Malformed {
                    path: path.to_path_buf(),
                    line: *line,
                    column: column + 1,
                    message: format!("target '{cell}' is not a finite number"),
                })
        })
        .collect()
}

fn parse_class_ids(
    path: &Path,
    column: usize,
    cells: &[(u64, String)],
    num_classes: usize,
) -> Result<Vec<u32>> {
    cells
        .iter()
        .map(|(line, cell)| {
            cell.parse::<u32>()
                .ok()
                .filter(|&c| (c as usize) < num_classes)
                .ok_or_else(|| DataError::Malformed {
                    path: path.to_path_buf(),
                    line: *line,
                    column: column + 1,
                    message: format!("class label '{cell}' is not an integer in 0..{num_classes}"),
                })
        })
        .collect()
}

/// Loads a user's IDX images and labels (gzipped or raw).
pub fn load_idx(source: &IdxSource) -> Result<LoadedDataset> {
    let pair = |images: &Path, labels: &Path| -> Result<Samples> {
        idx_samples(images, read_file(images)?, labels, read_file(labels)?)
    };
    let train = pair(&source.train_images, &source.train_labels)?;
    let test = match (&source.test_images, &source.test_labels) {
        (Some(i), Some(l)) => {
            let test = pair(i, l)?;
            if test.shape != train.shape {
                return Err(DataError::format(
                    i,
                    format!(
                        "test images have shape {:?}, training images {:?}",
                        test.shape, train.shape
                    ),
                ));
            }
            Some(test)
        }
        (None, None) => None,
        _ => {
            return Err(DataError::config(
                "test_images",
                "test_images and test_labels must be given together",
            ));
        }
    };
    let max_label = train
        .targets
        .classes()
        .into_iter()
        .chain(test.as_ref().and_then(|t| t.targets.classes()))
        .flat_map(|c| c.iter().copied())
        .max()
        .unwrap_or(0);
    let distinct_train = train.class_counts(max_label as usize + 1);
    if distinct_train.iter().filter(|&&n| n > 0).count() < 2 {
        return Err(DataError::format(
            &source.train_labels,
            format!(
                "a classification target needs at least 2 classes; the training labels hold only one"
            ),
        ));
    }
    let info = DatasetInfo {
        name: source
            .name
            .clone()
            .unwrap_or_else(|| file_stem(&source.train_images)),
        task: Task::Classification,
        shape: train.shape.clone(),
        class_names: (0..=max_label).map(|c| c.to_string()).collect(),
        flip_invariant: source.flip_invariant,
    };
    Ok(LoadedDataset { info, train, test })
}
