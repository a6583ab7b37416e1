//! The README's quick start, run as written: every `anneal …` line of its first `sh` block, in
//! a scratch copy of the ready configs, so the commands a new user copies cannot rot.

use std::path::Path;
use std::process::Command;

/// The `anneal` command lines of the first ```sh block under "## Quick start".
fn quick_start_commands(readme: &str) -> Vec<Vec<String>> {
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("Quick start"))
        .expect("the README has a Quick start section");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("the Quick start section has a sh block");
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
    let commands = quick_start_commands(&readme);
    assert!(commands.len() >= 4, "{commands:?}");
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
    ] {
        assert!(dir.path().join(file).is_file(), "no {file}");
    }
}
