//! Samples and targets in memory, and the description of the dataset they come from.

use serde::{Deserialize, Serialize};

/// What a dataset asks a model to predict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// Predict one of a fixed set of classes.
    Classification,
    /// Predict one real value.
    Regression,
}

impl std::fmt::Display for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Task::Classification => "classification",
            Task::Regression => "regression",
        })
    }
}

/// The targets of a set of samples, one per sample.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    /// Class indices in `0..num_classes`.
    Classes(Vec<u32>),
    /// One real value per sample.
    Values(Vec<f32>),
}

impl Targets {
    /// Number of targets (one per sample).
    pub fn len(&self) -> usize {
        match self {
            Targets::Classes(c) => c.len(),
            Targets::Values(v) => v.len(),
        }
    }

    /// Whether there are no targets.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The targets at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Targets {
        match self {
            Targets::Classes(c) => Targets::Classes(indices.iter().map(|&i| c[i]).collect()),
            Targets::Values(v) => Targets::Values(indices.iter().map(|&i| v[i]).collect()),
        }
    }

    /// The class indices, or `None` for real-valued targets.
    pub fn classes(&self) -> Option<&[u32]> {
        match self {
            Targets::Classes(c) => Some(c),
            Targets::Values(_) => None,
        }
    }
}

/// A set of samples: features stored row-major as `len × feature_len` f32 values, each row
/// viewed with `shape` (e.g. `[4]` for a tabular row, `[1, 28, 28]` for a grey image).
#[derive(Debug, Clone, PartialEq)]
pub struct Samples {
    /// Shape of one sample, e.g. `[4]` or `[1, 28, 28]`.
    pub shape: Vec<usize>,
    /// Row-major `len × feature_len` values.
    pub features: Vec<f32>,
    /// One target per sample.
    pub targets: Targets,
}

impl Samples {
    /// Builds a set of samples, checking that features, shape and targets agree.
    pub fn new(shape: Vec<usize>, features: Vec<f32>, targets: Targets) -> Self {
        let feature_len: usize = shape.iter().product();
        assert!(feature_len > 0, "sample shape {shape:?} has no elements");
        assert_eq!(
            features.len(),
            feature_len * targets.len(),
            "features and targets disagree on the number of samples"
        );
        Self {
            shape,
            features,
            targets,
        }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// Number of values in one sample.
    pub fn feature_len(&self) -> usize {
        self.shape.iter().product()
    }

    /// The features of sample `index`.
    pub fn row(&self, index: usize) -> &[f32] {
        let n = self.feature_len();
        &self.features[index * n..(index + 1) * n]
    }

    /// The samples at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Samples {
        let mut features = Vec::with_capacity(indices.len() * self.feature_len());
        for &i in indices {
            features.extend_from_slice(self.row(i));
        }
        Samples::new(self.shape.clone(), features, self.targets.select(indices))
    }

    /// Both sets one after the other (e.g. train + validation for a final refit).
    pub fn concat(&self, other: &Samples) -> Samples {
        assert_eq!(
            self.shape, other.shape,
            "cannot concatenate samples of different shapes"
        );
        let features = [self.features.as_slice(), other.features.as_slice()].concat();
        let targets = match (&self.targets, &other.targets) {
            (Targets::Classes(a), Targets::Classes(b)) => {
                Targets::Classes([a.as_slice(), b].concat())
            }
            (Targets::Values(a), Targets::Values(b)) => Targets::Values([a.as_slice(), b].concat()),
            _ => panic!("cannot concatenate classification and regression targets"),
        };
        Samples::new(self.shape.clone(), features, targets)
    }

    /// How many samples each class has (empty for regression).
    pub fn class_counts(&self, num_classes: usize) -> Vec<usize> {
        let mut counts = vec![0; num_classes];
        if let Targets::Classes(classes) = &self.targets {
            for &c in classes {
                counts[c as usize] += 1;
            }
        }
        counts
    }
}

/// The description of a dataset that models and reports need, independent of its samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetInfo {
    /// The dataset's name.
    pub name: String,
    /// What the dataset asks a model to predict.
    pub task: Task,
    /// Shape of one sample's features: `[features]` or `[channels, height, width]`.
    pub shape: Vec<usize>,
    /// Class names, indexed by class (empty for regression).
    pub class_names: Vec<String>,
    /// Whether mirroring an image left-right keeps its class (false for digits).
    pub flip_invariant: bool,
}

impl DatasetInfo {
    /// Number of classes (0 for regression).
    pub fn num_classes(&self) -> usize {
        self.class_names.len()
    }

    /// Whether samples are images (`[channels, height, width]`).
    pub fn is_image(&self) -> bool {
        self.shape.len() == 3
    }

    /// Number of values in one sample.
    pub fn feature_len(&self) -> usize {
        self.shape.iter().product()
    }
}

/// A dataset as loaded from disk: its training samples and, where the source has one, the
/// official test split.
#[derive(Debug, Clone)]
pub struct LoadedDataset {
    /// The dataset's description.
    pub info: DatasetInfo,
    /// The training samples (every sample when there is no separate test split).
    pub train: Samples,
    /// The source's own test split, if it has one.
    pub test: Option<Samples>,
}
