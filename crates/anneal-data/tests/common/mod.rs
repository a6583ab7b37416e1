#![allow(dead_code)]

use std::path::{Path, PathBuf};

use anneal_data::formats::csv::{Delimiter, Header, TargetColumn};
use anneal_data::{Catalog, CsvSource, Task};

/// The repository's bundled datasets folder.
pub fn data_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets")
}

pub fn catalog() -> Catalog {
    Catalog::open(&data_root()).expect("bundled datasets open")
}

/// A scratch copy of one bundled dataset folder, for tests that damage files.
pub fn scratch_copy(name: &str) -> (tempfile::TempDir, Catalog) {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join(name);
    std::fs::create_dir(&target).unwrap();
    for entry in std::fs::read_dir(data_root().join(name)).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), target.join(entry.file_name())).unwrap();
    }
    let catalog = Catalog::open(dir.path()).unwrap();
    (dir, catalog)
}

/// Writes `text` to `dir/name`.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A comma-separated file with a header of names, every other setting at its default.
pub fn csv_source(path: PathBuf, task: Task, target: TargetColumn) -> CsvSource {
    CsvSource {
        path,
        test_path: None,
        task,
        target,
        delimiter: Delimiter::Comma,
        header: Header::Names,
        categorical: vec![],
        ignore: vec![],
        missing: vec![],
        name: None,
    }
}
