//! Whether a study wants its objective small or large.

use serde::{Deserialize, Serialize};

/// The study's goal for the objective's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Smaller is better (a loss, an error).
    #[default]
    #[serde(alias = "min")]
    Minimize,
    /// Larger is better (an accuracy, a score).
    #[serde(alias = "max")]
    Maximize,
}

impl Direction {
    /// `"minimize"` or `"maximize"`.
    pub fn name(self) -> &'static str {
        match self {
            Direction::Minimize => "minimize",
            Direction::Maximize => "maximize",
        }
    }

    /// Parses [`Direction::name`]'s words.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "minimize" => Some(Direction::Minimize),
            "maximize" => Some(Direction::Maximize),
            _ => None,
        }
    }

    /// The lower-is-better form of a value, as samplers and pruners see it. A NaN is the
    /// worst loss, +∞, whichever the direction (as Optuna ranks a NaN intermediate value):
    /// negating it would only flip its sign bit, and a sign-flipped NaN sorts first.
    pub fn loss(self, value: f64) -> f64 {
        if value.is_nan() {
            return f64::INFINITY;
        }
        match self {
            Direction::Minimize => value,
            Direction::Maximize => -value,
        }
    }

    /// Whether `a` is strictly better than `b`.
    pub fn better(self, a: f64, b: f64) -> bool {
        match self {
            Direction::Minimize => a < b,
            Direction::Maximize => a > b,
        }
    }

    /// The better of two values.
    pub fn best(self, a: f64, b: f64) -> f64 {
        match self {
            Direction::Minimize => a.min(b),
            Direction::Maximize => a.max(b),
        }
    }
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
