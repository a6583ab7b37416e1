//! A user's own table as it really comes: number and text columns, missing cells, and
//! optionally a separate test file. Column types are read from the training file; categories and
//! fill values are learned on the training rows only (see [`TabularEncoder`]).

mod encoder;
mod targets;

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use encoder::{Binding, ColumnEncoding, EncodedColumn, TabularEncoder};
pub use targets::{Classes, parse_targets};

use crate::catalog::CsvSource;
use crate::error::{DataError, Result};
use crate::formats::csv::{RawTable, read_raw};
use crate::samples::{DatasetInfo, LoadedDataset, Samples};
use crate::split::{SplitConfig, Splits, apply_plan, plan_split};

/// How missing cells are filled (`data.impute`), from the training rows only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Impute {
    /// A missing cell is an error naming its line and column.
    #[default]
    Error,
    /// The column's mean (text columns: the most frequent category).
    Mean,
    /// The column's median (text columns: the most frequent category).
    Median,
    /// The column's most frequent value or category.
    MostFrequent,
}

/// How a text column becomes features (`data.encoding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// One feature per category, 1 for the row's category and 0 for the others.
    #[default]
    OneHot,
    /// One feature: the category's index in sorted order.
    Ordinal,
}

/// What a category the training rows never had becomes (`data.unseen_category`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnseenCategory {
    /// An error naming the value, its line and column, and the known categories.
    #[default]
    Error,
    /// All zeros for one-hot encoding, -1 for ordinal.
    Zeros,
}

/// The config keys that turn a table into features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TabularOptions {
    /// How missing cells are filled.
    pub impute: Impute,
    /// How text columns become features.
    pub encoding: Encoding,
    /// What a category the training rows never had becomes.
    pub unseen_category: UnseenCategory,
}

/// Which cells count as missing: empty cells, `NA`, `N/A`, `NaN`, `nan`, `NULL`, `null`, and any
/// markers a config adds (`data.csv.missing = ["?"]`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Missing {
    /// Markers the config adds to [`Missing::STANDARD`].
    #[serde(default)]
    pub extra: Vec<String>,
}

impl Missing {
    /// The cells that always count as missing.
    pub const STANDARD: [&'static str; 7] = ["", "NA", "N/A", "NaN", "nan", "NULL", "null"];

    /// Whether `cell` counts as missing.
    pub fn is(&self, cell: &str) -> bool {
        Self::STANDARD.contains(&cell) || self.extra.iter().any(|m| m == cell)
    }
}

/// What a feature column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Numbers: one feature.
    Numeric,
    /// Text categories; the target column is also given this kind.
    Categorical,
    /// Not a feature (`data.csv.ignore`: IDs, free text, leaks of the target); `anneal predict`
    /// copies it to its output.
    Ignored,
}

/// Each column's kind, read from every row of the training file: a column of numbers is numeric,
/// a column of text is categorical, and `categorical` names columns to treat as text even when
/// they hold numbers (codes, ZIP codes). A column of numbers with a few words in it is an error:
/// those words are usually missing-value markers, and taking the column as text would hide that.
pub fn column_kinds(
    table: &RawTable,
    target: usize,
    categorical: &[String],
    ignore: &[String],
    missing: &Missing,
) -> Result<Vec<ColumnKind>> {
    for (field, names) in [
        ("data.csv.categorical", categorical),
        ("data.csv.ignore", ignore),
    ] {
        if let Some(unknown) = names.iter().find(|c| !table.names.contains(c)) {
            return Err(DataError::config(
                field,
                format!(
                    "no column named '{unknown}' in {}; columns are: {}",
                    table.path.display(),
                    table.names.join(", ")
                ),
            ));
        }
    }
    // Ignored columns head the predictions file, beside `predicted` and `prob_<class>`.
    if let Some(clash) = ignore
        .iter()
        .find(|n| *n == "predicted" || n.starts_with("prob_"))
    {
        return Err(DataError::config(
            "data.csv.ignore",
            format!(
                "column '{clash}' would clash with a column of the predictions \
                 (predicted, prob_<class>); rename it in the file"
            ),
        ));
    }
    if ignore.contains(&table.names[target]) {
        return Err(DataError::config(
            "data.csv.ignore",
            format!(
                "'{}' is the target; it cannot be ignored",
                table.names[target]
            ),
        ));
    }
    if (0..table.width).all(|c| c == target || ignore.contains(&table.names[c])) {
        return Err(DataError::config(
            "data.csv.ignore",
            "every column besides the target is ignored: nothing is left to learn from",
        ));
    }
    (0..table.width)
        .map(|column| {
            if ignore.contains(&table.names[column]) {
                return Ok(ColumnKind::Ignored);
            }
            if column == target || categorical.contains(&table.names[column]) {
                return Ok(ColumnKind::Categorical);
            }
            // (count, first row) of number cells and of text cells; a number is what
            // training reads as one, a finite f32.
            let mut numbers = (0usize, None);
            let mut texts = (0usize, None);
            for row in 0..table.rows() {
                let cell = table.cell(row, column);
                if missing.is(cell) {
                    continue;
                }
                let kind = if cell.parse::<f32>().is_ok_and(f32::is_finite) {
                    &mut numbers
                } else {
                    &mut texts
                };
                kind.0 += 1;
                kind.1.get_or_insert(row);
            }
            let name = &table.names[column];
            let at = |row: usize, message: String| DataError::Malformed {
                path: table.path.clone(),
                line: table.lines[row],
                column: column + 1,
                message,
            };
            match (numbers, texts) {
                ((n, Some(_)), (t, Some(row))) if n >= t => Err(at(
                    row,
                    format!(
                        "'{}' is not a number, but column '{name}' otherwise holds numbers; \
                         if it marks a missing value add it to data.csv.missing, or if the \
                         column is text list it in data.csv.categorical",
                        table.cell(row, column)
                    ),
                )),
                ((_, Some(row)), (_, Some(_))) => Err(at(
                    row,
                    format!(
                        "'{}' is a number, but column '{name}' otherwise holds text; list the \
                         column in data.csv.categorical to take its numbers as categories too",
                        table.cell(row, column)
                    ),
                )),
                ((_, None), (_, Some(_))) => Ok(ColumnKind::Categorical),
                ((_, Some(_)), (_, None)) => Ok(ColumnKind::Numeric),
                ((_, None), (_, None)) => Err(DataError::format(
                    &table.path,
                    format!("column '{name}' has no values: every cell is missing"),
                )),
            }
        })
        .collect()
}

/// A user's table read and checked, not yet encoded.
#[derive(Debug, Clone)]
pub struct TabularData {
    /// The dataset's description, with an empty `shape` (known only once the table is encoded).
    pub info: DatasetInfo,
    /// The training file's cells.
    pub table: RawTable,
    /// Position of the target column in `table`.
    pub target: usize,
    /// Each column's kind, in file order.
    pub kinds: Vec<ColumnKind>,
    /// The training file's targets, one per row.
    pub targets: crate::samples::Targets,
    /// Which cells count as missing.
    pub missing: Missing,
    /// The separate test file.
    pub test: Option<RawTable>,
}

/// What one column of a training file holds, for `anneal datasets check`.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnSummary {
    /// The column's name (from the header, or `x<i>`).
    pub name: String,
    /// What the column holds.
    pub kind: ColumnKind,
    /// Whether it is the target column.
    pub target: bool,
    /// Number of missing cells.
    pub missing: usize,
    /// Distinct values among the present cells.
    pub distinct: usize,
}

impl TabularData {
    /// Each column's kind, missing cells and distinct values.
    pub fn summary(&self) -> Vec<ColumnSummary> {
        (0..self.table.width)
            .map(|column| {
                let mut distinct = std::collections::HashSet::new();
                let mut missing = 0;
                for row in 0..self.table.rows() {
                    let cell = self.table.cell(row, column);
                    if self.missing.is(cell) {
                        missing += 1;
                    } else {
                        distinct.insert(cell);
                    }
                }
                ColumnSummary {
                    name: self.table.names[column].clone(),
                    kind: self.kinds[column],
                    target: column == self.target,
                    missing,
                    distinct: distinct.len(),
                }
            })
            .collect()
    }

    /// Reads the training file (and the test file, if the source names one), finding the
    /// target, each column's kind and the classes.
    pub fn read(source: &CsvSource) -> Result<Self> {
        let table = read_raw(&source.path, source.delimiter, source.header)?;
        check_rows(&table)?;
        let target = table.resolve(&source.target)?;
        if table.width < 2 {
            return Err(DataError::format(
                &source.path,
                "no feature columns besides the target",
            ));
        }
        let missing = Missing {
            extra: source.missing.clone(),
        };
        let kinds = column_kinds(
            &table,
            target,
            &source.categorical,
            &source.ignore,
            &missing,
        )?;
        let (targets, class_names) = parse_targets(
            &table,
            target,
            0..table.rows(),
            source.task,
            Classes::Learn,
            &missing,
        )?;
        let info = DatasetInfo {
            name: source
                .name
                .clone()
                .unwrap_or_else(|| file_stem(&source.path)),
            task: source.task,
            shape: vec![],
            class_names,
            flip_invariant: false,
        };
        let mut data = Self {
            info,
            table,
            target,
            kinds,
            targets,
            missing,
            test: None,
        };
        if let Some(path) = &source.test_path {
            let test = read_raw(path, source.delimiter, source.header)?;
            check_rows(&test)?;
            data.test = Some(test);
        }
        Ok(data)
    }

    /// Fits the encoder on `rows` of the training file and encodes the training file (all its
    /// rows, in order) and the test file.
    pub fn encode(
        &self,
        rows: &[usize],
        options: &TabularOptions,
    ) -> Result<(TabularEncoder, Samples, Option<Samples>)> {
        let encoder = TabularEncoder::fit(
            &self.table,
            self.target,
            &self.kinds,
            rows,
            options,
            &self.missing,
        )?;
        let shape = vec![encoder.width()];
        let features = encoder.encode(&self.table, &encoder.bind(&self.table)?)?;
        let all = Samples::new(shape.clone(), features, self.targets.clone());
        let test = match &self.test {
            Some(table) => {
                let binding = encoder.bind(table)?;
                let Some(target) = binding.target else {
                    return Err(DataError::format(
                        &table.path,
                        format!("the test file has no target column '{}'", encoder.target),
                    ));
                };
                let (targets, _) = parse_targets(
                    table,
                    target,
                    0..table.rows(),
                    self.info.task,
                    Classes::Known(&self.info.class_names),
                    &self.missing,
                )?;
                let features = encoder.encode(table, &binding)?;
                Some(Samples::new(shape, features, targets))
            }
            None => None,
        };
        Ok((encoder, all, test))
    }

    /// Splits (the test file is the test set when there is one), fits the encoder on the
    /// training rows (and the validation rows when a run trains on them), and encodes.
    pub fn split(
        self,
        config: &SplitConfig,
        options: &TabularOptions,
        fit_on_validation: bool,
    ) -> Result<(Splits, TabularEncoder)> {
        let plan = plan_split(&self.targets, self.test.is_some(), config)?;
        let (encoder, all, test) = self.encode(&plan.fit_rows(fit_on_validation), options)?;
        let info = DatasetInfo {
            shape: all.shape.clone(),
            ..self.info
        };
        Ok((apply_plan(info, &all, test, &plan)?, encoder))
    }
}

/// Loads a user's CSV file with the same validation as the bundled sets, encoding it with
/// statistics of all its rows (for checking a file; runs fit on their training rows).
pub fn load_csv(source: &CsvSource, options: &TabularOptions) -> Result<LoadedDataset> {
    let data = TabularData::read(source)?;
    let rows: Vec<usize> = (0..data.table.rows()).collect();
    let (_, train, test) = data.encode(&rows, options)?;
    Ok(LoadedDataset {
        info: DatasetInfo {
            shape: train.shape.clone(),
            ..data.info
        },
        train,
        test,
    })
}

/// A table with data rows, as many as a scikit-learn header declares.
fn check_rows(table: &RawTable) -> Result<()> {
    if table.rows() == 0 {
        return Err(DataError::format(&table.path, "no data rows"));
    }
    if let Some(declared) = &table.declared {
        declared.check(&table.path, table.rows(), table.width - 1)?;
    }
    Ok(())
}

pub(crate) fn file_stem(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    name.split('.').next().unwrap_or("data").to_string()
}
