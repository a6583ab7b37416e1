//! The target column of a user's table: class labels or real values, never missing.

use crate::catalog::parse_values;
use crate::error::{DataError, Result};
use crate::formats::csv::RawTable;
use crate::samples::{Targets, Task};
use crate::tabular::Missing;

/// Which classes the labels of a target column name.
#[derive(Debug, Clone, Copy)]
pub enum Classes<'a> {
    /// Learned from the labels themselves (a training file).
    Learn,
    /// The training file's classes, by name (a test file, new data).
    Known(&'a [String]),
    /// The training classes by name or by index `0..k` (new data for a bundled table, whose
    /// files hold class indices).
    KnownOrIndex(&'a [String]),
}

/// The targets in `column` of `rows` of `table`. With [`Classes::Learn`] the classes come from
/// the labels; otherwise a label the training file never had is an error.
pub fn parse_targets(
    table: &RawTable,
    column: usize,
    rows: impl IntoIterator<Item = usize>,
    task: Task,
    classes: Classes,
    missing: &Missing,
) -> Result<(Targets, Vec<String>)> {
    let cells: Vec<(u64, String)> = rows
        .into_iter()
        .map(|row| (table.lines[row], table.cell(row, column).to_string()))
        .collect();
    if let Some((line, _)) = cells.iter().find(|(_, cell)| missing.is(cell)) {
        return Err(DataError::Malformed {
            path: table.path.clone(),
            line: *line,
            column: column + 1,
            message: format!(
                "the target ('{}') is missing; targets are never imputed, so drop or fill the row",
                table.names[column]
            ),
        });
    }
    let (names, by_index) = match (task, classes) {
        (Task::Regression, _) => {
            let values = parse_values(&table.path, column, &cells)?;
            return Ok((Targets::Values(values), vec![]));
        }
        (Task::Classification, Classes::Learn) => {
            let (ids, names) = learn_classes(table, column, &cells)?;
            return Ok((Targets::Classes(ids), names));
        }
        (Task::Classification, Classes::Known(names)) => (names, false),
        (Task::Classification, Classes::KnownOrIndex(names)) => (names, true),
    };
    let ids = cells
        .iter()
        .map(|(line, cell)| {
            let index = || {
                cell.parse::<u32>()
                    .ok()
                    .filter(|&i| by_index && (i as usize) < names.len())
            };
            class_of(names, cell)
                .or_else(index)
                .ok_or_else(|| DataError::Malformed {
                    path: table.path.clone(),
                    line: *line,
                    column: column + 1,
                    message: format!(
                        "class '{cell}' does not occur in the training data (its classes are: {})",
                        names.join(", ")
                    ),
                })
        })
        .collect::<Result<_>>()?;
    Ok((Targets::Classes(ids), names.to_vec()))
}

/// The index of a label among the training classes. Integer labels compare as integers, so
/// `07` is class `7`.
fn class_of(names: &[String], cell: &str) -> Option<u32> {
    let position = |text: &str| names.iter().position(|n| n == text).map(|i| i as u32);
    position(cell).or_else(|| {
        let integer = cell.parse::<i64>().ok()?;
        position(&integer.to_string())
    })
}

/// Class labels of a user's file: the distinct labels in sorted order (numeric order when every
/// label is an integer) become class indices `0..k`, named by their text. Labels `0..k` therefore
/// keep their values, and sparse or huge integer labels cost no empty classes.
fn learn_classes(
    table: &RawTable,
    column: usize,
    cells: &[(u64, String)],
) -> Result<(Vec<u32>, Vec<String>)> {
    if cells.is_empty() {
        return Err(DataError::format(&table.path, "no data rows"));
    }
    let integers: Option<Vec<i64>> = cells.iter().map(|(_, c)| c.parse::<i64>().ok()).collect();
    let (classes, names) = match integers {
        Some(values) => {
            let mut distinct = values.clone();
            distinct.sort_unstable();
            distinct.dedup();
            let ids = values
                .iter()
                .map(|v| {
                    distinct
                        .binary_search(v)
                        .expect("label is among the distinct") as u32
                })
                .collect();
            (ids, distinct.iter().map(i64::to_string).collect::<Vec<_>>())
        }
        None => {
            let mut names: Vec<String> = cells.iter().map(|(_, c)| c.clone()).collect();
            names.sort();
            names.dedup();
            let ids = cells
                .iter()
                .map(|(_, c)| names.binary_search(c).expect("label is among the names") as u32)
                .collect();
            (ids, names)
        }
    };
    if names.len() < 2 {
        return Err(DataError::Malformed {
            path: table.path.clone(),
            line: cells[0].0,
            column: column + 1,
            message: format!(
                "a classification target needs at least 2 classes, found only '{}'",
                names[0]
            ),
        });
    }
    Ok((classes, names))
}
