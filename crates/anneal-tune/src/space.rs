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

use crate::error::{Result, TuneError};

/// One parameter as a sweep file writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    pub name: String,
    /// `[low, high]`, a real range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub float: Option<[f64; 2]>,
    /// `[low, high]`, an integer range (both ends included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int: Option<[i64; 2]>,
    /// Any TOML values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices: Option<Vec<toml::Value>>,
    /// A fixed value (set on every trial, not searched).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<toml::Value>,
    /// Sample on a log scale (float and int ranges).
    #[serde(default)]
    pub log: bool,
    /// Integer step (int ranges).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<i64>,
    /// Only active when each named earlier parameter takes one of the listed values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub when: BTreeMap<String, Vec<toml::Value>>,
    /// A list with one value per layer, as long as the earlier int parameter named here
    /// (e.g. `per_layer = "model.depth"` for `model.units`); each entry is searched on its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_layer: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Distribution {
    Float {
        low: f64,
        high: f64,
        log: bool,
    },
    Int {
        low: i64,
        high: i64,
        log: bool,
        step: i64,
    },
    Categorical(Vec<toml::Value>),
    Fixed(toml::Value),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: String,
    pub distribution: Distribution,
    pub when: BTreeMap<String, Vec<toml::Value>>,
    /// Sized by this earlier int parameter: the value is a list, one entry per layer.
    pub per_layer: Option<String>,
}

/// Values of the active parameters of one trial, in space order.
pub type Assignment = Vec<(String, toml::Value)>;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchSpace {
    pub params: Vec<Param>,
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
                if !(low.is_finite() && high.is_finite() && low < high) {
                    return fail(format!(
                        "float range [{low}, {high}] needs finite low < high"
                    ));
                }
                if spec.log && low <= 0.0 {
                    return fail(format!("a log range needs low > 0, got {low}"));
                }
                Distribution::Float {
                    low,
                    high,
                    log: spec.log,
                }
            } else if let Some([low, high]) = spec.int {
                let step = spec.step.unwrap_or(1);
                if low > high || step < 1 {
                    return fail(format!(
                        "int range [{low}, {high}] with step {step} needs low ≤ high and step ≥ 1"
                    ));
                }
                if spec.log && (low <= 0 || step != 1) {
                    return fail("a log int range needs low ≥ 1 and step 1".into());
                }
                Distribution::Int {
                    low,
                    high,
                    log: spec.log,
                    step,
                }
            } else if let Some(choices) = &spec.choices {
                if choices.is_empty() {
                    return fail("choices is empty".into());
                }
                Distribution::Categorical(choices.clone())
            } else {
                Distribution::Fixed(spec.value.clone().expect("checked above"))
            };
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
                if let Distribution::Categorical(choices) = &earlier.distribution {
                    if let Some(bad) = values.iter().find(|v| !choices.contains(v)) {
                        return fail(format!(
                            "`when` value {bad} is not one of '{parent}' choices"
                        ));
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
                    Some(Distribution::Fixed(toml::Value::Integer(n))) if *n >= 1 => {}
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

/// The value of `name` in an assignment; `name[i]` is entry `i` of a per-layer list.
pub fn lookup<'a>(assignment: &'a Assignment, name: &str) -> Option<&'a toml::Value> {
    if let Some((_, v)) = assignment.iter().find(|(n, _)| n == name) {
        return Some(v);
    }
    let (base, index) = name.strip_suffix(']')?.rsplit_once('[')?;
    let index: usize = index.parse().ok()?;
    lookup(assignment, base)?.as_array()?.get(index)
}

/// A distribution's value as a number in [0, 1] (for the samplers' models), and back.
impl Distribution {
    pub fn to_unit(&self, value: &toml::Value) -> Option<f64> {
        match self {
            Distribution::Float { low, high, log } => {
                let v = value
                    .as_float()
                    .or_else(|| value.as_integer().map(|i| i as f64))?;
                Some(scale(v, *low, *high, *log))
            }
            Distribution::Int {
                low,
                high,
                log,
                step,
            } => {
                let (lo, hi) = int_bounds(*low, *high, *log, *step);
                let v = value.as_integer()? as f64;
                let x = if *log { v.ln() } else { v };
                Some(((x - lo) / (hi - lo)).clamp(0.0, 1.0))
            }
            Distribution::Categorical(_) | Distribution::Fixed(_) => None,
        }
    }

    pub fn from_unit(&self, u: f64) -> toml::Value {
        let u = u.clamp(0.0, 1.0);
        match self {
            Distribution::Float { low, high, log } => {
                let v = if *log {
                    (low.ln() + u * (high.ln() - low.ln())).exp()
                } else {
                    low + u * (high - low)
                };
                toml::Value::Float(v.clamp(*low, *high))
            }
            Distribution::Int {
                low,
                high,
                log,
                step,
            } => {
                let (lo, hi) = int_bounds(*low, *high, *log, *step);
                let x = lo + u * (hi - lo);
                let v = if *log { x.exp() } else { x };
                let top = high - (high - low) % step; // the largest value on the step grid
                let snapped = low + ((v - *low as f64) / *step as f64).round() as i64 * step;
                toml::Value::Integer(snapped.clamp(*low, top))
            }
            Distribution::Categorical(choices) => {
                let i = ((u * choices.len() as f64) as usize).min(choices.len() - 1);
                choices[i].clone()
            }
            Distribution::Fixed(v) => v.clone(),
        }
    }
}

fn scale(v: f64, low: f64, high: f64, log: bool) -> f64 {
    let (v, low, high) = if log {
        (v.ln(), low.ln(), high.ln())
    } else {
        (v, low, high)
    };
    ((v - low) / (high - low)).clamp(0.0, 1.0)
}

/// Each value on the step grid owns an equal interval `[v - step/2, v + step/2]` (step 1 on
/// log ranges); the unit scale spans them all, so every value is equally likely uniformly.
fn int_bounds(low: i64, high: i64, log: bool, step: i64) -> (f64, f64) {
    let top = high - (high - low) % step;
    let half = step as f64 / 2.0;
    if log {
        ((low as f64 - 0.5).max(0.5).ln(), (top as f64 + 0.5).ln())
    } else {
        (low as f64 - half, top as f64 + half)
    }
}
