//! A study as its report shows it: the data the page's script draws, built from the stored
//! study and trials.

use anneal_tune::{Direction, Distribution, StudyRecord, TrialRecord, best_trial};
use serde::Serialize;
use serde_json::Value;

use crate::importance::{Importance, importance};

/// Everything a study report shows (serialised into the page).
#[derive(Debug, Clone, Serialize)]
pub struct StudyReport {
    kind: &'static str,
    /// The study's settings.
    pub study: StudySummary,
    /// The searched parameters, in the order the trials first asked for them.
    pub params: Vec<ParamInfo>,
    /// Every trial, in trial order.
    pub trials: Vec<TrialInfo>,
    /// The best complete trial and its settings, ready to copy.
    pub best: Option<BestInfo>,
    /// Which parameters mattered, or `None` with too few complete trials.
    pub importance: Option<Importance>,
}

/// The study's settings.
#[derive(Debug, Clone, Serialize)]
pub struct StudySummary {
    /// Its name.
    pub name: String,
    /// "minimize" or "maximize".
    pub direction: &'static str,
    /// What is optimised.
    pub objective: String,
    /// The sampler's settings.
    pub sampler: String,
    /// The pruner's settings ("none" without one).
    pub pruner: String,
    /// The trial budget, when the study's definition names one.
    pub budget: Option<u64>,
    /// When it was created (seconds since the Unix epoch).
    pub created: Option<f64>,
}

/// A searched parameter.
#[derive(Debug, Clone, Serialize)]
pub struct ParamInfo {
    /// Its name.
    pub name: String,
    /// "float", "int" or "categorical".
    pub kind: &'static str,
    /// Searched on a log scale.
    pub log: bool,
    /// Bounds of a numeric range.
    pub low: Option<f64>,
    /// Bounds of a numeric range.
    pub high: Option<f64>,
    /// A categorical parameter's choices.
    pub choices: Option<Vec<Value>>,
}

/// One trial.
#[derive(Debug, Clone, Serialize)]
pub struct TrialInfo {
    /// Its number.
    pub number: usize,
    /// "complete", "pruned", "failed", "paused", "running" or "interrupted".
    pub state: &'static str,
    /// Its value (complete), or its best so far (pruned, paused).
    pub value: Option<f64>,
    /// Parameter name → value.
    pub params: serde_json::Map<String, Value>,
    /// `(step, value)` as reported.
    pub intermediate: Vec<(usize, f64)>,
    /// Seconds it ran.
    pub duration: Option<f64>,
    /// Its last reported step (epochs, for training).
    pub epochs: Option<usize>,
    /// Why it failed, was pruned or paused.
    pub message: Option<String>,
}

/// The best trial.
#[derive(Debug, Clone, Serialize)]
pub struct BestInfo {
    /// Its number.
    pub number: usize,
    /// Its value.
    pub value: f64,
    /// Its settings as text to copy: a run config for training studies, the parameters as
    /// TOML otherwise.
    pub config: String,
}

fn param_info(name: &str, distribution: &Distribution) -> Option<ParamInfo> {
    let info = |kind, log, low: Option<f64>, high: Option<f64>, choices| ParamInfo {
        name: name.to_string(),
        kind,
        log,
        low,
        high,
        choices,
    };
    Some(match distribution {
        Distribution::Float { low, high, log } => {
            info("float", *log, Some(*low), Some(*high), None)
        }
        Distribution::Int { low, high, log, .. } => {
            info("int", *log, Some(*low as f64), Some(*high as f64), None)
        }
        Distribution::Categorical(choices) => {
            info("categorical", false, None, None, Some(choices.clone()))
        }
        Distribution::Fixed(_) => return None,
    })
    // A range or a choice with one value is a setting, not a search dimension.
    .filter(|p| p.low != p.high || p.choices.as_ref().is_some_and(|c| c.len() > 1))
}

/// The parameters' TOML, for studies whose trials are not training runs.
fn params_as_toml(trial: &TrialRecord) -> String {
    let mut table = serde_json::Map::new();
    for (name, value) in &trial.params {
        table.insert(name.clone(), value.clone());
    }
    let mut text = String::new();
    for (name, value) in &table {
        let key = if name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            name.clone()
        } else {
            format!("{name:?}")
        };
        text.push_str(&format!("{key} = {value}\n"));
    }
    text
}

impl StudyReport {
    /// The searched parameters, in the order the trials first asked for them.
    pub(crate) fn params_of(trials: &[TrialRecord]) -> Vec<ParamInfo> {
        let mut params: Vec<ParamInfo> = Vec::new();
        for trial in trials {
            for (name, distribution) in &trial.distributions {
                if params.iter().all(|p| &p.name != name) {
                    params.extend(param_info(name, distribution));
                }
            }
        }
        params
    }

    /// The report of `study` with its `trials`. `best_config` is the best trial's run config
    /// when the study trains models; other studies show the best trial's parameters.
    pub fn new(study: &StudyRecord, trials: &[TrialRecord], best_config: Option<String>) -> Self {
        let definition: Value = serde_json::from_str(&study.definition).unwrap_or(Value::Null);
        let pruner = match definition.get("pruner") {
            Some(Value::Object(p)) => compact(&Value::Object(p.clone())),
            _ => "none".to_string(),
        };
        let params = Self::params_of(trials);
        let best = best_trial(trials, study.direction).and_then(|t| {
            Some(BestInfo {
                number: t.number,
                value: t.value?,
                config: best_config.unwrap_or_else(|| params_as_toml(t)),
            })
        });
        let importance = importance(&params, trials, study.direction);
        let searched = |name: &String| params.is_empty() || params.iter().any(|p| &p.name == name);
        let trials = trials
            .iter()
            .map(|t| TrialInfo {
                number: t.number,
                state: t.state.as_str(),
                value: t.value.filter(|v| v.is_finite()),
                // Fixed settings are the same in every trial: only searched parameters (all of
                // them for studies stored before distributions were).
                params: t
                    .params
                    .iter()
                    .filter(|(name, _)| searched(name))
                    .cloned()
                    .collect(),
                intermediate: t
                    .intermediate
                    .iter()
                    .copied()
                    .filter(|(_, v)| v.is_finite())
                    .collect(),
                duration: (t.running_seconds > 0.0)
                    .then_some(t.running_seconds)
                    .or_else(|| t.wall_seconds()),
                epochs: t.last_step().map(|(step, _)| step),
                message: t.note(),
            })
            .collect();
        Self {
            kind: "study",
            study: StudySummary {
                name: study.name.clone(),
                direction: match study.direction {
                    Direction::Minimize => "minimize",
                    Direction::Maximize => "maximize",
                },
                // "val_accuracy of configs/x.toml": the metric names the axes; the base config
                // is the study's business.
                objective: study
                    .objective
                    .split(" of ")
                    .next()
                    .unwrap_or(&study.objective)
                    .to_string(),
                sampler: serde_json::from_str::<Value>(&study.sampler)
                    .map(|v| compact(&v))
                    .unwrap_or_else(|_| study.sampler.clone()),
                pruner,
                // A study's stored definition leaves the budget out (a rerun may change it).
                budget: definition
                    .get("trials")
                    .and_then(Value::as_u64)
                    .filter(|&n| n > 0),
                created: Some(study.created),
            },
            params,
            trials,
            best,
            importance,
        }
    }
}

/// A settings table on one line (`{ kind = "asha", min_resource = 1 }`).
fn compact(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let kind = map.get("kind").and_then(Value::as_str);
            let rest: Vec<String> = map
                .iter()
                .filter(|(k, _)| k.as_str() != "kind")
                .map(|(k, v)| format!("{k} = {}", compact(v)))
                .collect();
            match (kind, rest.is_empty()) {
                (Some(kind), true) => kind.to_string(),
                (Some(kind), false) => format!("{kind} ({})", rest.join(", ")),
                (None, _) => format!("{{ {} }}", rest.join(", ")),
            }
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anneal_tune::{StudyId, TrialState};

    fn record(
        number: usize,
        state: TrialState,
        lr: f64,
        opt: &str,
        value: Option<f64>,
    ) -> TrialRecord {
        TrialRecord {
            cause: None,
            retried_as: None,
            number,
            state,
            params: vec![
                ("lr".into(), Value::from(lr)),
                ("optimizer".into(), Value::from(opt)),
                ("epochs".into(), Value::from(5)),
            ],
            distributions: vec![
                (
                    "lr".into(),
                    Distribution::Float {
                        low: 1e-4,
                        high: 1e-1,
                        log: true,
                    },
                ),
                (
                    "optimizer".into(),
                    Distribution::Categorical(vec!["adam".into(), "sgd".into()]),
                ),
                ("epochs".into(), Distribution::Fixed(Value::from(5))),
            ],
            value,
            values: Vec::new(),
            constraints: Vec::new(),
            intermediate: vec![(1, 0.5), (2, value.unwrap_or(0.6))],
            started: 100.0,
            finished: Some(110.0),
            running_seconds: 10.0,
            message: None,
            run_dir: None,
            owner: None,
        }
    }

    #[test]
    fn a_fixed_study_becomes_a_page_with_its_data_and_scripts() {
        let study = StudyRecord {
            id: StudyId(1),
            name: "fixed </script>".into(),
            direction: Direction::Maximize,
            directions: vec![Direction::Maximize],
            objective: "val_accuracy".into(),
            sampler: "tpe".into(),
            definition: r#"{"trials": 12, "pruner": {"kind": "asha", "min_resource": 1}}"#.into(),
            seed: 0,
            created: 1_700_000_000.0,
        };
        let trials: Vec<TrialRecord> = (0..6)
            .map(|i| {
                let lr = 10f64.powf(-4.0 + 0.5 * i as f64);
                let opt = if i % 2 == 0 { "adam" } else { "sgd" };
                match i {
                    4 => record(i, TrialState::Pruned, lr, opt, Some(0.4)),
                    5 => record(i, TrialState::Failed, lr, opt, None),
                    _ => record(
                        i,
                        TrialState::Complete,
                        lr,
                        opt,
                        Some(0.7 + 0.05 * i as f64),
                    ),
                }
            })
            .collect();
        let report = StudyReport::new(&study, &trials, None);
        // The fixed setting is not a searched parameter.
        let names: Vec<&str> = report.params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["lr", "optimizer"]);
        assert!(report.params[0].log && report.params[1].choices.is_some());
        assert!(
            report
                .trials
                .iter()
                .all(|t| !t.params.contains_key("epochs"))
        );
        assert_eq!(report.study.pruner, "asha (min_resource = 1)");
        assert_eq!(report.study.budget, Some(12));
        // The best is the highest complete value, its parameters ready to copy.
        let best = report.best.as_ref().unwrap();
        assert_eq!(best.number, 3);
        assert!(
            best.config.contains("optimizer = \"sgd\""),
            "{}",
            best.config
        );
        assert_eq!(report.trials[5].state, "failed");
        assert_eq!(report.trials[4].epochs, Some(2));

        let page = crate::study_page(&report);
        assert!(page.starts_with("<!doctype html>"));
        assert!(page.contains("<title>Study fixed &lt;/script&gt; · anneal</title>"));
        for script in ["renderStudy", "AnnealReport", "data-error"] {
            assert!(page.contains(script), "{script}");
        }
        // Nothing is fetched when the page opens.
        for remote in [
            "src=\"",
            "href=\"http",
            "<link",
            "fetch(",
            "XMLHttpRequest",
            "url(http",
            "@import",
        ] {
            assert!(!page.contains(remote), "the page refers to {remote}");
        }
        // The embedded data reads back as the report.
        let start = page.find("type=\"application/json\">").unwrap() + 24;
        let end = start + page[start..].find("</script>").unwrap();
        let data: Value = serde_json::from_str(&page[start..end]).unwrap();
        assert_eq!(data["kind"], "study");
        assert_eq!(data["study"]["name"], "fixed </script>");
        assert_eq!(data["trials"].as_array().unwrap().len(), 6);
        assert_eq!(data["best"]["number"], 3);
    }
}
