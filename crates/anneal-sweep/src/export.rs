//! A study's trials as files other tools read: CSV (one row per trial, one column per
//! parameter), JSON (everything stored), and the best trial's run config.

use std::path::Path;

use anneal_tune::{StudyRecord, TrialRecord, best_trial};

use crate::error::{Result, SweepError};

/// One row per trial: number, state, value, seconds (running time) and wall seconds (from its
/// first start to its end, pauses included), each parameter seen in any trial (empty where a
/// trial did not have it), and the trial's message.
pub fn trials_csv(trials: &[TrialRecord]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for t in trials {
        for (n, _) in &t.params {
            if !names.contains(&n.as_str()) {
                names.push(n);
            }
        }
    }
    let mut header = vec!["number", "state", "value", "seconds", "wall_seconds"];
    header.extend(names.iter().copied());
    header.push("message");
    let mut out = header
        .iter()
        .map(|h| csv_cell(h))
        .collect::<Vec<_>>()
        .join(",")
        + "\n";
    for t in trials {
        let mut row = vec![
            t.number.to_string(),
            t.state.as_str().to_string(),
            t.value.map_or(String::new(), |v| v.to_string()),
            format!("{:.3}", t.running_seconds),
            t.wall_seconds()
                .map_or(String::new(), |s| format!("{s:.3}")),
        ];
        row.extend(names.iter().map(|n| {
            t.params
                .iter()
                .find(|(p, _)| p == n)
                .map_or(String::new(), |(_, v)| match v {
                    anneal_tune::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
        }));
        row.push(t.note().unwrap_or_default());
        out += &(row
            .iter()
            .map(|c| csv_cell(c))
            .collect::<Vec<_>>()
            .join(",")
            + "\n");
    }
    out
}

/// The study and all its trials as one JSON document.
pub fn study_json(study: &StudyRecord, trials: &[TrialRecord]) -> serde_json::Value {
    serde_json::json!({ "study": study, "trials": trials })
}

/// A trial's resolved run config (`number`, or the best trial's), headed by a comment naming
/// the trial, without the trial's run name (a new training run picks its own): `anneal train
/// --config` reproduces it. A study with several objectives has no one best trial: name one
/// of its Pareto front.
pub fn trial_config(
    study: &StudyRecord,
    trials: &[TrialRecord],
    number: Option<usize>,
) -> Result<String> {
    let best = match number {
        Some(number) => trials
            .iter()
            .find(|t| t.number == number && t.state == anneal_tune::TrialState::Complete)
            .ok_or_else(|| {
                SweepError::config(
                    "trial",
                    format!("study '{}' has no complete trial {number}", study.name),
                )
            })?,
        None if study.directions.len() > 1 => {
            return Err(SweepError::config(
                "trial",
                format!(
                    "study '{}' has several objectives and so no one best trial; name one of its Pareto front (`anneal study best {}`)",
                    study.name, study.name
                ),
            ));
        }
        None => best_trial(trials, study.direction)
            .ok_or_else(|| SweepError::config("study", "the study has no complete trial yet"))?,
    };
    let run = best.run_dir.as_ref().ok_or_else(|| {
        SweepError::config(
            "study",
            format!(
                "trial {} has no run folder (its objective trained no model)",
                best.number
            ),
        )
    })?;
    let source = Path::new(run).join("config.toml");
    if !source.is_file() {
        return Err(SweepError::config(
            "study",
            format!(
                "trial {}'s folder {run} holds no run config (its objective trained no model)",
                best.number
            ),
        ));
    }
    let text = std::fs::read_to_string(&source).map_err(|e| SweepError::io(&source, e))?;
    let values: Vec<String> = best
        .objective_values()
        .iter()
        .map(|v| format!("{v:.6}"))
        .collect();
    let goals: Vec<&str> = study.directions.iter().map(|d| d.name()).collect();
    let mut out = format!(
        "# {} trial {} of study '{}' ({} = {}), exported by `anneal study export`.\n",
        if number.is_some() { "The" } else { "Best" },
        best.number,
        study.name,
        goals.join(", "),
        values.join(", ")
    );
    for line in text.lines().filter(|l| !l.starts_with("name = ")) {
        out += line;
        out.push('\n');
    }
    Ok(out)
}

fn csv_cell(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}
