//! Evaluation metrics computed from predictions and targets on the host.

use serde::{Deserialize, Serialize};

/// One class's precision, recall, F1 and support.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassScores {
    /// Fraction of the samples predicted as this class that are of it (0 when none were).
    pub precision: f64,
    /// Fraction of this class's samples predicted as it (0 when it has none).
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub f1: f64,
    /// Samples of this class in the targets.
    pub support: usize,
}

/// Metrics of predicted classes against the actual ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassificationMetrics {
    /// Fraction of samples predicted correctly (0 when there are none).
    pub accuracy: f64,
    /// Unweighted mean of per-class F1 over the classes that occur in the targets or the
    /// predictions (scikit-learn's convention); a class never predicted has precision 0.
    pub macro_f1: f64,
    /// Each class's scores, in class-index order.
    pub per_class: Vec<ClassScores>,
    /// `confusion[actual][predicted]` counts.
    pub confusion: Vec<Vec<usize>>,
}

impl ClassificationMetrics {
    /// # Panics
    /// If the slices differ in length or a class is `≥ num_classes` (both are programming errors:
    /// labels are validated on load and predictions come from a `num_classes`-wide output).
    pub fn compute(predicted: &[u32], actual: &[u32], num_classes: usize) -> Self {
        assert_eq!(predicted.len(), actual.len(), "one prediction per target");
        let mut confusion = vec![vec![0usize; num_classes]; num_classes];
        for (&p, &a) in predicted.iter().zip(actual) {
            confusion[a as usize][p as usize] += 1;
        }
        let correct: usize = (0..num_classes).map(|c| confusion[c][c]).sum();
        let ratio = |num: usize, den: usize| {
            if den == 0 {
                0.0
            } else {
                num as f64 / den as f64
            }
        };
        let per_class: Vec<ClassScores> = (0..num_classes)
            .map(|c| {
                let support: usize = confusion[c].iter().sum();
                let predicted_as: usize = confusion.iter().map(|row| row[c]).sum();
                let tp = confusion[c][c];
                let precision = ratio(tp, predicted_as);
                let recall = ratio(tp, support);
                let f1 = if precision + recall > 0.0 {
                    2.0 * precision * recall / (precision + recall)
                } else {
                    0.0
                };
                ClassScores {
                    precision,
                    recall,
                    f1,
                    support,
                }
            })
            .collect();
        let present: Vec<&ClassScores> = per_class
            .iter()
            .enumerate()
            .filter(|(c, s)| s.support > 0 || confusion.iter().any(|row| row[*c] > 0))
            .map(|(_, s)| s)
            .collect();
        let macro_f1 = if present.is_empty() {
            0.0
        } else {
            present.iter().map(|s| s.f1).sum::<f64>() / present.len() as f64
        };
        Self {
            accuracy: ratio(correct, actual.len()),
            macro_f1,
            per_class,
            confusion,
        }
    }
}

/// Error metrics of predicted values against the actual ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressionMetrics {
    /// Mean squared error.
    pub mse: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// Coefficient of determination, `1 − SS_res / SS_tot` (0 when the targets are constant).
    pub r2: f64,
}

impl RegressionMetrics {
    /// # Panics
    /// If the slices differ in length.
    pub fn compute(predicted: &[f32], actual: &[f32]) -> Self {
        assert_eq!(predicted.len(), actual.len(), "one prediction per target");
        let n = actual.len().max(1) as f64;
        let mean = actual.iter().map(|&y| y as f64).sum::<f64>() / n;
        let (mut sq, mut abs, mut total) = (0.0, 0.0, 0.0);
        for (&p, &y) in predicted.iter().zip(actual) {
            let err = p as f64 - y as f64;
            sq += err * err;
            abs += err.abs();
            total += (y as f64 - mean).powi(2);
        }
        Self {
            mse: sq / n,
            mae: abs / n,
            r2: if total > 0.0 { 1.0 - sq / total } else { 0.0 },
        }
    }
}
