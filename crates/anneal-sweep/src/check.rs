//! Checks a training sweep before its study exists: every searched name must be a setting of
//! the run config, every value at a searched range's edges a valid one, and the metric must
//! apply to the dataset's task, so a typo or a range reaching an invalid value fails at once
//! with its name instead of failing trials.

use anneal_data::{Catalog, DataSource, Task};
use anneal_train::RunConfig;
use anneal_tune::{Assignment, Distribution, Param, SearchSpace, Value, lookup};

use crate::error::{Result, SweepError};
use crate::file::{Sweep, SweepObjective};
use crate::metrics::TrialMetric;
use crate::training::trial_config;

/// Each searched parameter, set into the base config with the earlier parameters a trial would
/// have beside it (values that make its conditions hold, representative values otherwise),
/// must give a config the schema accepts. Then the run config's own validation must accept a
/// trial with every parameter at a representative value, and with each parameter in turn at
/// each value at its edges (each bound of a range, every choice): a range that reaches an
/// invalid value fails here, not in the trials that draw it.
pub(crate) fn check_keys(
    base_path: &std::path::Path,
    base: &toml::Table,
    space: &SearchSpace,
) -> Result<()> {
    for (i, param) in space.params.iter().enumerate() {
        let assignment = trial_params(&space.params[..=i], &required(space, param));
        if let Err(message) = trial_config(base_path, base, &assignment, 0) {
            return Err(SweepError::config(
                format!("search[{i}] ({})", param.name),
                format!("is not a setting the run config accepts: {message}"),
            ));
        }
    }
    let typical = trial_params(&space.params, &[]);
    let refusal = |i: usize, value: &Value, what: &str, message: &str| {
        SweepError::config(
            format!("search[{i}] ({})", space.params[i].name),
            format!("can take {value} ({what}), which the run config refuses: {message}"),
        )
    };
    if let Err(message) = validate(base_path, base, &typical) {
        // A parameter valid at one of its edges and refused at another is the one at fault.
        for (i, param) in space.params.iter().enumerate() {
            let edges = at_edges(base_path, base, space, param);
            if edges.iter().any(|(_, _, result)| result.is_ok())
                && let Some((value, what, Err(edge))) = edges.iter().find(|e| e.2.is_err())
            {
                return Err(refusal(i, value, what, edge));
            }
        }
        // Refused just the same with nothing searched set: the base config is at fault.
        if validate(base_path, base, &Vec::new()).err().as_ref() == Some(&message) {
            return Err(SweepError::config(
                "base",
                format!(
                    "{} is refused whatever the search sets: {message}",
                    base_path.display()
                ),
            ));
        }
        let values: Vec<String> = typical.iter().map(|(n, v)| format!("{n} = {v}")).collect();
        return Err(SweepError::config(
            "search",
            format!(
                "a trial with every parameter at a middle value ({}) gets a run config that is refused: {message}",
                values.join(", ")
            ),
        ));
    }
    // The typical trial is valid, so a refusal below is the edge value's doing.
    for (i, param) in space.params.iter().enumerate() {
        for (value, what, result) in at_edges(base_path, base, space, param) {
            if let Err(message) = result {
                return Err(refusal(i, &value, what, &message));
            }
        }
    }
    Ok(())
}

/// `param` at each value at its edges, the other parameters at representative values (its
/// conditions holding): the value, what it is, and whether the run config accepts the trial.
/// Empty where its conditions cannot all hold at once (no trial sets it).
fn at_edges(
    base_path: &std::path::Path,
    base: &toml::Table,
    space: &SearchSpace,
    param: &Param,
) -> Vec<(Value, &'static str, std::result::Result<(), String>)> {
    let mut fixed = required(space, param);
    let mut out = Vec::new();
    for (value, what) in edges(&param.distribution) {
        fixed.retain(|(n, _)| *n != param.name);
        fixed.push((param.name.clone(), value.clone()));
        let trial = trial_params(&space.params, &fixed);
        if lookup(&trial, &param.name).is_none() {
            break;
        }
        out.push((value, what, validate(base_path, base, &trial)));
    }
    out
}

/// The run config with `assignment` set passes [`anneal_train::RunConfig::validate`] (what
/// every trial runs before loading data).
fn validate(
    base_path: &std::path::Path,
    base: &toml::Table,
    assignment: &Assignment,
) -> std::result::Result<(), String> {
    trial_config(base_path, base, assignment, 0)?
        .validate()
        .map_err(|e| e.to_string())
}

/// A trial's values of `params`, as a trial sets them: each where its conditions hold, the
/// value `fixed` gives it or else a representative one, a per-layer one on every layer.
fn trial_params(params: &[Param], fixed: &[(String, Value)]) -> Assignment {
    let mut assignment: Assignment = Vec::new();
    for param in params {
        if !SearchSpace::is_active(param, &assignment) {
            continue;
        }
        let value = fixed
            .iter()
            .find(|(n, _)| *n == param.name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| sample_value(&param.distribution));
        let value = layered(param, value, &assignment);
        assignment.push((param.name.clone(), value));
    }
    assignment
}

/// Values of the parameters `param`'s conditions name (and theirs) that make them hold.
fn required(space: &SearchSpace, param: &Param) -> Vec<(String, Value)> {
    let mut required = Vec::new();
    conditions(space, param, &mut required);
    required
}

/// The values at a distribution's edges, each with what it is: a range's bounds (an int
/// range's top on its step grid), every choice, a fixed value.
fn edges(distribution: &Distribution) -> Vec<(Value, &'static str)> {
    match distribution {
        Distribution::Float { low, high, .. } => vec![
            (Value::from(*low), "its low bound"),
            (Value::from(*high), "its high bound"),
        ],
        d @ Distribution::Int { .. } => vec![
            (d.from_unit(0.0), "its low bound"),
            (d.from_unit(1.0), "its high bound"),
        ],
        Distribution::Categorical(choices) => {
            choices.iter().map(|c| (c.clone(), "a choice")).collect()
        }
        Distribution::Fixed(v) => vec![(v.clone(), "its value")],
    }
}

/// `value` as a trial sets it: a per-layer parameter's on each layer the earlier parameters
/// give.
fn layered(param: &Param, value: Value, earlier: &Assignment) -> Value {
    match &param.per_layer {
        Some(size) => {
            let layers = lookup(earlier, size).and_then(Value::as_i64).unwrap_or(1);
            Value::Array(vec![value; layers.max(1) as usize])
        }
        None => value,
    }
}

/// Values of earlier parameters that make `param`'s conditions (and theirs) hold.
fn conditions(space: &SearchSpace, param: &Param, required: &mut Vec<(String, Value)>) {
    for (parent, allowed) in &param.when {
        if required.iter().any(|(n, _)| n == parent) {
            continue;
        }
        if let Some(value) = allowed.first() {
            required.push((parent.clone(), value.clone()));
        }
        if let Some(earlier) = space.params.iter().find(|p| &p.name == parent) {
            conditions(space, earlier, required);
        }
    }
}

/// A value the distribution can give.
fn sample_value(distribution: &Distribution) -> Value {
    match distribution {
        Distribution::Categorical(choices) => choices[0].clone(),
        Distribution::Fixed(v) => v.clone(),
        d => d.from_unit(0.5),
    }
}

/// The metric applies to the base config's dataset (a bundled dataset's task, or a CSV's).
pub(crate) fn check_training_sweep(sweep: &Sweep, catalog: &Catalog) -> Result<()> {
    let SweepObjective::Training {
        base_path,
        base,
        metrics,
    } = &sweep.objective
    else {
        return Ok(());
    };
    let config = RunConfig::from_table(base_path, base.clone())?;
    let (dataset, task) = match config.data.source()? {
        DataSource::Bundled(name) => {
            let task = catalog
                .manifest(&name)
                .map_err(anneal_train::TrainError::from)?
                .task;
            (name, task)
        }
        DataSource::Csv(csv) => (csv.path.display().to_string(), csv.task),
        DataSource::Idx(idx) => (
            idx.name
                .unwrap_or_else(|| idx.train_images.display().to_string()),
            Task::Classification,
        ),
    };
    let constrained = sweep
        .constraints
        .iter()
        .enumerate()
        .map(|(i, c)| (format!("constraints[{i}]"), c.name.parse::<TrialMetric>()));
    let objectives = metrics.iter().enumerate().map(|(i, m)| {
        let field = match sweep.file.metrics.is_empty() {
            true => "metric".to_string(),
            false => format!("metrics[{i}]"),
        };
        (field, Ok(*m))
    });
    for (field, metric) in objectives.chain(constrained) {
        let Ok(metric) = metric else { continue };
        if !metric.fits(task) {
            let fitting: Vec<&str> = TrialMetric::names()
                .into_iter()
                .filter(|name| name.parse::<TrialMetric>().is_ok_and(|m| m.fits(task)))
                .collect();
            return Err(SweepError::config(
                field,
                format!(
                    "{} does not apply to {dataset} ({task}); use one of: {}",
                    metric.name(),
                    fitting.join(", ")
                ),
            ));
        }
    }
    Ok(())
}
