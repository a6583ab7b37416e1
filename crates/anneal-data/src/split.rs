//! Deterministic train / validation / test splits, stratified by class for classification.

use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};
use crate::rng::derive_rng;
use crate::samples::{DatasetInfo, LoadedDataset, Samples, Targets};

/// How a dataset is split into training, validation and test sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SplitConfig {
    /// Fraction of the training pool held out for validation.
    pub validation: f64,
    /// Fraction held out for test when the dataset has no official test split.
    pub test: f64,
    /// Seed of the split (independent of the training seed so trials can share one split).
    pub seed: u64,
}

impl Default for SplitConfig {
    fn default() -> Self {
        Self {
            validation: 0.1,
            test: 0.2,
            seed: 0,
        }
    }
}

impl SplitConfig {
    /// Checks that both fractions lie in (0, 0.9) and sum to less than 0.95.
    pub fn validate(&self) -> Result<()> {
        for (field, value) in [
            ("split.validation", self.validation),
            ("split.test", self.test),
        ] {
            if !(value > 0.0 && value < 0.9) {
                return Err(DataError::config(
                    field,
                    format!("{value} is not a fraction in (0, 0.9)"),
                ));
            }
        }
        if self.validation + self.test >= 0.95 {
            return Err(DataError::config(
                "split.validation",
                format!(
                    "validation {} + test {} leaves almost nothing to train on (must sum below 0.95)",
                    self.validation, self.test
                ),
            ));
        }
        Ok(())
    }
}

/// The three sets a run works with.
#[derive(Debug, Clone)]
pub struct Splits {
    /// The dataset's description.
    pub info: DatasetInfo,
    /// The samples to train on.
    pub train: Samples,
    /// The samples held out for validation.
    pub validation: Samples,
    /// The test samples.
    pub test: Samples,
    /// True when `test` is the dataset's official test split, false when it was held out.
    pub official_test: bool,
}

/// Which rows of a dataset's training file go where; indices are ascending.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitPlan {
    /// The training rows.
    pub train: Vec<usize>,
    /// The rows held out for validation.
    pub validation: Vec<usize>,
    /// Rows held out for test; `None` when the dataset brings its own test set.
    pub test: Option<Vec<usize>>,
}

impl SplitPlan {
    /// The rows preprocessing is fitted on: training rows, plus validation rows when a run
    /// trains on them too.
    pub fn fit_rows(&self, with_validation: bool) -> Vec<usize> {
        let mut rows = self.train.clone();
        if with_validation {
            rows.extend_from_slice(&self.validation);
            rows.sort_unstable();
        }
        rows
    }
}

/// Plans the split of `targets` (the training file's): a held-out (stratified) test set unless
/// the dataset has its own (`own_test`), then a (stratified) validation set from what is left.
/// Depends only on the targets and the config, so every reload of a run plans the same rows.
pub fn plan_split(targets: &Targets, own_test: bool, config: &SplitConfig) -> Result<SplitPlan> {
    config.validate()?;
    let (pool, test) = if own_test {
        ((0..targets.len()).collect::<Vec<_>>(), None)
    } else {
        let (keep, held) = stratified_holdout(targets, config.test, config.seed, "split-test");
        (keep, Some(held))
    };
    let (keep, held) = stratified_holdout(
        &targets.select(&pool),
        config.validation,
        config.seed,
        "split-validation",
    );
    Ok(SplitPlan {
        train: keep.iter().map(|&i| pool[i]).collect(),
        validation: held.iter().map(|&i| pool[i]).collect(),
        test,
    })
}

/// Splits a loaded dataset: the official test split where there is one, otherwise a held-out
/// (stratified) test set; then a (stratified) validation set from what is left for training.
pub fn split(dataset: LoadedDataset, config: &SplitConfig) -> Result<Splits> {
    let LoadedDataset { info, train, test } = dataset;
    let plan = plan_split(&train.targets, test.is_some(), config)?;
    apply_plan(info, &train, test, &plan)
}

/// The three sets a plan describes; `own_test` is the dataset's own test set, used when the
/// plan holds none out. Every set must have samples.
pub fn apply_plan(
    info: DatasetInfo,
    all: &Samples,
    own_test: Option<Samples>,
    plan: &SplitPlan,
) -> Result<Splits> {
    let (test, official_test) = match (&plan.test, own_test) {
        (Some(rows), _) => (all.select(rows), false),
        (None, Some(test)) => (test, true),
        (None, None) => {
            return Err(DataError::config(
                "split",
                "the split holds out no test rows and the dataset has no test set",
            ));
        }
    };
    let splits = Splits {
        info,
        train: all.select(&plan.train),
        validation: all.select(&plan.validation),
        test,
        official_test,
    };
    for (name, set) in [
        ("training", &splits.train),
        ("validation", &splits.validation),
        ("test", &splits.test),
    ] {
        if set.is_empty() {
            return Err(DataError::config(
                "split",
                format!(
                    "the {name} set of {} is empty; change the split fractions",
                    splits.info.name
                ),
            ));
        }
    }
    Ok(splits)
}

/// Indices `(kept, held out)`, both ascending. For class targets each class contributes
/// `round(fraction × its count)` samples to the held-out set, so proportions are kept to within
/// half a sample per class; real-valued targets are split uniformly at random.
pub fn stratified_holdout(
    targets: &Targets,
    fraction: f64,
    seed: u64,
    purpose: &str,
) -> (Vec<usize>, Vec<usize>) {
    let mut rng = derive_rng(seed, purpose, 0);
    let groups: Vec<Vec<usize>> = match targets {
        Targets::Classes(classes) => {
            let num_classes = classes.iter().max().map_or(0, |&m| m as usize + 1);
            let mut groups = vec![Vec::new(); num_classes];
            for (i, &c) in classes.iter().enumerate() {
                groups[c as usize].push(i);
            }
            groups
        }
        Targets::Values(values) => vec![(0..values.len()).collect()],
    };
    let mut kept = Vec::with_capacity(targets.len());
    let mut held = Vec::new();
    for mut group in groups {
        group.shuffle(&mut rng);
        let n_held = holdout_size(group.len(), fraction);
        held.extend_from_slice(&group[..n_held]);
        kept.extend_from_slice(&group[n_held..]);
    }
    kept.sort_unstable();
    held.sort_unstable();
    (kept, held)
}

/// How many of `count` samples a fraction holds out.
pub fn holdout_size(count: usize, fraction: f64) -> usize {
    ((count as f64) * fraction).round() as usize
}
