//! Removing a deleted study's run folders. The folders a study's trials name come from its
//! database, which anyone who can write a row controls, so a folder is removed only when it is
//! plainly one of this study's run folders: a `trial-<n>` folder (as [`crate::training`] and
//! [`crate::command`] name them) of trial `n`, directly inside `<runs_dir>/<study>` for a runs
//! folder the user named, with symbolic links followed before the check. Anything else is left
//! where it is and reported.

use std::path::{Path, PathBuf};

use anneal_tune::TrialRecord;

/// What [`remove_run_folders`] did.
#[derive(Debug, Default, PartialEq)]
pub struct RemovedRuns {
    /// Run folders removed.
    pub removed: Vec<PathBuf>,
    /// Folders the study names but that were left, each with the reason.
    pub left: Vec<(PathBuf, String)>,
}

/// Removes the run folders of `trials` (of study `study`) that lie in `<runs_dir>/<study>` for
/// one of `runs_dirs`, then that folder itself where it is left empty. Folders that do not
/// exist any more are skipped silently.
pub fn remove_run_folders(
    study: &str,
    trials: &[TrialRecord],
    runs_dirs: &[PathBuf],
) -> std::io::Result<RemovedRuns> {
    let homes: Vec<PathBuf> = runs_dirs
        .iter()
        .filter_map(|dir| std::fs::canonicalize(dir.join(study)).ok())
        .collect();
    let mut outcome = RemovedRuns::default();
    for trial in trials {
        let Some(named) = trial.run_dir.as_deref().map(PathBuf::from) else {
            continue;
        };
        let Ok(real) = std::fs::canonicalize(&named) else {
            continue; // gone already
        };
        match refusal(&real, trial.number, &homes) {
            Some(reason) => outcome.left.push((named, reason)),
            None => {
                std::fs::remove_dir_all(&real)?;
                outcome.removed.push(real);
            }
        }
    }
    for home in &homes {
        // Only when empty: the retrained best run and the user's own files stay.
        let _ = std::fs::remove_dir(home);
    }
    Ok(outcome)
}

/// Why `real` (canonical) is not trial `number`'s run folder in one of `homes`, if it is not.
fn refusal(real: &Path, number: usize, homes: &[PathBuf]) -> Option<String> {
    if !real.is_dir() {
        return Some("not a folder".into());
    }
    if !real.parent().is_some_and(|p| homes.iter().any(|h| h == p)) {
        return Some(match homes.is_empty() {
            true => "the study has no runs folder here".into(),
            false => format!(
                "outside the study's runs folder {}",
                homes
                    .iter()
                    .map(|h| h.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        });
    }
    let name = real
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if !is_run_folder_name(name, number) {
        return Some(format!(
            "not named like trial {number}'s run folder (trial-{number})"
        ));
    }
    None
}

/// `trial-<number>`, or `trial-<number>-<k>` where an older folder held the plain name.
fn is_run_folder_name(name: &str, number: usize) -> bool {
    let Some(rest) = name.strip_prefix(&format!("trial-{number}")) else {
        return false;
    };
    rest.is_empty()
        || rest
            .strip_prefix('-')
            .is_some_and(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_folder_names_name_their_trial() {
        assert!(is_run_folder_name("trial-3", 3));
        assert!(is_run_folder_name("trial-3-2", 3));
        assert!(!is_run_folder_name("trial-31", 3));
        assert!(!is_run_folder_name("trial-3-", 3));
        assert!(!is_run_folder_name("trial-3-x", 3));
        assert!(!is_run_folder_name("victim", 3));
    }
}
