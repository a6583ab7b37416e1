//! How a trial's parameters and distributions are stored: JSON arrays of `[name, value]` pairs,
//! in suggestion order, the same in every storage.

use crate::direction::Direction;
use crate::distribution::Distribution;
use crate::space::Assignment;
use crate::storage::Cause;

/// Parameters as stored.
pub(crate) fn params_json(params: &Assignment) -> String {
    serde_json::to_string(params).expect("parameters serialise")
}

/// Parameters read back (an unreadable column reads as none).
pub(crate) fn parse_params(text: &str) -> Assignment {
    serde_json::from_str(text).unwrap_or_default()
}

/// Distributions as stored.
pub(crate) fn distributions_json(distributions: &[(String, Distribution)]) -> String {
    serde_json::to_string(distributions).expect("distributions serialise")
}

/// Distributions read back (an unreadable column reads as none).
pub(crate) fn parse_distributions(text: &str) -> Vec<(String, Distribution)> {
    serde_json::from_str(text).unwrap_or_default()
}

/// Sets `name` in an ordered list of pairs, keeping its place if present.
pub(crate) fn upsert<T>(list: &mut Vec<(String, T)>, name: &str, value: T) {
    match list.iter_mut().find(|(n, _)| n == name) {
        Some((_, slot)) => *slot = value,
        None => list.push((name.to_string(), value)),
    }
}

/// A stored message as read: bounded, whatever wrote it (rows from before messages were
/// bounded, or written by hand, may hold megabytes of a program's output).
pub(crate) fn bounded_message(message: Option<String>) -> Option<String> {
    message.map(|m| match anneal_text::clip_message(&m) {
        std::borrow::Cow::Borrowed(_) => m,
        clipped => clipped.into_owned(),
    })
}

/// A list of numbers as stored (JSON), `None` for an empty one. Every number stored so is
/// finite (objective values of complete trials, checked constraint values).
pub(crate) fn numbers_json(numbers: &[f64]) -> Option<String> {
    (!numbers.is_empty()).then(|| serde_json::to_string(numbers).expect("numbers serialise"))
}

/// A list of numbers read back (none where the column is empty or unreadable).
pub(crate) fn parse_numbers(text: Option<String>) -> Vec<f64> {
    text.and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// Directions as stored: JSON, `None` for a single-objective study.
pub(crate) fn directions_json(directions: &[Direction]) -> Option<String> {
    (directions.len() > 1).then(|| serde_json::to_string(directions).expect("directions serialise"))
}

/// A study's directions read back: the stored list, or its one `direction`.
pub(crate) fn parse_directions(text: Option<String>, direction: Direction) -> Vec<Direction> {
    text.and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| vec![direction])
}

/// A cause as stored (JSON, `{"kind": "killed", "signal": 9}`).
pub(crate) fn cause_json(cause: Option<Cause>) -> Option<String> {
    cause.map(|c| serde_json::to_string(&c).expect("causes serialise"))
}

/// A cause read back (an unreadable one, written by a newer anneal, reads as none).
pub(crate) fn parse_cause(text: Option<String>) -> Option<Cause> {
    serde_json::from_str(&text?).ok()
}
