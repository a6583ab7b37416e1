//! Run folders stored relative to a study's home folder (a database file's folder, an artifacts
//! folder), on real (canonical) paths.

use std::path::{Component, Path, PathBuf};

use super::TrialRecord;

/// `path` made canonical as far as it exists (its nearest existing ancestor resolved, the rest
/// appended), so a folder not made yet is still compared on real folders.
pub(crate) fn canonical(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = std::fs::canonicalize(existing) {
            return rest.iter().rev().fold(real, |p, part| p.join(part));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return absolute,
        }
    }
}

/// `path` relative to `base` (both canonical): up from `base` to their common ancestor, then
/// down. Hand-written: two lines of component arithmetic, not worth a dependency.
pub(crate) fn relative_path(path: &Path, base: &Path) -> Option<PathBuf> {
    let (path, base): (Vec<_>, Vec<_>) = (path.components().collect(), base.components().collect());
    if path.first() != base.first() {
        return None; // another root or drive
    }
    let common = path.iter().zip(&base).take_while(|(a, b)| a == b).count();
    let mut relative = PathBuf::new();
    for _ in common..base.len() {
        relative.push("..");
    }
    relative.extend(&path[common..]);
    Some(relative)
}

/// A trial as read, its stored run folder made absolute again against `home` where relative.
pub(crate) fn resolve_run_dir(mut trial: TrialRecord, home: &Path) -> TrialRecord {
    if let Some(dir) = trial
        .run_dir
        .as_deref()
        .filter(|d| Path::new(d).is_relative())
    {
        trial.run_dir = Some(
            join_lexically(home, Path::new(dir))
                .to_string_lossy()
                .into_owned(),
        );
    }
    trial
}

/// `home` joined with `dir`, its `.` and `..` parts resolved by name (`/a/studies` and
/// `../runs/x` give `/a/runs/x`). Sound without touching the disk because `home` is canonical
/// (no symbolic link to climb out of) and stored paths only climb before descending
/// ([`relative_path`]).
fn join_lexically(home: &Path, dir: &Path) -> PathBuf {
    let mut joined = home.to_path_buf();
    for part in dir.components() {
        match part {
            Component::CurDir => {}
            // At the root, `..` stays there, as the kernel does.
            Component::ParentDir => {
                joined.pop();
            }
            other => joined.push(other),
        }
    }
    joined
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::TrialState;

    #[test]
    fn a_stored_run_folder_reads_back_without_dot_dot() {
        let trial = |dir: &str| TrialRecord {
            cause: None,
            retried_as: None,
            number: 0,
            state: TrialState::Complete,
            params: Vec::new(),
            distributions: Vec::new(),
            value: Some(1.0),
            values: Vec::new(),
            constraints: Vec::new(),
            intermediate: Vec::new(),
            started: 0.0,
            finished: None,
            running_seconds: 0.0,
            message: None,
            run_dir: Some(dir.into()),
            owner: None,
        };
        let home = Path::new("/work/project/studies");
        let read = |dir: &str| resolve_run_dir(trial(dir), home).run_dir.unwrap();
        assert_eq!(read("../runs/s/trial-0"), "/work/project/runs/s/trial-0");
        assert_eq!(read("./trial-1"), "/work/project/studies/trial-1");
        assert_eq!(read("../../../../x"), "/x");
        assert_eq!(
            read("/elsewhere/../kept"),
            "/elsewhere/../kept",
            "absolute: as stored"
        );
        // What relative_path writes reads back as the folder it was given.
        let folder = Path::new("/work/project/runs/s/trial-2");
        let stored = relative_path(folder, home).unwrap();
        assert_eq!(read(stored.to_str().unwrap()), folder.to_str().unwrap());
    }
}
