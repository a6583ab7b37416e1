//! Parameter importance by fANOVA (Hutter, Hoos & Leyton-Brown, 2014): a random forest is
//! fitted to the complete trials' values, and each parameter's importance is the share of the
//! forest's variance its main effect explains, as Optuna's default importance evaluator does.

use anneal_tune::{Direction, TrialRecord, TrialState};
use fanova::{FanovaOptions, RandomForestOptions};
use serde::Serialize;
use serde_json::Value;

use crate::study::ParamInfo;

/// How much each parameter mattered.
#[derive(Debug, Clone, Serialize)]
pub struct Importance {
    /// The method, in a sentence for the page.
    pub method: String,
    /// Most important first.
    pub values: Vec<ParamImportance>,
}

/// One parameter's importance.
#[derive(Debug, Clone, Serialize)]
pub struct ParamImportance {
    /// The parameter.
    pub name: String,
    /// Its share of the variance (main effect), normalised to sum to 1 over the parameters.
    pub importance: f64,
}

const TREES: usize = 64;

/// A parameter's value as the forest's input: the log for log-scaled ranges, a choice's index
/// for categorical parameters. `None` where the trial did not have the parameter.
fn feature(param: &ParamInfo, value: &Value) -> Option<f64> {
    match &param.choices {
        Some(choices) => choices.iter().position(|c| c == value).map(|i| i as f64),
        None => {
            let v = value.as_f64()?;
            Some(if param.log {
                v.max(f64::MIN_POSITIVE).ln()
            } else {
                v
            })
        }
    }
}

/// fANOVA importances over the parameters every complete trial has; `None` with fewer than
/// two such trials or nothing that varies.
pub fn importance(
    params: &[ParamInfo],
    trials: &[TrialRecord],
    direction: Direction,
) -> Option<Importance> {
    let complete: Vec<&TrialRecord> = trials
        .iter()
        .filter(|t| t.state == TrialState::Complete && t.value.is_some_and(f64::is_finite))
        .collect();
    // Conditional parameters missing from some trials are left out: the forest needs a value
    // for every row.
    let mut used = Vec::new();
    let mut columns: Vec<Vec<f64>> = Vec::new();
    for param in params {
        let column: Option<Vec<f64>> = complete
            .iter()
            .map(|t| {
                let value = t.params.iter().find(|(n, _)| n == &param.name)?;
                feature(param, &value.1)
            })
            .collect();
        if let Some(column) = column {
            if column.iter().any(|v| *v != column[0]) {
                used.push(param.name.clone());
                columns.push(column);
            }
        }
    }
    if complete.len() < 2 || columns.is_empty() {
        return None;
    }
    let target: Vec<f64> = complete
        .iter()
        .map(|t| direction.loss(t.value.unwrap_or_default()))
        .collect();
    let mut fanova = FanovaOptions::new()
        .random_forest(
            RandomForestOptions::new()
                .seed(0)
                .trees(std::num::NonZeroUsize::new(TREES).expect("non-zero")),
        )
        .fit(columns.iter().map(Vec::as_slice).collect(), &target)
        .ok()?;
    let raw: Vec<f64> = (0..used.len())
        .map(|i| fanova.quantify_importance(&[i]).mean.max(0.0))
        .collect();
    let total: f64 = raw.iter().sum();
    let mut values: Vec<ParamImportance> = used
        .into_iter()
        .zip(raw)
        .map(|(name, v)| ParamImportance {
            name,
            importance: if total > 0.0 { v / total } else { 0.0 },
        })
        .collect();
    values.sort_by(|a, b| b.importance.total_cmp(&a.importance));
    Some(Importance {
        method: format!(
            "fANOVA (Hutter et al., 2014): the share of the variance of a {TREES}-tree random \
             forest, fitted to the {} complete trials, that each parameter's main effect \
             explains (normalised to sum to 1; log-scaled ranges on their log scale)",
            complete.len()
        ),
        values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use anneal_tune::Distribution;

    fn trial(number: usize, x: f64, y: f64, c: &str, value: f64) -> TrialRecord {
        TrialRecord {
            cause: None,
            retried_as: None,
            number,
            state: TrialState::Complete,
            params: vec![
                ("x".into(), Value::from(x)),
                ("y".into(), Value::from(y)),
                ("c".into(), Value::from(c)),
            ],
            distributions: vec![
                (
                    "x".into(),
                    Distribution::Float {
                        low: 0.0,
                        high: 1.0,
                        log: false,
                    },
                ),
                (
                    "y".into(),
                    Distribution::Float {
                        low: 0.0,
                        high: 1.0,
                        log: false,
                    },
                ),
                (
                    "c".into(),
                    Distribution::Categorical(vec!["a".into(), "b".into()]),
                ),
            ],
            value: Some(value),
            values: Vec::new(),
            constraints: Vec::new(),
            intermediate: Vec::new(),
            started: 0.0,
            finished: Some(1.0),
            running_seconds: 1.0,
            message: None,
            run_dir: None,
            owner: None,
        }
    }

    #[test]
    fn the_parameter_that_drives_the_value_ranks_first() {
        let trials: Vec<TrialRecord> = (0..40)
            .map(|i| {
                let x = (i * 7 % 40) as f64 / 40.0;
                let y = (i * 13 % 40) as f64 / 40.0;
                let c = if i % 2 == 0 { "a" } else { "b" };
                // x matters most, the choice a little, y not at all.
                let value = 10.0 * x + if c == "a" { 1.0 } else { 0.0 };
                trial(i, x, y, c, value)
            })
            .collect();
        let params: Vec<ParamInfo> = crate::StudyReport::params_of(&trials);
        let result = importance(&params, &trials, Direction::Minimize).unwrap();
        assert_eq!(result.values[0].name, "x", "{:?}", result.values);
        assert!(result.values[0].importance > 0.7, "{:?}", result.values);
        let sum: f64 = result.values.iter().map(|v| v.importance).sum();
        assert!((sum - 1.0).abs() < 1e-9);
        assert!(result.method.contains("fANOVA"));
        // Too few trials: no importance rather than a made-up one.
        assert!(importance(&params, &trials[..1], Direction::Minimize).is_none());
    }
}
