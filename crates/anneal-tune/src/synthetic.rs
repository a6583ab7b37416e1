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
    /// Rosenbrock in five dimensions on [−5, 10]⁵; minimum 0 at (1, …, 1).
    Rosenbrock5,
    /// Ackley in five dimensions on [−32.768, 32.768]⁵; minimum 0 at the origin.
    Ackley5,
    /// Branin with an integer and a category: x1 ∈ [−5, 10], x2 ∈ [0, 15], n ∈ [0, 10],
    /// c ∈ {a, b, c, d}; f = branin(x1 + dx[c], x2) + off[c] + 0.1·(n − 7)² with
    /// dx = {0, 2, −3, 5} and off = {1, 0, 0.5, 2}; minimum 0.397887 at c = b, n = 7.
    MixedBranin,
    /// Styblinski–Tang in four dimensions on [−5, 5]⁴: ½·Σ(x⁴ − 16x² + 5x), minimum
    /// −156.664663 at xᵢ = −2.903534; 2⁴ basins, the global one in a corner.
    StyblinskiTang4,
    /// Levy in four dimensions on [−10, 10]⁴; minimum 0 at (1, …, 1), among many local minima.
    Levy4,
}

/// Every test function, in the order the benchmark reports them.
pub const SYNTHETIC_FUNCTIONS: [Synthetic; 8] = [
    Synthetic::Branin,
    Synthetic::Hartmann6,
    Synthetic::Rosenbrock5,
    Synthetic::Ackley5,
    Synthetic::MixedBranin,
    Synthetic::StyblinskiTang4,
    Synthetic::Levy4,
    Synthetic::Mixed,
];

const MIXED_BRANIN_CHOICES: [(&str, f64, f64); 4] = [
    ("a", 0.0, 1.0),
    ("b", 2.0, 0.0),
    ("c", -3.0, 0.5),
    ("d", 5.0, 2.0),
];

impl Synthetic {
    /// The function's name in sweep files.
    pub fn name(self) -> &'static str {
        match self {
            Synthetic::Branin => "branin",
            Synthetic::Hartmann6 => "hartmann6",
            Synthetic::Mixed => "mixed",
            Synthetic::Rosenbrock5 => "rosenbrock5",
            Synthetic::Ackley5 => "ackley5",
            Synthetic::MixedBranin => "mixed_branin",
            Synthetic::StyblinskiTang4 => "styblinski_tang4",
            Synthetic::Levy4 => "levy4",
        }
    }

    /// A unit for the function's values, stated per function (not fitted to any sampler):
    /// the noise's standard deviation in the benchmark's noisy studies, and the size of the
    /// decaying term in its multi-fidelity ones.
    pub fn scale(self) -> f64 {
        match self {
            Synthetic::Branin | Synthetic::MixedBranin | Synthetic::Levy4 => 1.0,
            Synthetic::Hartmann6 | Synthetic::Mixed => 0.1,
            Synthetic::Rosenbrock5 => 100.0,
            Synthetic::Ackley5 => 0.5,
            Synthetic::StyblinskiTang4 => 5.0,
        }
    }

    /// The global minimum.
    pub fn minimum(self) -> f64 {
        match self {
            Synthetic::Branin => 0.397887,
            Synthetic::Hartmann6 => -3.32237,
            Synthetic::Mixed | Synthetic::Rosenbrock5 | Synthetic::Ackley5 => 0.0,
            Synthetic::MixedBranin => 0.397887,
            Synthetic::StyblinskiTang4 => -156.664_662_815_085_68,
            Synthetic::Levy4 => 0.0,
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
            Synthetic::Rosenbrock5 => (1..=5)
                .map(|i| float(&format!("x{i}"), -5.0, 10.0))
                .collect(),
            Synthetic::Ackley5 => (1..=5)
                .map(|i| float(&format!("x{i}"), -32.768, 32.768))
                .collect(),
            Synthetic::StyblinskiTang4 => (1..=4)
                .map(|i| float(&format!("x{i}"), -5.0, 5.0))
                .collect(),
            Synthetic::Levy4 => (1..=4)
                .map(|i| float(&format!("x{i}"), -10.0, 10.0))
                .collect(),
            Synthetic::MixedBranin => vec![
                float("x1", -5.0, 10.0),
                float("x2", 0.0, 15.0),
                ParamSpec {
                    int: Some([0, 10]),
                    ..ParamSpec::named("n")
                },
                ParamSpec {
                    choices: Some(
                        MIXED_BRANIN_CHOICES
                            .iter()
                            .map(|(c, _, _)| (*c).into())
                            .collect(),
                    ),
                    ..ParamSpec::named("c")
                },
            ],
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
        let category = || {
            x.iter()
                .find(|(n, _)| n == "c")
                .and_then(|(_, v)| v.as_str())
                .ok_or_else(|| format!("{} needs a string parameter 'c'", self.name()))
        };
        let vector = |d: usize| -> Result<Vec<f64>, String> {
            (1..=d).map(|i| get(&format!("x{i}"))).collect()
        };
        Ok(match self {
            Synthetic::Branin => branin(get("x1")?, get("x2")?),
            Synthetic::Rosenbrock5 => rosenbrock(&vector(5)?),
            Synthetic::Ackley5 => ackley(&vector(5)?),
            Synthetic::StyblinskiTang4 => styblinski_tang(&vector(4)?),
            Synthetic::Levy4 => levy(&vector(4)?),
            Synthetic::MixedBranin => {
                let c = category()?;
                let (_, dx, off) = MIXED_BRANIN_CHOICES
                    .iter()
                    .find(|(name, _, _)| *name == c)
                    .ok_or_else(|| format!("mixed_branin: unknown category '{c}'"))?;
                branin(get("x1")? + dx, get("x2")?) + off + 0.1 * (get("n")? - 7.0).powi(2)
            }
            Synthetic::Hartmann6 => {
                let mut v = [0.0; 6];
                for (i, slot) in v.iter_mut().enumerate() {
                    *slot = get(&format!("x{}", i + 1))?;
                }
                hartmann6(&v)
            }
            Synthetic::Mixed => {
                let offset = match category()? {
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

/// The Rosenbrock function: Σ 100·(x[i+1] − x[i]²)² + (1 − x[i])².
pub fn rosenbrock(x: &[f64]) -> f64 {
    x.windows(2)
        .map(|w| 100.0 * (w[1] - w[0] * w[0]).powi(2) + (1.0 - w[0]).powi(2))
        .sum()
}

/// The Ackley function (a = 20, b = 0.2, c = 2π).
pub fn ackley(x: &[f64]) -> f64 {
    use std::f64::consts::{E, PI};
    let d = x.len() as f64;
    let squares = x.iter().map(|v| v * v).sum::<f64>() / d;
    let cosines = x.iter().map(|v| (2.0 * PI * v).cos()).sum::<f64>() / d;
    -20.0 * (-0.2 * squares.sqrt()).exp() - cosines.exp() + 20.0 + E
}

/// The Styblinski–Tang function: ½·Σ(x⁴ − 16x² + 5x).
pub fn styblinski_tang(x: &[f64]) -> f64 {
    0.5 * x
        .iter()
        .map(|v| v.powi(4) - 16.0 * v * v + 5.0 * v)
        .sum::<f64>()
}

/// The Levy function, with wᵢ = 1 + (xᵢ − 1)/4.
pub fn levy(x: &[f64]) -> f64 {
    use std::f64::consts::PI;
    let w: Vec<f64> = x.iter().map(|v| 1.0 + (v - 1.0) / 4.0).collect();
    let (first, last) = (w[0], w[w.len() - 1]);
    let middle: f64 = w[..w.len() - 1]
        .iter()
        .map(|wi| (wi - 1.0).powi(2) * (1.0 + 10.0 * (PI * wi + 1.0).sin().powi(2)))
        .sum();
    (PI * first).sin().powi(2)
        + middle
        + (last - 1.0).powi(2) * (1.0 + (2.0 * PI * last).sin().powi(2))
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

#[cfg(test)]
mod tests {
    #[test]
    fn test_functions_have_their_published_minima() {
        assert!((branin(std::f64::consts::PI, 2.275) - 0.397887).abs() < 1e-6);
        assert!((branin(-std::f64::consts::PI, 12.275) - 0.397887).abs() < 1e-6);
        let optimum = [0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573];
        assert!(
            (hartmann6(&optimum) - -3.32237).abs() < 1e-4,
            "{}",
            hartmann6(&optimum)
        );
        assert_eq!(Synthetic::Branin.minimum(), 0.397887);
    }

    use super::*;
    use serde_json::Value;

    fn point(pairs: &[(&str, Value)]) -> Assignment {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn each_function_reaches_its_stated_minimum_at_its_optimum() {
        let xs = |d: usize, v: f64| -> Assignment {
            (1..=d).map(|i| (format!("x{i}"), Value::from(v))).collect()
        };
        let optima = [
            (
                Synthetic::Branin,
                point(&[("x1", 9.42478.into()), ("x2", 2.475.into())]),
            ),
            (
                Synthetic::Hartmann6,
                [0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573]
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (format!("x{}", i + 1), Value::from(*v)))
                    .collect(),
            ),
            (Synthetic::Rosenbrock5, xs(5, 1.0)),
            (Synthetic::Ackley5, xs(5, 0.0)),
            (Synthetic::StyblinskiTang4, xs(4, -2.903_534)),
            (Synthetic::Levy4, xs(4, 1.0)),
            (
                Synthetic::MixedBranin,
                point(&[
                    ("x1", (9.42478 - 2.0).into()),
                    ("x2", 2.475.into()),
                    ("n", 7.into()),
                    ("c", "b".into()),
                ]),
            ),
        ];
        for (function, x) in optima {
            let value = function.evaluate(&x).unwrap();
            assert!(
                (value - function.minimum()).abs() < 1e-4,
                "{}: {value} at its optimum, stated minimum {}",
                function.name(),
                function.minimum()
            );
        }
        // Another category or integer is worse.
        let off = point(&[
            ("x1", 9.42478.into()),
            ("x2", 2.475.into()),
            ("n", 7.into()),
            ("c", "a".into()),
        ]);
        assert!(Synthetic::MixedBranin.evaluate(&off).unwrap() > 1.3);
    }
}
