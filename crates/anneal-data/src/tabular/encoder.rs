//! The fitted column encoder: what each feature column becomes (a number, a one-hot block or an
//! ordinal code), with the fill value for its missing cells. Fitted on the training rows only and
//! saved with a run, so new data is encoded exactly as the training data was.

use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};
use crate::formats::csv::{RawTable, parse_number};
use crate::tabular::{ColumnKind, Encoding, Impute, Missing, TabularOptions, UnseenCategory};

/// One feature column, fitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncodedColumn {
    /// The column's name in the training file.
    pub name: String,
    /// What the column becomes.
    #[serde(flatten)]
    pub encoding: ColumnEncoding,
}

/// How one fitted column becomes features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ColumnEncoding {
    /// A number as written; `fill` replaces a missing cell (none: a missing cell is an error).
    Numeric {
        /// The value a missing cell takes.
        fill: Option<f32>,
    },
    /// A text category. One-hot gives one feature per category (sorted); ordinal gives the
    /// category's index. `fill` is the category a missing cell takes.
    Categorical {
        /// The training rows' categories, sorted.
        categories: Vec<String>,
        /// Whether the column is encoded as one ordinal feature (else one-hot).
        ordinal: bool,
        /// The category a missing cell takes (none: a missing cell is an error).
        fill: Option<String>,
    },
}

impl ColumnEncoding {
    /// How many features the column becomes.
    pub fn width(&self) -> usize {
        match self {
            ColumnEncoding::Categorical {
                categories,
                ordinal: false,
                ..
            } => categories.len(),
            _ => 1,
        }
    }
}

/// Every feature column of a table, fitted, and how the table is laid out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TabularEncoder {
    /// The feature columns in file order (the target excluded).
    pub columns: Vec<EncodedColumn>,
    /// The target column's name (`x<i>` when the file has no header).
    pub target: String,
    /// The target's position among all columns, which identifies it in files without a header.
    pub target_position: usize,
    /// Every column of the training file in order (features, ignored columns and the target),
    /// which places them in files without a header.
    #[serde(default)]
    pub layout: Vec<String>,
    /// Columns that are not features; new data may have them, and predictions carry them.
    #[serde(default)]
    pub ignored: Vec<String>,
    /// Whether columns are matched by header name (else by position).
    pub named: bool,
    /// Which cells count as missing.
    pub missing: Missing,
    /// What a category the training rows never had becomes.
    pub unseen_category: UnseenCategory,
}

/// Where an encoder's columns are in a particular table.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    /// The table column of each encoder column.
    pub columns: Vec<usize>,
    /// The table's target column, when it has one.
    pub target: Option<usize>,
    /// The table's ignored columns (by name) that it has: `(name, table column)`.
    pub passthrough: Vec<(String, usize)>,
}

impl TabularEncoder {
    /// An encoder for a file of plain numbers with no missing cells (the bundled tables).
    pub fn numeric(features: usize, target_position: usize) -> Self {
        let names: Vec<String> = (0..=features).map(|i| format!("x{i}")).collect();
        Self {
            columns: names
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != target_position)
                .map(|(_, name)| EncodedColumn {
                    name: name.clone(),
                    encoding: ColumnEncoding::Numeric { fill: None },
                })
                .collect(),
            target: names[target_position].clone(),
            target_position,
            layout: names.clone(),
            ignored: vec![],
            named: false,
            missing: Missing::default(),
            unseen_category: UnseenCategory::Error,
        }
    }

    /// Fits every feature column of `table` on `rows` (the training rows).
    pub fn fit(
        table: &RawTable,
        target: usize,
        kinds: &[ColumnKind],
        rows: &[usize],
        options: &TabularOptions,
        missing: &Missing,
    ) -> Result<Self> {
        let mut columns = Vec::with_capacity(table.width.saturating_sub(1));
        for (column, kind) in kinds.iter().enumerate() {
            if column == target || *kind == ColumnKind::Ignored {
                continue;
            }
            let name = table.names[column].clone();
            let present = rows
                .iter()
                .map(|&row| (row, table.cell(row, column)))
                .filter(|(_, cell)| !missing.is(cell));
            let encoding = match kind {
                ColumnKind::Numeric => {
                    let values = present
                        .map(|(row, cell)| {
                            parse_number(&table.path, table.lines[row], column, cell)
                        })
                        .collect::<Result<Vec<f32>>>()?;
                    let fill = match options.impute {
                        Impute::Error => None,
                        strategy => Some(
                            numeric_fill(strategy, values)
                                .ok_or_else(|| nothing_to_learn(&table.path, &name, "impute it"))?,
                        ),
                    };
                    ColumnEncoding::Numeric { fill }
                }
                ColumnKind::Ignored => unreachable!("skipped above"),
                ColumnKind::Categorical => {
                    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
                    for (_, cell) in present {
                        *counts.entry(cell).or_default() += 1;
                    }
                    if counts.is_empty() {
                        return Err(nothing_to_learn(&table.path, &name, "learn its categories"));
                    }
                    // Text columns have no mean or median: every strategy but `error` fills in
                    // the most frequent category (the first in sorted order among ties).
                    let fill = (options.impute != Impute::Error).then(|| {
                        let top = counts.values().copied().max().unwrap_or(0);
                        counts
                            .iter()
                            .find(|(_, n)| **n == top)
                            .map(|(c, _)| c.to_string())
                            .expect("a category has the top count")
                    });
                    ColumnEncoding::Categorical {
                        categories: counts.keys().map(|c| c.to_string()).collect(),
                        ordinal: options.encoding == Encoding::Ordinal,
                        fill,
                    }
                }
            };
            columns.push(EncodedColumn { name, encoding });
        }
        Ok(Self {
            columns,
            target: table.names[target].clone(),
            target_position: target,
            layout: table.names.clone(),
            ignored: kinds
                .iter()
                .zip(&table.names)
                .filter(|(kind, _)| **kind == ColumnKind::Ignored)
                .map(|(_, name)| name.clone())
                .collect(),
            named: table.named,
            missing: missing.clone(),
            unseen_category: options.unseen_category,
        })
    }

    /// The number of features a row becomes.
    pub fn width(&self) -> usize {
        self.columns.iter().map(|c| c.encoding.width()).sum()
    }

    /// The name of each feature: the column's, or `column=category` for one-hot blocks.
    pub fn feature_names(&self) -> Vec<String> {
        let mut names = Vec::with_capacity(self.width());
        for column in &self.columns {
            match &column.encoding {
                ColumnEncoding::Categorical {
                    categories,
                    ordinal: false,
                    ..
                } => names.extend(categories.iter().map(|c| format!("{}={c}", column.name))),
                _ => names.push(column.name.clone()),
            }
        }
        names
    }

    /// Finds the encoder's columns in `table`: by name when the training file had a header
    /// (a missing column, or one the model never saw, is an error naming it), else by position.
    /// The target column and the ignored columns may be present or not.
    pub fn bind(&self, table: &RawTable) -> Result<Binding> {
        if !self.named || !table.named {
            return self.bind_by_position(table);
        }
        let expected: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
        if let Some(extra) = table.names.iter().find(|n| {
            **n != self.target && !expected.contains(&n.as_str()) && !self.ignored.contains(n)
        }) {
            return Err(DataError::format(
                &table.path,
                format!(
                    "column '{extra}' is not one the model was trained on; it takes: {} \
                     (and optionally the target '{}'{})",
                    expected.join(", "),
                    self.target,
                    if self.ignored.is_empty() {
                        String::new()
                    } else {
                        format!(" and the passed-through {}", self.ignored.join(", "))
                    }
                ),
            ));
        }
        let columns = expected
            .iter()
            .map(|name| {
                table.names.iter().position(|n| n == name).ok_or_else(|| {
                    DataError::format(
                        &table.path,
                        format!(
                            "column '{name}' is missing; the model was trained on: {}",
                            expected.join(", ")
                        ),
                    )
                })
            })
            .collect::<Result<_>>()?;
        let target = table.names.iter().position(|n| *n == self.target);
        let passthrough = table
            .names
            .iter()
            .enumerate()
            .filter(|(_, n)| self.ignored.contains(n))
            .map(|(i, n)| (n.clone(), i))
            .collect();
        Ok(Binding {
            columns,
            target,
            passthrough,
        })
    }

    /// The training file's columns in order. Pipelines written before the layout was recorded
    /// had no ignored columns: their layout is the features with the target put back.
    fn layout(&self) -> Vec<String> {
        if !self.layout.is_empty() {
            return self.layout.clone();
        }
        let mut layout: Vec<String> = self.columns.iter().map(|c| c.name.clone()).collect();
        layout.insert(self.target_position.min(layout.len()), self.target.clone());
        layout
    }

    /// A file without a header has every column of the training file in order, ignored ones
    /// included; only the target may be left out (its width says which).
    fn bind_by_position(&self, table: &RawTable) -> Result<Binding> {
        let layout = self.layout();
        let with_target = if table.width == layout.len() {
            true
        } else if table.width + 1 == layout.len() {
            false
        } else {
            let features: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
            let passed = if self.ignored.is_empty() {
                String::new()
            } else {
                format!(", then passed through: {}", self.ignored.join(", "))
            };
            return Err(DataError::format(
                &table.path,
                format!(
                    "rows have {} columns; without a header, rows need the training file's \
                     columns in order: {} ({} features: {}{passed}), the target '{}' optionally",
                    table.width,
                    layout.len() - 1,
                    features.len(),
                    features.join(", "),
                    self.target
                ),
            ));
        };
        // Where each training column sits in this table: one place to the left past the target
        // when the table has no target column.
        let mut position = std::collections::HashMap::new();
        for (at, name) in layout.iter().enumerate() {
            let shifted = if !with_target && at > self.target_position {
                at - 1
            } else {
                at
            };
            position.insert(name.as_str(), shifted);
        }
        let find = |name: &str| {
            position.get(name).copied().ok_or_else(|| {
                DataError::format(
                    &table.path,
                    format!("the model's pipeline does not place column '{name}'"),
                )
            })
        };
        Ok(Binding {
            columns: self
                .columns
                .iter()
                .map(|c| find(&c.name))
                .collect::<Result<_>>()?,
            target: with_target.then_some(self.target_position),
            passthrough: self
                .ignored
                .iter()
                .map(|n| Ok((n.clone(), find(n)?)))
                .collect::<Result<_>>()?,
        })
    }

    /// Encodes every row of `table` (bound by `binding`) into `rows × width` features, in file
    /// order, so an error names the first bad cell.
    pub fn encode(&self, table: &RawTable, binding: &Binding) -> Result<Vec<f32>> {
        let width = self.width();
        let mut out = vec![0.0f32; table.rows() * width];
        for (row, features) in out.chunks_exact_mut(width.max(1)).enumerate() {
            let mut at = 0;
            for (column, &position) in self.columns.iter().zip(&binding.columns) {
                let cell = table.cell(row, position);
                let fail = |message: String| DataError::Malformed {
                    path: table.path.clone(),
                    line: table.lines[row],
                    column: position + 1,
                    message,
                };
                let missing = self.missing.is(cell);
                match &column.encoding {
                    ColumnEncoding::Numeric { fill } => {
                        features[at] = match (missing, fill) {
                            (false, _) => {
                                parse_number(&table.path, table.lines[row], position, cell)?
                            }
                            (true, Some(fill)) => *fill,
                            (true, None) => return Err(fail(missing_message(&column.name, cell))),
                        };
                    }
                    ColumnEncoding::Categorical {
                        categories,
                        ordinal,
                        fill,
                    } => {
                        let text = match (missing, fill) {
                            (false, _) => cell,
                            (true, Some(fill)) => fill.as_str(),
                            (true, None) => return Err(fail(missing_message(&column.name, cell))),
                        };
                        match (
                            categories.binary_search_by(|c| c.as_str().cmp(text)),
                            ordinal,
                        ) {
                            (Ok(index), false) => features[at + index] = 1.0,
                            (Ok(index), true) => features[at] = index as f32,
                            (Err(_), _) if self.unseen_category == UnseenCategory::Zeros => {
                                // One-hot: the block stays all zero. Ordinal: -1, below every
                                // known code.
                                if *ordinal {
                                    features[at] = -1.0;
                                }
                            }
                            (Err(_), _) => {
                                return Err(fail(unseen_message(&column.name, text, categories)));
                            }
                        }
                    }
                }
                at += column.encoding.width();
            }
        }
        Ok(out)
    }
}

fn numeric_fill(strategy: Impute, mut values: Vec<f32>) -> Option<f32> {
    if values.is_empty() {
        return None;
    }
    Some(match strategy {
        Impute::Error => unreachable!("no fill without imputation"),
        Impute::Mean => {
            (values.iter().map(|&v| v as f64).sum::<f64>() / values.len() as f64) as f32
        }
        Impute::Median => {
            values.sort_by(f32::total_cmp);
            let n = values.len();
            if n % 2 == 1 {
                values[n / 2]
            } else {
                ((values[n / 2 - 1] as f64 + values[n / 2] as f64) / 2.0) as f32
            }
        }
        Impute::MostFrequent => {
            // The smallest of the most frequent values, so ties resolve the same way each time.
            values.sort_by(f32::total_cmp);
            let mut best = (values[0], 0usize);
            for run in values.chunk_by(|a, b| a == b) {
                if run.len() > best.1 {
                    best = (run[0], run.len());
                }
            }
            best.0
        }
    })
}

fn nothing_to_learn(path: &std::path::Path, column: &str, purpose: &str) -> DataError {
    DataError::format(
        path,
        format!(
            "column '{column}' has no values in the training rows to {purpose} from; \
             fill it in or drop the column"
        ),
    )
}

fn missing_message(column: &str, cell: &str) -> String {
    let shown = if cell.is_empty() { "empty" } else { cell };
    format!(
        "missing value ({shown}) in column '{column}'; set data.impute to \"mean\", \"median\" \
         or \"most_frequent\" to fill missing cells from the training rows"
    )
}

fn unseen_message(column: &str, value: &str, categories: &[String]) -> String {
    const SHOWN: usize = 12;
    let mut known = categories
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if categories.len() > SHOWN {
        known.push_str(&format!(" and {} more", categories.len() - SHOWN));
    }
    format!(
        "'{value}' in column '{column}' is a category the training rows never had (they had: \
         {known}); set data.unseen_category = \"zeros\" to encode unseen categories as zeros"
    )
}
