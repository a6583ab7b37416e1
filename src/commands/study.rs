//! `anneal study`: list, show, best, export and delete the studies in a database.

use std::path::{Path, PathBuf};

use anneal_tune::{
    Assignment, LeasedStorage, Storage, StorageOptions, StudyRecord, TrialRecord, TrialState,
    TuneError, best_trial, open_storage, pareto_front, sqlite_path,
};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct StudyArgs {
    /// Study storage: a SQLite file, or a PostgreSQL URL (postgresql://user@host:port/db).
    #[arg(
        long,
        global = true,
        default_value = "studies/anneal.db",
        value_name = "FILE|URL"
    )]
    storage: String,
    #[command(subcommand)]
    what: StudyCommand,
}

#[derive(Debug, Subcommand)]
enum StudyCommand {
    /// Every study in the database with its trial counts and best value.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// A study's trials table.
    Show {
        /// The study's name.
        study: String,
        /// Print the study and every trial as JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The best trial: value, parameters, run folder.
    Best {
        /// The study's name.
        study: String,
        /// Print the best trial as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Export the best trial's run config (`--config`) or all trials (`--csv`, `--json`).
    Export {
        /// The study's name.
        study: String,
        /// Write the best trial's resolved run config here (`anneal train --config` reproduces it).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// With --config: this trial's config instead of the best one's (a study with several
        /// objectives has no one best trial: pick one of its Pareto front).
        #[arg(long, value_name = "N", requires = "config")]
        trial: Option<usize>,
        /// Write every trial as a CSV row (number, state, value, parameters, epochs, times) here.
        #[arg(long, value_name = "FILE")]
        csv: Option<PathBuf>,
        /// Write the study and all its trials (intermediate values included) as JSON here.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Delete a study and its trials from the database.
    Delete {
        /// The study's name.
        study: String,
        /// Also remove the trials' run folders: only folders named like the trial's own
        /// (`trial-N`) inside `<RUNS_DIR>/<study>`; any other folder the database names is
        /// listed and left.
        #[arg(long)]
        runs: bool,
        /// The folder the study's run folders were kept in (the sweep's `runs_dir`, or the
        /// `--artifacts` folder of its workers); may be given more than once.
        #[arg(long, value_name = "DIR", default_value = "runs", requires = "runs")]
        runs_dir: Vec<PathBuf>,
    },
}

/// The study `name` and its trials from `db`; the error lists the studies there when the
/// name is wrong.
pub fn load_study(db: &dyn Storage, name: &str) -> Result<(StudyRecord, Vec<TrialRecord>)> {
    let study = db.study(name)?.with_context(|| {
        let names: Vec<String> = db
            .studies()
            .unwrap_or_default()
            .into_iter()
            .map(|s| s.name)
            .collect();
        format!(
            "no study '{name}' in {}; studies: {}",
            db.location(),
            names.join(", ")
        )
    })?;
    let trials = db.trials(study.id)?;
    Ok((study, trials))
}

/// What a command does with a study database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Only reads it: opened read-only, so another user's study, or one on a read-only mount,
    /// can be read.
    Read,
    /// Changes it.
    Write,
}

/// The study storage `location` names: a SQLite file that exists (reading never creates one),
/// or a PostgreSQL database.
pub fn open_database(location: &str, access: Access) -> Result<LeasedStorage> {
    if let Some(path) = sqlite_path(location) {
        if !path.exists() {
            bail!(
                "no study database at {} (run `anneal tune` first, or pass --storage)",
                path.display()
            );
        }
    }
    let read_only = StorageOptions {
        read_only: true,
        ..Default::default()
    };
    match access {
        Access::Write => Ok(open_storage(location, &StorageOptions::default())?),
        Access::Read => match open_storage(location, &read_only) {
            // Tables an older anneal wrote are upgraded where this process may write, as a
            // reading command always did; elsewhere the read-only error says what to do.
            Err(error @ TuneError::NeedsUpgrade { .. }) => {
                open_storage(location, &StorageOptions::default()).map_err(|_| error.into())
            }
            other => Ok(other?),
        },
    }
}

pub fn study(args: StudyArgs) -> Result<()> {
    let access = match args.what {
        StudyCommand::Delete { .. } => Access::Write,
        _ => Access::Read,
    };
    let storage = open_database(&args.storage, access)?;
    let find = |name: &str| load_study(&*storage, name);
    match args.what {
        StudyCommand::List { json: true } => {
            let studies: Vec<serde_json::Value> = storage
                .studies()?
                .iter()
                .map(|study| Ok(summary_json(study, &storage.trials(study.id)?)))
                .collect::<Result<_>>()?;
            outln!("{}", serde_json::to_string_pretty(&studies)?);
        }
        StudyCommand::Show { study, json: true } => {
            let (study, trials) = find(&study)?;
            outln!(
                "{}",
                serde_json::to_string_pretty(&anneal_sweep::export::study_json(&study, &trials))?
            );
        }
        StudyCommand::Best { study, json: true } => {
            let (study, trials) = find(&study)?;
            if study.directions.len() > 1 {
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&pareto_front(&trials, &study.directions))?
                );
                return Ok(());
            }
            let best = best_trial(&trials, study.direction)
                .context("the study has no complete trial yet")?;
            outln!("{}", serde_json::to_string_pretty(best)?);
        }
        StudyCommand::List { json: false } => {
            outln!(
                "{:<24} {:>6} {:>8} {:>6} {:>6}  {:<9} best       objective",
                "study",
                "trials",
                "complete",
                "pruned",
                "failed",
                "direction"
            );
            for study in storage.studies()? {
                let trials = storage.trials(study.id)?;
                let count = |s: TrialState| trials.iter().filter(|t| t.state == s).count();
                let (direction, best) = match study.directions.len() {
                    1 => (
                        study.direction.name().to_string(),
                        fmt_value(best_trial(&trials, study.direction).and_then(|t| t.value)),
                    ),
                    n => (
                        format!("{n} goals"),
                        format!("front {}", pareto_front(&trials, &study.directions).len()),
                    ),
                };
                outln!(
                    "{:<24} {:>6} {:>8} {:>6} {:>6}  {:<9} {:<10} {}",
                    study.name,
                    trials.len(),
                    count(TrialState::Complete),
                    count(TrialState::Pruned),
                    count(TrialState::Failed),
                    direction,
                    best,
                    study.objective
                );
            }
        }
        StudyCommand::Show { study, json: false } => {
            let (study, trials) = find(&study)?;
            print_counts(&study, &trials);
            outln!(
                "{:>5}  {:<8}  {:>12}  {:>8}  params",
                "trial",
                "state",
                "value",
                "seconds"
            );
            for t in &trials {
                outln!(
                    "{:>5}  {:<8}  {:>12}  {:>8.1}  {}{}",
                    t.number,
                    t.state.as_str(),
                    fmt_values(t),
                    t.running_seconds,
                    fmt_params(&t.params),
                    t.note().map(|e| format!("  [{e}]")).unwrap_or_default()
                );
            }
        }
        StudyCommand::Best { study, json: false } => {
            let (study, trials) = find(&study)?;
            if study.directions.len() > 1 {
                print_front(&study, &trials);
                return Ok(());
            }
            let best = best_trial(&trials, study.direction)
                .context("the study has no complete trial yet")?;
            outln!(
                "best trial {} of '{}': value {} ({})",
                best.number,
                study.name,
                fmt_value(best.value),
                study.direction
            );
            for (name, value) in &best.params {
                outln!("  {name} = {value}");
            }
            if let Some(run) = &best.run_dir {
                outln!("run folder: {run}");
            }
        }
        StudyCommand::Export {
            study,
            config,
            trial,
            csv,
            json,
        } => {
            let (study, trials) = find(&study)?;
            if config.is_none() && csv.is_none() && json.is_none() {
                bail!("say what to export: --config FILE, --csv FILE and/or --json FILE");
            }
            if let Some(path) = config {
                write(
                    &path,
                    &anneal_sweep::export::trial_config(&study, &trials, trial)?,
                )?;
            }
            if let Some(path) = csv {
                write(&path, &anneal_sweep::export::trials_csv(&trials))?;
            }
            if let Some(path) = json {
                let report = anneal_sweep::export::study_json(&study, &trials);
                write(&path, &serde_json::to_string_pretty(&report)?)?;
            }
        }
        StudyCommand::Delete {
            study,
            runs,
            runs_dir,
        } => {
            let (study, trials) = find(&study)?;
            storage.delete_study(study.id)?;
            outln!(
                "deleted study '{}' ({} trials) from {}",
                study.name,
                trials.len(),
                storage.location()
            );
            if runs {
                let outcome = anneal_sweep::remove_run_folders(&study.name, &trials, &runs_dir)
                    .context("removing run folders")?;
                outln!("removed {} run folders", outcome.removed.len());
                for (folder, reason) in &outcome.left {
                    outln!("left {}: {reason}", folder.display());
                }
            }
        }
    }
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    outln!("wrote {}", path.display());
    Ok(())
}

pub fn fmt_value(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.6}"))
}

pub fn fmt_params(params: &Assignment) -> String {
    params
        .iter()
        .map(|(n, v)| match v.as_f64() {
            Some(f) if !v.is_i64() && !v.is_u64() => format!("{n}={f:.4e}"),
            _ => format!("{n}={v}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A trial's value, or its values (one per objective of a study with several).
pub fn fmt_values(t: &TrialRecord) -> String {
    match t.values.len() {
        0 => fmt_value(t.value),
        _ => t
            .values
            .iter()
            .map(|v| fmt_value(Some(*v)))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// A study with several objectives: its Pareto front, a trial a line.
pub fn print_front(study: &StudyRecord, trials: &[TrialRecord]) {
    let front = pareto_front(trials, &study.directions);
    let goals: Vec<&str> = study.directions.iter().map(|d| d.name()).collect();
    outln!(
        "Pareto front of '{}' ({}): {} trial(s) no other trial beats on every objective",
        study.name,
        goals.join(", "),
        front.len()
    );
    for t in front {
        outln!(
            "  trial {}: {}  {}{}",
            t.number,
            fmt_values(t),
            fmt_params(&t.params),
            t.run_dir
                .as_deref()
                .map(|run| format!("  [{run}]"))
                .unwrap_or_default()
        );
    }
}

/// A study's outcome for machines: name, direction(s), objective, counts by state and the best
/// trial (number, value, parameters, run folder), or with several objectives the Pareto front.
pub fn summary_json(study: &StudyRecord, trials: &[TrialRecord]) -> serde_json::Value {
    let count = |s: TrialState| trials.iter().filter(|t| t.state == s).count();
    let entry = |b: &TrialRecord| {
        serde_json::json!({
            "number": b.number,
            "value": b.value,
            "values": b.objective_values(),
            "params": b.params.iter().cloned().collect::<serde_json::Map<_, _>>(),
            "run_dir": b.run_dir,
        })
    };
    let best = match study.directions.len() {
        1 => best_trial(trials, study.direction).map(entry),
        _ => None,
    };
    let front: Vec<serde_json::Value> = match study.directions.len() {
        1 => Vec::new(),
        _ => pareto_front(trials, &study.directions)
            .into_iter()
            .map(entry)
            .collect(),
    };
    serde_json::json!({
        "study": study.name,
        "direction": study.direction.name(),
        "directions": study.directions.iter().map(|d| d.name()).collect::<Vec<_>>(),
        "front": front,
        "objective": study.objective,
        "trials": trials.len(),
        "complete": count(TrialState::Complete),
        "pruned": count(TrialState::Pruned),
        "failed": count(TrialState::Failed),
        "paused": count(TrialState::Paused),
        "running": count(TrialState::Running),
        "interrupted": count(TrialState::Interrupted),
        "best": best,
    })
}

pub fn print_counts(study: &StudyRecord, trials: &[TrialRecord]) {
    let count = |s: TrialState| trials.iter().filter(|t| t.state == s).count();
    let interrupted = match count(TrialState::Interrupted) {
        0 => String::new(),
        n => format!(", {n} interrupted"),
    };
    outln!(
        "study '{}': {} trials ({} complete, {} pruned, {} failed, {} paused, {} running{interrupted})",
        study.name,
        trials.len(),
        count(TrialState::Complete),
        count(TrialState::Pruned),
        count(TrialState::Failed),
        count(TrialState::Paused),
        count(TrialState::Running)
    );
}
