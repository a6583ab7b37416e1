//! What a sweep's trial can be judged by, and the constraints a sweep puts on it.
//!
//! A training trial has its validation metrics and what anneal measures of the trained model
//! itself (its size, its latency, its training time); a command trial has the metrics its
//! program prints (`anneal: metric NAME VALUE`). Constraints (`"parameters <= 200000"`) name
//! either, and become the trial's constraint values (≤ 0 is feasible).

use std::fmt;
use std::str::FromStr;

use anneal_data::Task;
use anneal_train::Summary;
use anneal_train::config::Monitor;
use anneal_tune::Direction;
use serde::{Deserialize, Serialize};

/// A figure of a finished training trial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum TrialMetric {
    /// A validation metric of the kept model.
    Validation(Monitor),
    /// The model's number of trainable values.
    Parameters,
    /// The checkpoint's size in bytes.
    ModelBytes,
    /// Median milliseconds to answer one sample (see `anneal_train::inference`).
    LatencyMs,
    /// Median milliseconds to answer a batch of 64 samples.
    BatchLatencyMs,
    /// Seconds spent in training passes.
    TrainSeconds,
}

/// The figures anneal measures of a trained model, beside the validation metrics.
const MEASURED: [TrialMetric; 5] = [
    TrialMetric::Parameters,
    TrialMetric::ModelBytes,
    TrialMetric::LatencyMs,
    TrialMetric::BatchLatencyMs,
    TrialMetric::TrainSeconds,
];

impl TrialMetric {
    /// The metric's name as a sweep file writes it.
    pub fn name(self) -> &'static str {
        match self {
            TrialMetric::Validation(monitor) => monitor.name(),
            TrialMetric::Parameters => "parameters",
            TrialMetric::ModelBytes => "model_bytes",
            TrialMetric::LatencyMs => "latency_ms",
            TrialMetric::BatchLatencyMs => "batch_latency_ms",
            TrialMetric::TrainSeconds => "train_seconds",
        }
    }

    /// Every metric's name, validation ones first.
    pub fn names() -> Vec<&'static str> {
        Monitor::ALL
            .iter()
            .map(|m| m.name())
            .chain(MEASURED.iter().map(|m| m.name()))
            .collect()
    }

    /// The direction in which it improves: smaller models, latencies and times are better.
    pub fn natural_direction(self) -> Direction {
        match self {
            TrialMetric::Validation(monitor) => monitor.natural_direction(),
            _ => Direction::Minimize,
        }
    }

    /// Whether a run of `task` has this metric.
    pub fn fits(self, task: Task) -> bool {
        match self {
            TrialMetric::Validation(monitor) => monitor.fits(task),
            _ => true,
        }
    }

    /// The metric's value in a finished run's summary.
    pub fn of(self, summary: &Summary) -> Option<f64> {
        let inference = summary.inference.as_ref();
        match self {
            TrialMetric::Validation(monitor) => summary.validation.as_ref()?.monitored(monitor),
            TrialMetric::Parameters => Some(summary.parameter_count as f64),
            TrialMetric::ModelBytes => inference.map(|i| i.model_bytes as f64),
            TrialMetric::LatencyMs => inference.map(|i| i.latency_ms),
            TrialMetric::BatchLatencyMs => inference.map(|i| i.batch_latency_ms),
            TrialMetric::TrainSeconds => Some(summary.train_seconds),
        }
    }
}

impl fmt::Display for TrialMetric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for TrialMetric {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        Monitor::ALL
            .iter()
            .map(|&m| TrialMetric::Validation(m))
            .chain(MEASURED)
            .find(|m| m.name() == name)
            .ok_or_else(|| {
                format!(
                    "'{name}' is not a metric; use one of: {}",
                    TrialMetric::names().join(", ")
                )
            })
    }
}

impl TryFrom<String> for TrialMetric {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        name.parse()
    }
}

impl From<TrialMetric> for String {
    fn from(metric: TrialMetric) -> String {
        metric.name().to_string()
    }
}

/// Which side of its limit a constrained figure must stay on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// `name <= limit`.
    AtMost,
    /// `name >= limit`.
    AtLeast,
}

/// A sweep's constraint on one figure of a trial: `"parameters <= 200000"`.
#[derive(Debug, Clone, PartialEq)]
pub struct Constraint {
    /// The figure's name: a training metric, or a metric a command prints.
    pub name: String,
    /// The side of the limit that is feasible.
    pub bound: Bound,
    /// The limit.
    pub limit: f64,
}

impl Constraint {
    /// The constraint value of a trial whose figure is `value`: how far it is past the limit
    /// (≤ 0 when the constraint holds), as `Trial::set_constraints` takes it.
    pub fn violation(&self, value: f64) -> f64 {
        match self.bound {
            Bound::AtMost => value - self.limit,
            Bound::AtLeast => self.limit - value,
        }
    }

    /// Each constraint's value for a trial whose figures `figure` looks up by name; an error
    /// names a figure the trial does not have.
    pub fn values_of(
        constraints: &[Constraint],
        figure: impl Fn(&str) -> Option<f64>,
    ) -> Result<Vec<f64>, String> {
        constraints
            .iter()
            .map(|c| {
                let value = figure(&c.name).ok_or_else(|| {
                    format!(
                        "the constraint '{c}' names {}, which the trial has no value for",
                        c.name
                    )
                })?;
                if value.is_nan() {
                    return Err(format!("the constraint '{c}': {} is NaN", c.name));
                }
                Ok(c.violation(value))
            })
            .collect()
    }
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.bound {
            Bound::AtMost => "<=",
            Bound::AtLeast => ">=",
        };
        write!(f, "{} {op} {}", self.name, self.limit)
    }
}

impl FromStr for Constraint {
    type Err = String;

    /// `NAME <= LIMIT` or `NAME >= LIMIT` (`≤`, `≥` too), the limit a finite number.
    fn from_str(text: &str) -> Result<Self, String> {
        let refused = |why: &str| {
            format!("'{text}' is not a constraint 'NAME <= LIMIT' or 'NAME >= LIMIT': {why}")
        };
        let (name, bound, limit) = [
            ("<=", Bound::AtMost),
            ("≤", Bound::AtMost),
            (">=", Bound::AtLeast),
            ("≥", Bound::AtLeast),
        ]
        .iter()
        .find_map(|(op, bound)| {
            let (name, limit) = text.split_once(op)?;
            Some((name.trim(), *bound, limit.trim()))
        })
        .ok_or_else(|| refused("it has no '<=' or '>='"))?;
        let valid_name = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !valid_name {
            return Err(refused(&format!(
                "'{name}' is not a metric name (letters, digits, '_', '-', '.')"
            )));
        }
        let limit = limit
            .parse::<f64>()
            .ok()
            .filter(|l| l.is_finite())
            .ok_or_else(|| refused(&format!("'{limit}' is not a finite number")))?;
        Ok(Self {
            name: name.to_string(),
            bound,
            limit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraints_parse_and_measure_how_far_past_their_limit() {
        let c: Constraint = "parameters <= 200000".parse().unwrap();
        assert_eq!(c.bound, Bound::AtMost);
        assert_eq!(c.violation(150_000.0), -50_000.0);
        assert_eq!(c.violation(200_001.0), 1.0);
        let c: Constraint = "val_accuracy>=0.9".parse().unwrap();
        assert_eq!((c.name.as_str(), c.bound), ("val_accuracy", Bound::AtLeast));
        assert!((c.violation(0.95) + 0.05).abs() < 1e-12);
        assert!(c.violation(0.8) > 0.0);
        assert_eq!("latency_ms ≤ 0.5".parse::<Constraint>().unwrap().limit, 0.5);
        for bad in [
            "parameters < 5",
            "parameters <= lots",
            "<= 3",
            "a b <= 1",
            "x <= inf",
        ] {
            let error = bad.parse::<Constraint>().unwrap_err();
            assert!(error.contains(bad), "{error}");
        }
    }

    #[test]
    fn a_constraint_on_a_figure_the_trial_lacks_is_an_error_naming_it() {
        let constraints: Vec<Constraint> = ["size <= 10", "speed >= 2"]
            .iter()
            .map(|c| c.parse().unwrap())
            .collect();
        let figures = |name: &str| (name == "size").then_some(12.0);
        let error = Constraint::values_of(&constraints, figures).unwrap_err();
        assert!(error.contains("speed"), "{error}");
        let both = |name: &str| Some(if name == "size" { 12.0 } else { 3.0 });
        assert_eq!(
            Constraint::values_of(&constraints, both).unwrap(),
            [2.0, -1.0]
        );
    }

    #[test]
    fn metrics_read_by_name_and_refused_with_the_list() {
        assert_eq!(
            "val_accuracy".parse::<TrialMetric>(),
            Ok(TrialMetric::Validation(Monitor::ValAccuracy))
        );
        assert_eq!(
            "latency_ms".parse::<TrialMetric>(),
            Ok(TrialMetric::LatencyMs)
        );
        let error = "latency".parse::<TrialMetric>().unwrap_err();
        assert!(
            error.contains("latency_ms") && error.contains("val_loss"),
            "{error}"
        );
        for name in TrialMetric::names() {
            assert_eq!(name.parse::<TrialMetric>().unwrap().name(), name);
        }
        assert_eq!(
            TrialMetric::Parameters.natural_direction(),
            Direction::Minimize
        );
    }
}
