//! Delimited text tables: comma-separated (read with the `csv` crate) or whitespace-separated,
//! optionally gzipped, with a header of column names, scikit-learn's count header, or none.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};
use crate::formats::{maybe_gunzip, read_file};

/// What separates a table's cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delimiter {
    /// Commas (the default).
    #[default]
    Comma,
    /// Semicolons.
    Semicolon,
    /// Tabs.
    Tab,
    /// Any run of spaces or tabs.
    Whitespace,
}

/// What a table's first line holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Header {
    /// The first line names the columns.
    #[default]
    Names,
    /// No header: every line is data.
    None,
    /// scikit-learn's bundled files: `n_samples,n_features,class name 0,class name 1,...`.
    Sklearn,
}

/// Which column holds the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TargetColumn {
    /// Zero-based column index.
    Index(usize),
    /// `"last"`, `"first"`, or a column name from the header.
    Name(String),
}

impl Default for TargetColumn {
    fn default() -> Self {
        TargetColumn::Name("last".into())
    }
}

/// A parsed table: numeric features plus the raw text of the target column (if any), so the
/// caller decides whether targets are class labels or real values.
#[derive(Debug, Clone)]
pub struct Table {
    /// Each feature column's name: from the header, or `x<i>` (its column index) without
    /// a header of names.
    pub feature_names: Vec<String>,
    /// Feature columns per row.
    pub num_features: usize,
    /// Row-major `rows × num_features`.
    pub features: Vec<f32>,
    /// `(line number, text)` of each row's target cell.
    pub targets: Vec<(u64, String)>,
    /// The target column's position, for error messages.
    pub target_column: Option<usize>,
    /// From a scikit-learn header: declared sample and feature counts and class names.
    pub declared: Option<SklearnHeader>,
}

/// The header line of scikit-learn's bundled files.
#[derive(Debug, Clone)]
pub struct SklearnHeader {
    /// The declared number of data rows.
    pub samples: usize,
    /// The declared number of feature columns.
    pub features: usize,
    /// The class names that follow the two counts.
    pub class_names: Vec<String>,
}

impl Table {
    /// Number of data rows.
    pub fn rows(&self) -> usize {
        self.features.len() / self.num_features.max(1)
    }
}

/// Reads `path` (gzipped or not). With `target = None` every column is a feature (targets come
/// from another file).
pub fn read_table(
    path: &Path,
    delimiter: Delimiter,
    header: Header,
    target: Option<&TargetColumn>,
) -> Result<Table> {
    let bytes = maybe_gunzip(path, read_file(path)?)?;
    parse_table(path, &bytes, delimiter, header, target)
}

/// [`read_table`] on bytes already read and decompressed; `path` only names the file in
/// errors.
pub fn parse_table(
    path: &Path,
    bytes: &[u8],
    delimiter: Delimiter,
    header: Header,
    target: Option<&TargetColumn>,
) -> Result<Table> {
    let raw = parse_raw(path, bytes, delimiter, header)?;
    let target_column = target
        .map(|t| resolve_target(path, t, raw.named.then_some(&raw.names[..]), raw.width))
        .transpose()?;
    let num_features = raw.width - usize::from(target_column.is_some());
    if num_features == 0 {
        return Err(DataError::format(
            path,
            "no feature columns besides the target",
        ));
    }
    let feature_names = raw
        .names
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != target_column)
        .map(|(_, n)| n.clone())
        .collect();

    let mut features = Vec::with_capacity(raw.rows() * num_features);
    let mut targets = Vec::new();
    for row in 0..raw.rows() {
        let line = raw.lines[row];
        for (column, cell) in raw.row(row).iter().enumerate() {
            if Some(column) == target_column {
                targets.push((line, cell.clone()));
                continue;
            }
            features.push(parse_number(path, line, column, cell)?);
        }
    }

    let table = Table {
        feature_names,
        num_features,
        features,
        targets,
        target_column,
        declared: raw.declared,
    };
    if let Some(declared) = &table.declared {
        declared.check(path, table.rows(), table.num_features)?;
    }
    Ok(table)
}

impl SklearnHeader {
    /// The rows and feature columns a file has against those its header declares.
    pub fn check(&self, path: &Path, rows: usize, features: usize) -> Result<()> {
        if self.samples != rows {
            return Err(DataError::Count {
                path: path.to_path_buf(),
                what: "data rows (as its header declares)".into(),
                expected: self.samples,
                found: rows,
            });
        }
        if self.features != features {
            return Err(DataError::Count {
                path: path.to_path_buf(),
                what: "feature columns (as its header declares)".into(),
                expected: self.features,
                found: features,
            });
        }
        Ok(())
    }
}

/// A feature cell as a finite number. Training, evaluation and prediction all read numbers
/// through here, so the same text always becomes the same `f32`.
pub fn parse_number(path: &Path, line: u64, column: usize, cell: &str) -> Result<f32> {
    let value: f32 = cell.parse().map_err(|_| DataError::Malformed {
        path: path.to_path_buf(),
        line,
        column: column + 1,
        message: format!("'{cell}' is not a number"),
    })?;
    if !value.is_finite() {
        return Err(DataError::Malformed {
            path: path.to_path_buf(),
            line,
            column: column + 1,
            message: format!("'{cell}' is not a finite number"),
        });
    }
    Ok(value)
}

/// A table as text: every cell as written (trimmed), before any column is interpreted.
#[derive(Debug, Clone)]
pub struct RawTable {
    /// The file the table was read from.
    pub path: PathBuf,
    /// Every column's name: from the header, or `x0`, `x1`… when there is none.
    pub names: Vec<String>,
    /// Whether the names come from a header line.
    pub named: bool,
    /// Number of columns in every row.
    pub width: usize,
    /// The 1-based line of each row.
    pub lines: Vec<u64>,
    /// Row-major `rows × width`.
    pub cells: Vec<String>,
    /// The scikit-learn header, when the file has one.
    pub declared: Option<SklearnHeader>,
}

impl RawTable {
    /// Number of data rows.
    pub fn rows(&self) -> usize {
        self.lines.len()
    }

    /// The cells of data row `row`.
    pub fn row(&self, row: usize) -> &[String] {
        &self.cells[row * self.width..(row + 1) * self.width]
    }

    /// The text of one cell.
    pub fn cell(&self, row: usize, column: usize) -> &str {
        &self.cells[row * self.width + column]
    }

    /// The position of the column `target` names.
    pub fn resolve(&self, target: &TargetColumn) -> Result<usize> {
        resolve_target(
            &self.path,
            target,
            self.named.then_some(&self.names[..]),
            self.width,
        )
    }
}

/// Reads `path` (gzipped or not) as text cells, checking that every row has the header's width.
pub fn read_raw(path: &Path, delimiter: Delimiter, header: Header) -> Result<RawTable> {
    let bytes = maybe_gunzip(path, read_file(path)?)?;
    parse_raw(path, &bytes, delimiter, header)
}

/// [`read_raw`] on bytes already read and decompressed; `path` names the file in errors
/// and in the table.
pub fn parse_raw(
    path: &Path,
    bytes: &[u8],
    delimiter: Delimiter,
    header: Header,
) -> Result<RawTable> {
    // Spreadsheet exports often start with a UTF-8 byte-order mark; it is not part of the header.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let records = split_records(path, bytes, delimiter)?;
    let mut records = records.into_iter();

    let mut declared = None;
    let mut names: Option<Vec<String>> = None;
    match header {
        Header::None => {}
        Header::Names => {
            let (_, cells) = records
                .next()
                .ok_or_else(|| DataError::format(path, "file is empty: expected a header line"))?;
            names = Some(cells);
        }
        Header::Sklearn => {
            let (line, cells) = records
                .next()
                .ok_or_else(|| DataError::format(path, "file is empty: expected a header line"))?;
            declared = Some(parse_sklearn_header(path, line, &cells)?);
        }
    }

    let mut records = records.peekable();
    let width = match (&names, records.peek()) {
        (Some(n), _) => n.len(),
        (None, Some((_, cells))) => cells.len(),
        (None, None) => return Err(DataError::format(path, "file has no data rows")),
    };
    if let Some(names) = &names {
        let mut seen = std::collections::HashSet::new();
        if let Some(twice) = names.iter().find(|n| !seen.insert(n.as_str())) {
            return Err(DataError::format(
                path,
                format!("the header names column '{twice}' twice; column names must be unique"),
            ));
        }
    }
    let mut lines = Vec::new();
    let mut cells = Vec::new();
    for (line, row) in records {
        if row.len() != width {
            return Err(DataError::Malformed {
                path: path.to_path_buf(),
                line,
                column: row.len().min(width) + 1,
                message: format!("row has {} columns, expected {width}", row.len()),
            });
        }
        lines.push(line);
        cells.extend(row);
    }
    Ok(RawTable {
        path: path.to_path_buf(),
        named: names.is_some(),
        names: names.unwrap_or_else(|| (0..width).map(|i| format!("x{i}")).collect()),
        width,
        lines,
        cells,
        declared,
    })
}

/// A file of one value per line (e.g. targets kept apart from the features): `(line, text)` pairs.
pub fn parse_column(path: &Path, bytes: &[u8]) -> Result<Vec<(u64, String)>> {
    split_records(path, bytes, Delimiter::Whitespace)?
        .into_iter()
        .map(|(line, cells)| match cells.as_slice() {
            [cell] => Ok((line, cell.clone())),
            _ => Err(DataError::Malformed {
                path: path.to_path_buf(),
                line,
                column: 2,
                message: format!("expected one value per line, found {}", cells.len()),
            }),
        })
        .collect()
}

/// Splits the text into non-empty records with their 1-based line numbers.
fn split_records(
    path: &Path,
    bytes: &[u8],
    delimiter: Delimiter,
) -> Result<Vec<(u64, Vec<String>)>> {
    let byte = match delimiter {
        Delimiter::Comma => b',',
        Delimiter::Semicolon => b';',
        Delimiter::Tab => b'\t',
        Delimiter::Whitespace => {
            let text = std::str::from_utf8(bytes)
                .map_err(|e| DataError::format(path, format!("not UTF-8 text: {e}")))?;
            return Ok(text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
                .map(|(i, l)| {
                    (
                        i as u64 + 1,
                        l.split_whitespace().map(str::to_string).collect(),
                    )
                })
                .collect());
        }
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(byte)
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    // The csv crate's own line counter drifts on CRLF files and blank lines, so line numbers come
    // from each record's byte offset instead.
    let mut lines = LineCounter::new(bytes);
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| lines.line_at(p.byte()));
            let column = match e.kind() {
                csv::ErrorKind::Utf8 { err, .. } => err.field() + 1,
                _ => 1,
            };
            DataError::Malformed {
                path: path.to_path_buf(),
                line,
                column,
                message: e.to_string(),
            }
        })?;
        // Only truly blank lines are skipped; a row of empty cells is an error further on.
        if record.len() == 1 && record[0].is_empty() {
            continue;
        }
        let line = record.position().map_or(0, |p| lines.line_at(p.byte()));
        out.push((line, record.iter().map(str::to_string).collect()));
    }
    Ok(out)
}

/// 1-based line numbers from byte offsets, for offsets that only grow.
struct LineCounter<'a> {
    bytes: &'a [u8],
    offset: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            offset: 0,
            line: 1,
        }
    }

    /// The line where the text at `byte` starts; line breaks at `byte` itself (blank lines the
    /// reader skipped before a record) are stepped over.
    fn line_at(&mut self, byte: u64) -> u64 {
        let mut end = (byte as usize).min(self.bytes.len());
        while end < self.bytes.len() && matches!(self.bytes[end], b'\r' | b'\n') {
            end += 1;
        }
        if end > self.offset {
            self.line += self.bytes[self.offset..end]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64;
            self.offset = end;
        }
        self.line
    }
}

fn parse_sklearn_header(path: &Path, line: u64, cells: &[String]) -> Result<SklearnHeader> {
    let count = |i: usize, what: &str| -> Result<usize> {
        cells
            .get(i)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| DataError::Malformed {
                path: path.to_path_buf(),
                line,
                column: i + 1,
                message: format!("expected the {what} as an integer in scikit-learn's header"),
            })
    };
    Ok(SklearnHeader {
        samples: count(0, "number of samples")?,
        features: count(1, "number of features")?,
        class_names: cells[2..].to_vec(),
    })
}

fn resolve_target(
    path: &Path,
    target: &TargetColumn,
    names: Option<&[String]>,
    width: usize,
) -> Result<usize> {
    let index = match target {
        TargetColumn::Index(i) => *i,
        TargetColumn::Name(n) if n == "last" => width - 1,
        TargetColumn::Name(n) if n == "first" => 0,
        TargetColumn::Name(n) => {
            let names = names.ok_or_else(|| {
                DataError::config(
                    "target",
                    format!("column '{n}' given by name, but {} has no header of names; use an index, \"first\" or \"last\"", path.display()),
                )
            })?;
            names.iter().position(|c| c == n).ok_or_else(|| {
                DataError::config(
                    "target",
                    format!(
                        "no column named '{n}' in {}; columns are: {}",
                        path.display(),
                        names.join(", ")
                    ),
                )
            })?
        }
    };
    if index >= width {
        return Err(DataError::config(
            "target",
            format!(
                "column index {index} is out of range: {} has {width} columns",
                path.display()
            ),
        ));
    }
    Ok(index)
}
