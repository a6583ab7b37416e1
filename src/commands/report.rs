//! `anneal report`: a self-contained HTML page of a study or of one training run.

use std::path::{Path, PathBuf};

use anneal_report::{RunReport, StudyReport, run_page, study_page};
use anyhow::{Context, Result};
use clap::Args;

use crate::commands::study::{Access, load_study, open_database};

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A study's name, or a run folder (`runs/NAME`).
    target: String,
    /// The HTML file to write (default: `studies/<study>.html` beside the default database,
    /// or `report.html` inside the run folder).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Study storage: a SQLite file, or a PostgreSQL URL (postgresql://user@host:port/db).
    #[arg(long, default_value = "studies/anneal.db", value_name = "FILE|URL")]
    storage: String,
}

pub fn report(args: ReportArgs) -> Result<()> {
    let folder = Path::new(&args.target);
    let (html, default) = if folder.join("summary.json").is_file() {
        let report = RunReport::from_folder(folder)?;
        (run_page(&report), folder.join("report.html"))
    } else {
        let read = || {
            let db = open_database(&args.storage, Access::Read)?;
            load_study(&*db, &args.target)
        };
        let (study, trials) = read().with_context(|| {
            if folder.is_dir() {
                format!("{} is neither a run folder nor a study name", args.target)
            } else {
                format!("reporting on '{}'", args.target)
            }
        })?;
        // Training studies show the best trial's run config; others its parameters.
        let config = anneal_sweep::export::trial_config(&study, &trials, None).ok();
        let report = StudyReport::new(&study, &trials, config);
        // Beside a study file; in `studies/` for a database server.
        let dir = match anneal_tune::sqlite_path(&args.storage) {
            Some(file) => file.parent().unwrap_or(Path::new(".")),
            None => Path::new("studies"),
        };
        (
            study_page(&report),
            dir.join(format!("{}.html", file_stem(&study.name))),
        )
    };
    let output = args.output.unwrap_or(default);
    if let Some(parent) = output.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(&output, html).with_context(|| format!("cannot write {}", output.display()))?;
    outln!("report: {}", output.display());
    Ok(())
}

/// A study name as a file name: path separators and other awkward characters become `-`.
fn file_stem(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}
