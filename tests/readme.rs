//! The README's quick start and its own-data walk-through, run as written: every `anneal …` line
//! of each section's first `sh` block, in a scratch copy of the ready configs, so the commands a
//! new user copies cannot rot.

use std::path::Path;
use std::process::Command;

/// The `anneal` command lines of the first ```sh block under "## <title>".
fn section_commands(readme: &str, title: &str) -> Vec<Vec<String>> {
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with(title))
        .unwrap_or_else(|| panic!("the README has a {title} section"));
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .unwrap_or_else(|| panic!("the {title} section has a sh block"));
    block
        .lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim())
        .filter(|l| l.starts_with("anneal "))
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[test]
fn the_readme_quick_start_runs_as_written() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let quick_start = section_commands(&readme, "Quick start");
    assert!(quick_start.len() >= 4, "{quick_start:?}");
    let own_data = section_commands(&readme, "Your own data");
    assert!(own_data.len() >= 3, "{own_data:?}");
    let commands: Vec<Vec<String>> = quick_start.into_iter().chain(own_data).collect();
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root.join("configs"), &dir.path().join("configs"));
    for command in &commands {
        let output = Command::new(env!("CARGO_BIN_EXE_anneal"))
            .args(&command[1..])
            .current_dir(dir.path())
            .env("ANNEAL_DATA_DIR", root.join("datasets"))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "`{}` failed: {}",
            command.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // What the README says the commands leave behind.
    for file in [
        "runs/digits-mlp/summary.json",
        "runs/digits-mlp/report.html",
        "studies/anneal.db",
        "studies/digits-quick.html",
        "runs/churn-mlp/pipeline.json",
        "runs/churn-tpe/best-retrained/summary.json",
        "churn-predictions.csv",
    ] {
        assert!(dir.path().join(file).is_file(), "no {file}");
    }
    let predictions = std::fs::read_to_string(dir.path().join("churn-predictions.csv")).unwrap();
    let new_rows = std::fs::read_to_string(root.join("configs/data/churn-new.csv")).unwrap();
    assert_eq!(
        predictions.lines().count(),
        new_rows.lines().count(),
        "{predictions}"
    );
    assert!(
        predictions.starts_with("customer_id,predicted,prob_no,prob_yes\nC01901,"),
        "{predictions}"
    );
}
