//! Test functions with known minima, so sampler quality is measurable in seconds.

use serde::{Deserialize, Serialize};

use crate::space::{Assignment, ParamSpec};

/// A test function with a known minimum (a sweep file's `synthetic = "branin"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Synthetic {
    /// Branin–Hoo on x1 ∈ [−5, 10], x2 ∈ [0, 15]; global minimum 0.397887 (three places).
    Branin,
    /// Hartmann-6 on [0, 1]⁶; global minimum −3.32237.
    Hartmann6,
    /// A mixed space: x ∈ [0, 1], an integer n ∈ [0, 10] and a category c ∈ {a, b, c};
    /// minimum 0 at x = 0.3, n = 4, c = "b".
    Mixed,
}

impl Synthetic {
    /// The function's name in sweep files.
    pub fn name(self) -> &'static str {
        match self {
            Synthetic::Branin => "branin",
            Synthetic::Hartmann6 => "hartmann6",
            Synthetic::Mixed => "mixed",
        }
    }

    /// The global minimum.
    pub fn minimum(self) -> f64 {
        match self {
            Synthetic::Branin => 0.397887,
            Synthetic::Hartmann6 => -3.32237,
            Synthetic::Mixed => 0.0,
        }
    }

    /// The function's own search space.
    pub fn space(self) -> Vec<ParamSpec> {
        let float = |name: &str, low: f64, high: f64| ParamSpec {
            float: Some([low, high]),
            ..ParamSpec::named(name)
        };
        match self {
            Synthetic::Branin => vec![float("x1", -5.0, 10.0), float("x2", 0.0, 15.0)],
            Synthetic::Hartmann6 => (1..=6).map(|i| float(&format!("x{i}"), 0.0, 1.0)).collect(),
            Synthetic::Mixed => vec![
                float("x", 0.0, 1.0),
                ParamSpec {
                    int: Some([0, 10]),
                    ..ParamSpec::named("n")
                },
                ParamSpec {
                    choices: Some(vec!["a".into(), "b".into(), "c".into()]),
                    ..ParamSpec::named("c")
                },
            ],
        }
    }

    /// The function's value at `x` (missing or mistyped inputs are an error message).
    pub fn evaluate(self, x: &Assignment) -> Result<f64, String> {
        let get = |name: &str| -> Result<f64, String> {
            x.iter()
                .find(|(n, _)| n == name)
                .and_then(|(_, v)| v.as_f64())
                .ok_or_else(|| format!("{} needs a numeric parameter '{name}'", self.name()))
        };
        Ok(match self {
            Synthetic::Branin => branin(get("x1")?, get("x2")?),
            Synthetic::Hartmann6 => {
                let mut v = [0.0; 6];
                for (i, slot) in v.iter_mut().enumerate() {
                    *slot = get(&format!("x{}", i + 1))?;
                }
                hartmann6(&v)
            }
            Synthetic::Mixed => {
                let category = x
                    .iter()
                    .find(|(n, _)| n == "c")
                    .and_then(|(_, v)| v.as_str())
                    .ok_or("mixed needs a string parameter 'c'")?;
                let offset = match category {
                    "a" => 0.5,
                    "b" => 0.0,
                    "c" => 1.0,
                    other => return Err(format!("mixed: unknown category '{other}'")),
                };
                (get("x")? - 0.3).powi(2) + ((get("n")? - 4.0) / 10.0).powi(2) + offset
            }
        })
    }
}

/// The Branin–Hoo function.
pub fn branin(x1: f64, x2: f64) -> f64 {
    use std::f64::consts::PI;
    let (a, b, c) = (1.0, 5.1 / (4.0 * PI * PI), 5.0 / PI);
    let (r, s, t) = (6.0, 10.0, 1.0 / (8.0 * PI));
    a * (x2 - b * x1 * x1 + c * x1 - r).powi(2) + s * (1.0 - t) * x1.cos() + s
}

/// The 6-dimensional Hartmann function.
pub fn hartmann6(x: &[f64; 6]) -> f64 {
    const ALPHA: [f64; 4] = [1.0, 1.2, 3.0, 3.2];
    const A: [[f64; 6]; 4] = [
        [10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
        [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
        [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
        [17.0, 8.0, 0.05, 10.0, 0.1, 14.0],
    ];
    const P: [[f64; 6]; 4] = [
        [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
        [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
        [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
        [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
    ];
    -(0..4)
        .map(|i| {
            let inner: f64 = (0..6).map(|j| A[i][j] * (x[j] - P[i][j]).powi(2)).sum();
            ALPHA[i] * (-inner).exp()
        })
        .sum::<f64>()
}
