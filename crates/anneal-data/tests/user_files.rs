//! A user's own CSV and IDX files go through the same loaders and give precise errors.

mod common;

use std::io::Write;
use std::path::Path;

use anneal_data::formats::csv::{Delimiter, Header, TargetColumn};
use common::{csv_source, write};

use anneal_data::{CsvSource, DataError, IdxSource, LoadedDataset, Targets, Task, load_idx};

/// A user's CSV encoded with the default options (missing cells and unseen categories are errors).
fn load_csv(source: &CsvSource) -> anneal_data::Result<LoadedDataset> {
    anneal_data::load_csv(source, &Default::default())
}

fn csv(path: std::path::PathBuf, task: Task, target: TargetColumn) -> CsvSource {
    csv_source(path, task, target)
}

#[test]
fn csv_with_named_text_target_maps_labels_to_classes() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "pets.csv",
        "species,weight,height\ncat,4.0,25\ndog,30,60\ncat,3.5,24\n",
    );
    let data = load_csv(&csv(
        path,
        Task::Classification,
        TargetColumn::Name("species".into()),
    ))
    .unwrap();
    assert_eq!(data.info.name, "pets");
    assert_eq!(data.info.class_names, ["cat", "dog"]);
    assert_eq!(data.train.targets, Targets::Classes(vec![0, 1, 0]));
    assert_eq!(data.train.features, [4.0, 25.0, 30.0, 60.0, 3.5, 24.0]);
    assert_eq!(data.info.shape, [2]);
}

#[test]
fn csv_regression_target_by_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "houses.csv",
        "price,rooms,area\n100.5,3,70\n250,5,120\n",
    );
    let data = load_csv(&csv(path, Task::Regression, TargetColumn::Index(0))).unwrap();
    assert_eq!(data.train.targets, Targets::Values(vec![100.5, 250.0]));
    assert_eq!(data.train.features, [3.0, 70.0, 5.0, 120.0]);
}

#[test]
fn malformed_cell_names_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "bad.csv", "a,b,label\n1,2,0\n3,oops,1\n");
    let err = load_csv(&csv(path, Task::Classification, TargetColumn::default())).unwrap_err();
    match &err {
        DataError::Malformed { line, column, .. } => assert_eq!((*line, *column), (3, 2)),
        other => panic!("expected a malformed-row error, got {other:?}"),
    }
    assert!(
        err.to_string()
            .contains("bad.csv, line 3, column 2: 'oops' is not a number"),
        "{err}"
    );
}

#[test]
fn short_row_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "short.csv", "a,b,label\n1,2,0\n3,1\n4,5,1\n");
    let msg = load_csv(&csv(path, Task::Classification, TargetColumn::default()))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("line 3") && msg.contains("row has 2 columns, expected 3"),
        "{msg}"
    );
}

#[test]
fn unknown_target_column_lists_the_columns() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "cols.csv", "a,b,label\n1,2,0\n3,4,1\n");
    let msg = load_csv(&csv(
        path,
        Task::Classification,
        TargetColumn::Name("class".into()),
    ))
    .unwrap_err()
    .to_string();
    assert!(
        msg.contains("no column named 'class'") && msg.contains("a, b, label"),
        "{msg}"
    );
}

#[test]
fn non_numeric_regression_target_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "r.csv", "x,y\n1,2.5\n2,high\n");
    let msg = load_csv(&csv(path, Task::Regression, TargetColumn::default()))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("line 3, column 2") && msg.contains("'high'"),
        "{msg}"
    );
}

#[test]
fn missing_csv_names_the_path() {
    let msg = load_csv(&csv(
        "/nonexistent/data.csv".into(),
        Task::Classification,
        TargetColumn::default(),
    ))
    .unwrap_err()
    .to_string();
    assert!(msg.contains("/nonexistent/data.csv"), "{msg}");
}

fn idx_bytes(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = magic.to_be_bytes().to_vec();
    for d in dims {
        out.extend(d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn user_idx_files_load_raw_or_gzipped() {
    let dir = tempfile::tempdir().unwrap();
    let pixels: Vec<u8> = (0..3 * 2 * 2).map(|i| i as u8 * 10).collect();
    let images = dir.path().join("img.idx.gz");
    let labels = dir.path().join("lab.idx");
    std::fs::write(&images, gzip(&idx_bytes(0x0803, &[3, 2, 2], &pixels))).unwrap();
    std::fs::write(&labels, idx_bytes(0x0801, &[3], &[2, 0, 1])).unwrap();
    let data = load_idx(&IdxSource {
        train_images: images,
        train_labels: labels,
        test_images: None,
        test_labels: None,
        flip_invariant: false,
        name: Some("tiny".into()),
    })
    .unwrap();
    assert_eq!(data.info.shape, [1, 2, 2]);
    assert_eq!(data.info.num_classes(), 3);
    assert_eq!(data.train.row(1), &[40.0, 50.0, 60.0, 70.0]);
    assert_eq!(data.train.targets, Targets::Classes(vec![2, 0, 1]));
}

#[test]
fn idx_errors_are_precise() {
    let dir = tempfile::tempdir().unwrap();
    let labels = dir.path().join("lab.idx");
    std::fs::write(&labels, idx_bytes(0x0801, &[2], &[0, 1])).unwrap();
    let source = |images: std::path::PathBuf| IdxSource {
        train_images: images,
        train_labels: labels.clone(),
        test_images: None,
        test_labels: None,
        flip_invariant: false,
        name: None,
    };

    let truncated = dir.path().join("truncated.idx");
    std::fs::write(&truncated, idx_bytes(0x0803, &[2, 2, 2], &[1, 2, 3])).unwrap();
    let msg = load_idx(&source(truncated)).unwrap_err().to_string();
    assert!(
        msg.contains("truncated.idx") && msg.contains("needs 8 data bytes, file has 3 (truncated)"),
        "{msg}"
    );

    let bad_magic = dir.path().join("magic.idx");
    std::fs::write(&bad_magic, idx_bytes(0x0D03, &[2, 2, 2], &[0; 8])).unwrap();
    let msg = load_idx(&source(bad_magic)).unwrap_err().to_string();
    assert!(msg.contains("element type 0x0d"), "{msg}");

    let wrong_count = dir.path().join("three.idx");
    std::fs::write(&wrong_count, idx_bytes(0x0803, &[3, 2, 2], &[0; 12])).unwrap();
    let msg = load_idx(&source(wrong_count)).unwrap_err().to_string();
    assert!(
        msg.contains("lab.idx") && msg.contains("expected 3 labels"),
        "{msg}"
    );

    let cut_gzip = dir.path().join("cut.idx.gz");
    let full = gzip(&idx_bytes(0x0803, &[2, 2, 2], &[7; 8]));
    std::fs::write(&cut_gzip, &full[..full.len() - 6]).unwrap();
    let msg = load_idx(&source(cut_gzip)).unwrap_err().to_string();
    assert!(
        msg.contains("cut.idx.gz") && msg.contains("truncated or corrupt"),
        "{msg}"
    );
}

#[test]
fn line_numbers_survive_crlf_blank_lines_and_a_byte_order_mark() {
    let dir = tempfile::tempdir().unwrap();
    let text = "\u{feff}a,b,label\r\n1,2,0\r\n\r\n\r\n3,4,1\r\n5,x,0\r\n";
    let path = write(dir.path(), "crlf.csv", text);
    let err = load_csv(&csv(path, Task::Classification, TargetColumn::default())).unwrap_err();
    match &err {
        DataError::Malformed { line, column, .. } => assert_eq!((*line, *column), (6, 2), "{err}"),
        other => panic!("expected a malformed-row error, got {other:?}"),
    }

    // The same file without the bad row loads, and the BOM is not part of the first name.
    let path = write(
        dir.path(),
        "ok.csv",
        "\u{feff}a,b,label\r\n1,2,0\r\n\r\n3,4,1\r\n",
    );
    let data = load_csv(&csv(
        path,
        Task::Classification,
        TargetColumn::Name("label".into()),
    ))
    .unwrap();
    assert_eq!(data.train.features, [1.0, 2.0, 3.0, 4.0]);
    let table = anneal_data::formats::csv::parse_table(
        Path::new("bom.csv"),
        "\u{feff}a,b\n1,2\n".as_bytes(),
        Delimiter::Comma,
        Header::Names,
        None,
    )
    .unwrap();
    assert_eq!(table.feature_names, ["a", "b"]);
}

#[test]
fn a_row_of_empty_cells_is_an_error_not_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "holes.csv", "a,b,label\n1,2,0\n,,\n3,4,1\n");
    let msg = load_csv(&csv(path, Task::Classification, TargetColumn::default()))
        .unwrap_err()
        .to_string();
    // The target is read first, and a missing target is never imputed.
    assert!(
        msg.contains("line 3, column 3") && msg.contains("is missing"),
        "{msg}"
    );
}

#[test]
fn integer_labels_map_to_dense_classes() {
    let dir = tempfile::tempdir().unwrap();
    // Labels 0..k keep their values.
    let path = write(dir.path(), "dense.csv", "x,y\n1,0\n2,2\n3,1\n");
    let data = load_csv(&csv(path, Task::Classification, TargetColumn::default())).unwrap();
    assert_eq!(data.info.class_names, ["0", "1", "2"]);
    assert_eq!(data.train.targets, Targets::Classes(vec![0, 2, 1]));

    // One-based, negative and huge labels cost no empty classes (and no huge allocation).
    let path = write(
        dir.path(),
        "sparse.csv",
        "x,y\n1,4294967295\n2,-1\n3,7\n4,4294967295\n",
    );
    let data = load_csv(&csv(path, Task::Classification, TargetColumn::default())).unwrap();
    assert_eq!(data.info.class_names, ["-1", "7", "4294967295"]);
    assert_eq!(data.train.targets, Targets::Classes(vec![2, 0, 1, 2]));
}

#[test]
fn concatenated_gzip_members_are_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = gzip(b"a,b,label\n1,2,0\n");
    bytes.extend(gzip(b"3,4,1\n"));
    let path = dir.path().join("two.csv.gz");
    std::fs::write(&path, bytes).unwrap();
    let data = load_csv(&csv(path, Task::Classification, TargetColumn::default())).unwrap();
    assert_eq!(data.train.len(), 2);
}

#[test]
fn degenerate_idx_files_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let source = |images: std::path::PathBuf, labels: std::path::PathBuf| IdxSource {
        train_images: images,
        train_labels: labels,
        test_images: None,
        test_labels: None,
        flip_invariant: false,
        name: None,
    };
    let labels = dir.path().join("lab.idx");
    std::fs::write(&labels, idx_bytes(0x0801, &[2], &[0, 1])).unwrap();

    let empty_axis = dir.path().join("zero.idx");
    std::fs::write(&empty_axis, idx_bytes(0x0803, &[2, 0, 4], &[])).unwrap();
    let msg = load_idx(&source(empty_axis, labels.clone()))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("zero.idx") && msg.contains("axis 1 is 0"),
        "{msg}"
    );

    let huge = dir.path().join("huge.idx");
    std::fs::write(
        &huge,
        idx_bytes(0x0804, &[u32::MAX, u32::MAX, u32::MAX, u32::MAX], &[]),
    )
    .unwrap();
    let msg = load_idx(&source(huge, labels.clone()))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("more elements than can be addressed"), "{msg}");

    let images = dir.path().join("img.idx");
    std::fs::write(&images, idx_bytes(0x0803, &[2, 1, 1], &[5, 6])).unwrap();
    let one_class = dir.path().join("one.idx");
    std::fs::write(&one_class, idx_bytes(0x0801, &[2], &[3, 3])).unwrap();
    let msg = load_idx(&source(images, one_class))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("one.idx") && msg.contains("at least 2 classes"),
        "{msg}"
    );
}
