//! Search spaces: an ordered list of parameters, each a dotted path into the run config (or a
//! name of a synthetic objective's input) with a distribution and an optional condition on
//! earlier parameters.
//!
//! ```toml
//! [[search]]
//! name = "train.lr"
//! float = [1e-4, 1e-1]
//! log = true
//!
//! [[search]]
//! name = "train.optimizer.kind"
//! choices = ["sgd", "adam"]
//!
//! [[search]]
//! name = "train.optimizer.momentum"
//! float = [0.0, 0.99]
//! when = { "train.optimizer.kind" = ["sgd"] }   # only exists for sgd
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::distribution::{Distribution, Value};
use crate::error::{Result, TuneError};

/// One parameter as a sweep file writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    /// The parameter's name (for run configs, a dotted key of the config).
    pub name: String,
    /// `[low, high]`, a real range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub float: Option<[f64; 2]>,
    /// `[low, high]`, an integer range (both ends included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int: Option<[i64; 2]>,
    /// Any values (numbers, strings, booleans, arrays, tables).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices: Option<Vec<Value>>,
    /// A fixed value (set on every trial, not searched).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// Sample on a log scale (float and int ranges).
    #[serde(default)]
    pub log: bool,
    /// Integer step (int ranges).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<i64>,
    /// Only active when each named earlier parameter takes one of the listed values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub when: BTreeMap<String, Vec<Value>>,
    /// A list with one value per layer, as long as the earlier int parameter named here
    /// (e.g. `per_layer = "model.depth"` for `model.units`); each entry is searched on its own,
    /// as the parameter `name[i]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_layer: Option<String>,
}

impl ParamSpec {
    /// A spec with only a name; set one of `float`, `int`, `choices` or `value`.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            float: None,
            int: None,
            choices: None,
            value: None,
            log: false,
            step: None,
            when: BTreeMap::new(),
            per_layer: None,
        }
    }
}

/// A parameter of a declared search space.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// The parameter's name.
    pub name: String,
    /// Where its values come from.
    pub distribution: Distribution,
    /// Only active when each named earlier parameter takes one of the listed values.
    pub when: BTreeMap<String, Vec<Value>>,
    /// Sized by this earlier int parameter: the value is a list, one entry per layer.
    pub per_layer: Option<String>,
}

/// Values of the active parameters of one trial, in space order.
pub type Assignment = Vec<(String, Value)>;

/// A declared search space: what a sweep file's `[[search]]` tables say, in order. Trials walk
/// it with [`crate::Trial::suggest_space`]; the API also works without one (define-by-run).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchSpace {
    /// The parameters, in the order trials ask for them.
    pub params: Vec<Param>,
}

impl Param {
    /// Entry `i` of a per-layer parameter, as a parameter of its own (`name[i]`).
    pub fn layer(&self, i: usize) -> Param {
        Param {
            name: format!("{}[{i}]", self.name),
            distribution: self.distribution.clone(),
            when: BTreeMap::new(),
            per_layer: None,
        }
    }
}

impl SearchSpace {
    /// Checks and converts the sweep file's entries.
    pub fn from_specs(specs: &[ParamSpec]) -> Result<Self> {
        let mut params: Vec<Param> = Vec::with_capacity(specs.len());
        for (i, spec) in specs.iter().enumerate() {
            let field = format!("search[{i}] ({})", spec.name);
            let fail = |message: String| Err(TuneError::config(field.clone(), message));
            if spec.name.is_empty() {
                return fail("needs a name (a dotted key of the run config)".into());
            }
            if params.iter().any(|p| p.name == spec.name) {
                return fail("is searched twice".into());
            }
            let kinds = [
                spec.float.is_some(),
                spec.int.is_some(),
                spec.choices.is_some(),
                spec.value.is_some(),
            ];
            if kinds.iter().filter(|&&k| k).count() != 1 {
                return fail("give exactly one of float = [low, high], int = [low, high], choices = [...], value = x".into());
            }
            let distribution = if let Some([low, high]) = spec.float {
                Distribution::Float {
                    low,
                    high,
                    log: spec.log,
                }
            } else if let Some([low, high]) = spec.int {
                Distribution::Int {
                    low,
                    high,
                    log: spec.log,
                    step: spec.step.unwrap_or(1),
                }
            } else if let Some(choices) = &spec.choices {
                Distribution::Categorical(choices.clone())
            } else {
                Distribution::Fixed(spec.value.clone().expect("checked above"))
            };
            if let Err(message) = distribution.check() {
                return fail(message);
            }
            if spec.step.is_some() && spec.int.is_none() {
                return fail("step applies to int ranges only".into());
            }
            if spec.log && spec.float.is_none() && spec.int.is_none() {
                return fail("log applies to float and int ranges only".into());
            }
            for (parent, values) in &spec.when {
                let Some(earlier) = params.iter().find(|p| &p.name == parent) else {
                    return fail(format!(
                        "`when` refers to '{parent}', which is not an earlier parameter of the search"
                    ));
                };
                if values.is_empty() {
                    return fail(format!("`when` lists no values for '{parent}'"));
                }
                match &earlier.distribution {
                    Distribution::Categorical(choices) => {
                        if let Some(bad) = values.iter().find(|v| !choices.contains(v)) {
                            return fail(format!(
                                "`when` value {bad} is not one of '{parent}' choices"
                            ));
                        }
                    }
                    Distribution::Float { low, high, .. } => {
                        return fail(format!(
                            "`when` on '{parent}', a float range [{low}, {high}], never holds (its values are continuous); make the condition on a choices or int parameter"
                        ));
                    }
                    d => {
                        if let Some(bad) = values.iter().find(|v| !d.contains(v)) {
                            return fail(format!(
                                "`when` value {bad} is never taken by '{parent}' ({})",
                                describe(d)
                            ));
                        }
                    }
                }
            }
            if let Some(size) = &spec.per_layer {
                match params
                    .iter()
                    .find(|p| &p.name == size)
                    .map(|p| &p.distribution)
                {
                    Some(Distribution::Int { low, .. }) if *low >= 1 => {}
                    Some(Distribution::Fixed(n)) if n.as_i64().is_some_and(|n| n >= 1) => {}
                    _ => {
                        return fail(format!(
                            "per_layer needs an earlier int parameter ≥ 1 to size the list, and '{size}' is not one"
                        ));
                    }
                }
                if matches!(distribution, Distribution::Fixed(_)) {
                    return fail(
                        "per_layer needs a range or choices to search, not a fixed value".into(),
                    );
                }
            }
            params.push(Param {
                name: spec.name.clone(),
                distribution,
                when: spec.when.clone(),
                per_layer: spec.per_layer.clone(),
            });
        }
        Ok(Self { params })
    }

    /// Whether `param` is active given the values chosen so far.
    pub fn is_active(param: &Param, chosen: &Assignment) -> bool {
        param.when.iter().all(|(parent, allowed)| {
            chosen
                .iter()
                .find(|(name, _)| name == parent)
                .is_some_and(|(_, v)| allowed.contains(v))
        })
    }
}

/// A distribution in words, for messages.
fn describe(distribution: &Distribution) -> String {
    match distribution {
        Distribution::Float { low, high, .. } => format!("a float range [{low}, {high}]"),
        Distribution::Int {
            low, high, step, ..
        } => format!("an int range [{low}, {high}] with step {step}"),
        Distribution::Categorical(choices) => format!("{} choices", choices.len()),
        Distribution::Fixed(v) => format!("always {v}"),
    }
}

/// The value of `name` in an assignment; `name[i]` is entry `i` of a per-layer list.
pub fn lookup<'a>(assignment: &'a Assignment, name: &str) -> Option<&'a Value> {
    if let Some((_, v)) = assignment.iter().find(|(n, _)| n == name) {
        return Some(v);
    }
    let (base, index) = name.strip_suffix(']')?.rsplit_once('[')?;
    let index: usize = index.parse().ok()?;
    lookup(assignment, base)?.as_array()?.get(index)
}

/// The assignment with per-layer entries `name[0]`, `name[1]`, … folded into one list `name`
/// (as a run config wants them, and as grid points hold them).
pub fn nest_layers(assignment: &Assignment) -> Assignment {
    let mut nested: Assignment = Vec::with_capacity(assignment.len());
    for (name, value) in assignment {
        let entry = name
            .strip_suffix(']')
            .and_then(|n| n.rsplit_once('['))
            .filter(|(_, i)| i.parse::<usize>().is_ok());
        match entry {
            Some((base, _)) => match nested.iter_mut().find(|(n, _)| n == base) {
                Some((_, Value::Array(list))) => list.push(value.clone()),
                _ => nested.push((base.to_string(), Value::Array(vec![value.clone()]))),
            },
            None => nested.push((name.clone(), value.clone())),
        }
    }
    nested
}
