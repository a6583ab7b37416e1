//! Checks a training sweep before its study exists: every searched name must be a setting of
//! the run config, and the metric must apply to the dataset's task, so a typo fails at once
//! with its name instead of failing every trial.

use anneal_data::{Catalog, DataSource, Task};
use anneal_train::RunConfig;
use anneal_train::config::Monitor;
use anneal_tune::{Assignment, Distribution, Param, SearchSpace, Value};

use crate::error::{Result, SweepError};
use crate::file::{Sweep, SweepObjective};
use crate::training::trial_config;

/// Each searched parameter, set into the base config with the earlier parameters a trial would
/// have beside it (values that make its conditions hold, representative values otherwise),
/// must give a config the schema accepts.
pub(crate) fn check_keys(
    base_path: &std::path::Path,
    base: &toml::Table,
    space: &SearchSpace,
) -> Result<()> {
    for (i, param) in space.params.iter().enumerate() {
        let mut required: Vec<(String, Value)> = Vec::new();
        conditions(space, param, &mut required);
        let mut assignment: Assignment = Vec::new();
        for earlier in &space.params[..=i] {
            let value = required
                .iter()
                .find(|(n, _)| *n == earlier.name)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| sample_value(&earlier.distribution));
            let value = match &earlier.per_layer {
                Some(_) => Value::Array(vec![value]),
                None => value,
            };
            if SearchSpace::is_active(earlier, &assignment) {
                assignment.push((earlier.name.clone(), value));
            }
        }
        if let Err(message) = trial_config(base_path, base, &assignment, 0) {
            return Err(SweepError::config(
                format!("search[{i}] ({})", param.name),
                format!("is not a setting the run config accepts: {message}"),
            ));
        }
    }
    Ok(())
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
pub fn check_training_sweep(sweep: &Sweep, catalog: &Catalog) -> Result<()> {
    let SweepObjective::Training {
        base_path,
        base,
        metric,
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
    if !metric.fits(task) {
        let fitting: Vec<&str> = Monitor::ALL
            .iter()
            .filter(|m| m.fits(task))
            .map(|m| m.name())
            .collect();
        return Err(SweepError::config(
            "metric",
            format!(
                "{} does not apply to {dataset} ({task}); use one of: {}",
                metric.name(),
                fitting.join(", ")
            ),
        ));
    }
    Ok(())
}
