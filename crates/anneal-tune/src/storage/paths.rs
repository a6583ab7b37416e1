//! Run folders stored relative to a study's home folder (a database file's folder, an artifacts
//! folder), on real (canonical) paths.

use std::path::{Path, PathBuf};

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
        trial.run_dir = Some(home.join(dir).to_string_lossy().into_owned());
    }
    trial
}
