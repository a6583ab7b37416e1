//! Study names. A name becomes a folder (`runs/<study>/`) and a file (`studies/<study>.html`),
//! so unlike Optuna, which takes any string, anneal takes only names that are one plain path
//! component: nothing a name does can reach outside the folders it is joined to.

use crate::error::{Result, TuneError};

/// The longest study name, in characters.
pub const MAX_STUDY_NAME: usize = 128;

/// Checks that `name` can name a study: not empty, at most [`MAX_STUDY_NAME`] characters, no
/// path separator (`/`, `\`), not `.` or `..`, no control character. Every way a study is
/// created or opened (a sweep file, `anneal ask`, a worker, [`crate::Study::builder`]) checks
/// here.
pub fn check_study_name(name: &str) -> Result<()> {
    let problem = if name.is_empty() {
        Some("a study needs a name".to_string())
    } else if name.chars().count() > MAX_STUDY_NAME {
        Some(format!(
            "a name of {} characters is too long (at most {MAX_STUDY_NAME})",
            name.chars().count()
        ))
    } else if name == "." || name == ".." {
        Some(format!("'{name}' names a folder, not a study"))
    } else if let Some(c) = name.chars().find(|c| matches!(c, '/' | '\\')) {
        Some(format!("{name:?} holds a path separator '{c}'"))
    } else if let Some(c) = name.chars().find(|c| c.is_control()) {
        Some(format!("{name:?} holds the control character {c:?}"))
    } else {
        None
    };
    match problem {
        Some(problem) => Err(TuneError::config(
            "study",
            format!(
                "{problem}; a study name is one folder name: letters, digits and punctuation \
                 other than '/' and '\\', not '.' or '..', at most {MAX_STUDY_NAME} characters"
            ),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_would_leave_their_folder_are_refused() {
        for good in [
            "mlp",
            "digits-tpe_2",
            "résumé v2",
            "a.b",
            "..x",
            &"n".repeat(128),
        ] {
            assert!(check_study_name(good).is_ok(), "{good}");
        }
        for (bad, says) in [
            ("", "needs a name"),
            (".", "names a folder"),
            ("..", "names a folder"),
            ("../x", "path separator '/'"),
            ("a/b", "path separator '/'"),
            ("a\\b", "path separator '\\'"),
            ("a\nb", "control character '\\n'"),
            ("a\u{1b}[31m", "control character '\\u{1b}'"),
            (&"n".repeat(129), "129 characters is too long"),
        ] {
            let error = check_study_name(bad).unwrap_err().to_string();
            assert!(error.starts_with("invalid value for `study`"), "{error}");
            assert!(error.contains(says), "{bad:?}: {error}");
        }
    }
}
