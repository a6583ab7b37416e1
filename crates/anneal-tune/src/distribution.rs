//! What a parameter may be: a real or integer range (optionally on a log scale or a step grid),
//! a set of choices, or a fixed value; and the unit scale the samplers' models work on.

use serde::{Deserialize, Serialize};

/// A parameter's value: any JSON value (numbers, strings, booleans, and for choices also
/// arrays and tables), so a trial's parameters travel unchanged to any program.
pub type Value = serde_json::Value;

/// Where a parameter's values come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Distribution {
    /// A real number in `[low, high]`, uniform on a log scale when `log`.
    Float {
        /// Smallest value.
        low: f64,
        /// Largest value.
        high: f64,
        /// Uniform on a log scale.
        log: bool,
    },
    /// An integer in `[low, high]` on the grid `low + k·step`; uniform on a log scale when `log`
    /// (then `step` is 1).
    Int {
        /// Smallest value.
        low: i64,
        /// Largest value (kept when on the step grid).
        high: i64,
        /// Uniform on a log scale.
        log: bool,
        /// Grid step.
        step: i64,
    },
    /// One of these values.
    Categorical(Vec<Value>),
    /// Always this value (recorded with the trial, never searched).
    Fixed(Value),
}

impl Distribution {
    /// Checks the distribution's settings; the message says what is allowed (callers name the
    /// parameter).
    pub fn check(&self) -> Result<(), String> {
        match self {
            Distribution::Float { low, high, log } => {
                if !(low.is_finite() && high.is_finite() && low < high) {
                    return Err(format!(
                        "float range [{low}, {high}] needs finite low < high"
                    ));
                }
                if *log && *low <= 0.0 {
                    return Err(format!("a log range needs low > 0, got {low}"));
                }
            }
            Distribution::Int {
                low,
                high,
                log,
                step,
            } => {
                if low > high || *step < 1 {
                    return Err(format!(
                        "int range [{low}, {high}] with step {step} needs low ≤ high and step ≥ 1"
                    ));
                }
                if *log && (*low <= 0 || *step != 1) {
                    return Err("a log int range needs low ≥ 1 and step 1".into());
                }
            }
            Distribution::Categorical(choices) if choices.is_empty() => {
                return Err("choices is empty".into());
            }
            Distribution::Categorical(_) | Distribution::Fixed(_) => {}
        }
        Ok(())
    }

    /// Whether `value` is one this distribution can give.
    pub fn contains(&self, value: &Value) -> bool {
        match self {
            Distribution::Float { low, high, .. } => {
                number(value).is_some_and(|v| (*low..=*high).contains(&v))
            }
            Distribution::Int {
                low, high, step, ..
            } => value
                .as_i64()
                .is_some_and(|v| (*low..=*high).contains(&v) && (v - low) % step == 0),
            Distribution::Categorical(choices) => choices.contains(value),
            Distribution::Fixed(fixed) => fixed == value,
        }
    }

    /// A numeric value as a number in [0, 1] (for the samplers' models); `None` for choices.
    pub fn to_unit(&self, value: &Value) -> Option<f64> {
        match self {
            Distribution::Float { low, high, log } => {
                Some(scale(number(value)?, *low, *high, *log))
            }
            Distribution::Int {
                low,
                high,
                log,
                step,
            } => {
                let (lo, hi) = int_bounds(*low, *high, *log, *step);
                let v = value.as_i64()? as f64;
                let x = if *log { v.ln() } else { v };
                Some(((x - lo) / (hi - lo)).clamp(0.0, 1.0))
            }
            Distribution::Categorical(_) | Distribution::Fixed(_) => None,
        }
    }

    /// The part of the unit scale an integer value stands for (its grid cell, half a step
    /// either side, on a log scale when the range is); `None` for real numbers, whose values
    /// are points.
    pub fn unit_cell(&self, value: &Value) -> Option<(f64, f64)> {
        let Distribution::Int {
            low,
            high,
            log,
            step,
        } = self
        else {
            return None;
        };
        let (lo, hi) = int_bounds(*low, *high, *log, *step);
        let v = value.as_i64()? as f64;
        let half = *step as f64 / 2.0;
        let (a, b) = if *log {
            ((v - half).max(0.5).ln(), (v + half).ln())
        } else {
            (v - half, v + half)
        };
        let unit = |x: f64| ((x - lo) / (hi - lo)).clamp(0.0, 1.0);
        Some((unit(a), unit(b)))
    }

    /// The value at `u` ∈ [0, 1] of the unit scale (choices split it into equal parts).
    pub fn from_unit(&self, u: f64) -> Value {
        let u = u.clamp(0.0, 1.0);
        match self {
            Distribution::Float { low, high, log } => {
                let v = if *log {
                    (low.ln() + u * (high.ln() - low.ln())).exp()
                } else {
                    low + u * (high - low)
                };
                Value::from(v.clamp(*low, *high))
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
                Value::from(snapped.clamp(*low, top))
            }
            Distribution::Categorical(choices) => {
                let i = ((u * choices.len() as f64) as usize).min(choices.len() - 1);
                choices[i].clone()
            }
            Distribution::Fixed(v) => v.clone(),
        }
    }
}

/// A JSON number as f64 (integers included).
pub(crate) fn number(value: &Value) -> Option<f64> {
    value.as_f64()
}

fn scale(v: f64, low: f64, high: f64, log: bool) -> f64 {
    let (v, low, high) = if log {
        (v.ln(), low.ln(), high.ln())
    } else {
        (v, low, high)
    };
    if high == low {
        return 0.5;
    }
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
