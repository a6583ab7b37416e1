//! A sweep: its file, its objective, and the loop that asks the sampler for parameters, runs
//! each trial and records it in the study database. The loop keeps no state of its own beyond
//! the database, so a sweep killed at any point resumes where it stopped.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use anneal_data::Catalog;
use anneal_data::rng::derive_rng;
use anneal_train::config::{Mode, Monitor, set_path};
use anneal_train::{
    Control, EpochRecord, Observer, RunConfig, RunStatus, RunTarget, resume_recorded, run_recorded,
};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TuneError};
use crate::pruner::{Decision, PrunerConfig};
use crate::sampler::{Observation, SamplerConfig};
use crate::space::{Assignment, ParamSpec, SearchSpace};
use crate::storage::{Storage, StudyRecord, TrialRecord, TrialState};
use crate::synthetic::Synthetic;

/// A sweep file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepFile {
    /// The study's name in the database; rerunning the sweep resumes it.
    pub study: String,
    /// The study database (SQLite), relative to the working directory.
    #[serde(default = "default_storage")]
    pub storage: PathBuf,
    /// The run config every trial starts from (relative to the sweep file).
    #[serde(default)]
    pub base: Option<PathBuf>,
    /// A built-in test function instead of training.
    #[serde(default)]
    pub synthetic: Option<Synthetic>,
    /// What a trial's value is: the best of this validation metric over its epochs.
    #[serde(default)]
    pub metric: Option<Monitor>,
    /// `minimize` or `maximize`; defaults to the metric's natural direction.
    #[serde(default)]
    pub direction: Option<Mode>,
    /// Total trials of the study (finished ones of earlier runs count).
    #[serde(default = "default_trials")]
    pub trials: usize,
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub sampler: SamplerConfig,
    /// Stop unpromising training trials early (`{ kind = "median" }`).
    #[serde(default)]
    pub pruner: PrunerConfig,
    /// Stop, rather than burn the budget, when the study's first this-many trials all fail.
    #[serde(default = "default_max_failures")]
    pub max_failures: usize,
    /// Where trials' run folders go: `<runs_dir>/<study>/trial-<n>`.
    #[serde(default = "default_runs_dir")]
    pub runs_dir: PathBuf,
    #[serde(default)]
    pub search: Vec<ParamSpec>,
}

fn default_storage() -> PathBuf {
    PathBuf::from("studies/anneal.db")
}
fn default_trials() -> usize {
    20
}
fn default_max_failures() -> usize {
    5
}
fn default_runs_dir() -> PathBuf {
    PathBuf::from("runs")
}

/// What a trial evaluates.
#[derive(Debug)]
pub enum Objective {
    Synthetic(Synthetic),
    Training {
        base_path: PathBuf,
        base: toml::Table,
        metric: Monitor,
    },
}

/// Where training trials run.
pub struct TrainingContext<'a> {
    pub catalog: &'a Catalog,
    pub device: &'a Device,
    pub backend: &'a str,
}

impl TrainingContext<'_> {
    /// The run folder `root/name` on this context's data and device.
    fn target<'t>(&'t self, root: &'t Path, name: &'t str) -> RunTarget<'t> {
        RunTarget {
            catalog: self.catalog,
            runs_root: root,
            name,
            device: self.device,
            backend: self.backend,
        }
    }
}

/// Progress of a sweep, for the terminal.
pub trait TuneObserver {
    fn trial_started(&mut self, _number: usize, _params: &Assignment) {}
    fn trial_finished(&mut self, _trial: &TrialRecord, _best: Option<&TrialRecord>) {}
}

pub struct Quiet;
impl TuneObserver for Quiet {}

#[derive(Debug)]
pub struct Sweep {
    pub file: SweepFile,
    pub path: PathBuf,
    pub space: SearchSpace,
    pub objective: Objective,
    pub direction: Mode,
    pub text: String,
}

impl Sweep {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| TuneError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        let file: SweepFile = toml::from_str(text).map_err(|e| TuneError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        if file.study.is_empty() || file.study.contains(['/', '\\']) {
            return Err(TuneError::config("study", "needs a name without slashes"));
        }
        if file.trials == 0 {
            return Err(TuneError::config("trials", "must be at least 1"));
        }
        let (objective, natural, specs) = match (&file.synthetic, &file.base) {
            (Some(f), None) => {
                if file.metric.is_some() {
                    return Err(TuneError::config(
                        "metric",
                        "a synthetic objective has no metric",
                    ));
                }
                let specs = if file.search.is_empty() {
                    f.space()
                } else {
                    file.search.clone()
                };
                (Objective::Synthetic(*f), Mode::Min, specs)
            }
            (None, Some(base)) => {
                let base_path = path.parent().unwrap_or(Path::new(".")).join(base);
                let base_text =
                    std::fs::read_to_string(&base_path).map_err(|source| TuneError::Io {
                        path: base_path.clone(),
                        source,
                    })?;
                let table: toml::Table =
                    toml::from_str(&base_text).map_err(|e| TuneError::Parse {
                        path: base_path.clone(),
                        message: e.to_string(),
                    })?;
                let metric = file.metric.unwrap_or(Monitor::ValLoss);
                if file.search.is_empty() {
                    return Err(TuneError::config(
                        "search",
                        "a training sweep needs at least one [[search]] parameter",
                    ));
                }
                (
                    Objective::Training {
                        base_path,
                        base: table,
                        metric,
                    },
                    metric.natural_mode(),
                    file.search.clone(),
                )
            }
            _ => {
                return Err(TuneError::config(
                    "base",
                    "set exactly one of `base` (a run config to tune) and `synthetic` (a test function)",
                ));
            }
        };
        let space = SearchSpace::from_specs(&specs)?;
        let direction = file.direction.unwrap_or(natural);
        Ok(Self {
            path: path.to_path_buf(),
            text: text.to_string(),
            space,
            objective,
            direction,
            file,
        })
    }

    fn record(&self) -> StudyRecord {
        StudyRecord {
            id: 0,
            name: self.file.study.clone(),
            direction: direction_name(self.direction).into(),
            objective: match &self.objective {
                Objective::Synthetic(f) => format!("synthetic:{}", f.name()),
                Objective::Training {
                    base_path, metric, ..
                } => {
                    format!("{} of {}", metric.name(), base_path.display())
                }
            },
            sampler: serde_json::to_string(&self.file.sampler).expect("sampler serialises"),
            sweep: self.definition(),
            seed: self.file.seed,
            created: 0.0,
        }
    }

    /// What identifies the study: the parsed sweep without its budget and file locations, so
    /// raising `trials` or editing comments resumes the same study.
    fn definition(&self) -> String {
        let mut file = self.file.clone();
        file.trials = 0;
        file.storage = PathBuf::new();
        file.runs_dir = PathBuf::new();
        serde_json::to_string(&file).expect("sweep files serialise")
    }

    /// Lower-is-better form of a value.
    pub fn loss(&self, value: f64) -> f64 {
        match self.direction {
            Mode::Min => value,
            Mode::Max => -value,
        }
    }
}

pub fn direction_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Min => "minimize",
        Mode::Max => "maximize",
    }
}

/// The best complete trial (for `direction`).
pub fn best_trial<'t>(trials: &'t [TrialRecord], direction: &str) -> Option<&'t TrialRecord> {
    let maximize = direction == "maximize";
    trials
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .filter(|t| t.value.is_some_and(f64::is_finite))
        .min_by(|a, b| {
            let (x, y) = (a.value.unwrap(), b.value.unwrap());
            if maximize {
                y.total_cmp(&x)
            } else {
                x.total_cmp(&y)
            }
        })
}

/// How a sweep run ended.
#[derive(Debug)]
pub struct SweepOutcome {
    pub study: StudyRecord,
    pub trials: Vec<TrialRecord>,
    /// Trials left running by a dead process, marked failed when this run started.
    pub interrupted: usize,
    /// A grid with fewer points than the budget.
    pub grid_exhausted: bool,
}

/// Runs (or resumes) a sweep until the study holds `trials` trials, then settles its paused
/// trials (continuing the promotable ones, pruning the rest). Trials left running by a dead
/// process are marked failed (or, if they were continuing from a pause, paused again) first:
/// call this from the one process that owns the study, before and after any workers.
pub fn run_sweep(
    sweep: &Sweep,
    storage: &mut Storage,
    training: Option<&TrainingContext>,
    observer: &mut dyn TuneObserver,
) -> Result<SweepOutcome> {
    sweep_loop(sweep, storage, training, observer, true)
}

/// A worker on a study (`anneal tune --jobs N`): the same loop, without touching other
/// workers' running trials, and it stops when there is no trial to start or promote, leaving
/// paused trials for the owning process's final [`run_sweep`] (which runs once every worker
/// has exited, so no worker ever waits on a trial a dead process left running).
pub fn run_sweep_worker(
    sweep: &Sweep,
    storage: &mut Storage,
    training: Option<&TrainingContext>,
    observer: &mut dyn TuneObserver,
) -> Result<SweepOutcome> {
    sweep_loop(sweep, storage, training, observer, false)
}

fn sweep_loop(
    sweep: &Sweep,
    storage: &mut Storage,
    training: Option<&TrainingContext>,
    observer: &mut dyn TuneObserver,
    owner: bool,
) -> Result<SweepOutcome> {
    let (study, interrupted) = if owner {
        resume_study(sweep, storage)?
    } else {
        (storage.create_or_resume(&sweep.record())?, 0)
    };
    let mut grid_exhausted = false;
    loop {
        let trials = storage.trials(study.id)?;
        check_not_all_failing(&trials, sweep.file.max_failures)?;
        // Promotions come before new trials (ASHA): a paused trial that now ranks in the best
        // 1/η of its rung continues from its saved state.
        if let Some(trial) = next_promotion(sweep, &trials) {
            if storage.claim_paused(study.id, trial.number)? {
                let trial = trial.clone();
                run_trial(sweep, &study, storage, training, observer, &trial, true)?;
            }
            continue;
        }
        let claimed = if grid_exhausted {
            None
        } else {
            storage.claim_trial(study.id, sweep.file.trials)?
        };
        let next = match claimed {
            Some(number) => {
                // The snapshot from the top of the loop: it lacks only this claim, which the
                // history leaves out anyway.
                let history = sampler_history(sweep, &trials, number);
                let mut rng = derive_rng(sweep.file.seed, "sampler", number as u64);
                let params = sweep.file.sampler.suggest(&sweep.space, &history, &mut rng);
                if params.is_none() {
                    storage.release_trial(study.id, number)?;
                    grid_exhausted = true;
                }
                params.map(|params| (number, params))
            }
            None => None,
        };
        let Some((number, params)) = next else {
            // Nothing new to start. The owner settles the paused trials nobody will promote.
            if owner && settle_paused(sweep, &study, storage, training, observer, &trials)? {
                continue;
            }
            break;
        };
        let seed = derive_seed(sweep.file.seed, number);
        storage.set_trial_params(study.id, number, &params, seed)?;
        let trial = TrialRecord {
            number,
            state: TrialState::Running,
            params,
            value: None,
            intermediate: Vec::new(),
            seed,
            started: 0.0,
            finished: None,
            error: None,
            run_dir: None,
        };
        run_trial(sweep, &study, storage, training, observer, &trial, false)?;
    }
    Ok(SweepOutcome {
        trials: storage.trials(study.id)?,
        study,
        interrupted,
        grid_exhausted,
    })
}

/// Settles paused trials once no new trial will start (the owner, with no worker left). As in
/// Hyperband's synchronous form, where every bracket's successive halving ends with a trial
/// trained to the end, a bracket (ASHA's only one) with no complete trial yet continues its
/// best paused trial of the highest rung; so a study or bracket too small for ⌊n/η⌋ ≥ 1 at its
/// top rungs still finishes its most promising trial. The other paused trials are pruned where
/// they stopped and their saved states deleted. `true` when the sweep should loop again.
fn settle_paused(
    sweep: &Sweep,
    study: &StudyRecord,
    storage: &Storage,
    training: Option<&TrainingContext>,
    observer: &mut dyn TuneObserver,
    trials: &[TrialRecord],
) -> Result<bool> {
    let paused = || trials.iter().filter(|t| t.state == TrialState::Paused);
    let bracket = |t: &TrialRecord| sweep.file.pruner.bracket_of(sweep.file.seed, t.number);
    let finished: std::collections::HashSet<usize> = trials
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .map(bracket)
        .collect();
    if let Some(trial) = furthest_first(sweep, paused().filter(|t| !finished.contains(&bracket(t))))
    {
        if storage.claim_paused(study.id, trial.number)? {
            run_trial(sweep, study, storage, training, observer, trial, true)?;
        }
        return Ok(true);
    }
    for trial in paused() {
        let epoch = trial.intermediate.last().map_or(0, |(e, _)| *e);
        if storage.prune_paused(study.id, trial.number, epoch)? {
            end_paused_run(training, trial);
            report_finished(storage, study, observer, trial.number)?;
        }
    }
    // A process killed between pruning a paused trial and ending its folder left the folder
    // paused; end it now.
    for trial in trials.iter().filter(|t| {
        t.state == TrialState::Pruned
            && paused_folder(t).is_ok_and(|(root, name)| {
                anneal_train::resume::read_state(
                    &root.join(name).join(anneal_train::resume::RESUME_DIR),
                )
                .is_ok_and(|state| state.is_some())
            })
    }) {
        end_paused_run(training, trial);
    }
    Ok(false)
}

/// The paused trial to continue now, if any is promotable: from the highest rung first, then
/// the best value.
fn next_promotion<'t>(sweep: &Sweep, trials: &'t [TrialRecord]) -> Option<&'t TrialRecord> {
    let reached: Vec<(usize, Vec<(usize, f64)>)> = trials
        .iter()
        .map(|t| (t.number, t.intermediate.clone()))
        .collect();
    let promotable = trials.iter().filter(|t| {
        t.state == TrialState::Paused
            && t.intermediate.last().is_some_and(|&(epoch, value)| {
                sweep.file.pruner.promotable(
                    epoch,
                    value,
                    &reached,
                    sweep.direction,
                    sweep.file.seed,
                    t.number,
                )
            })
    });
    furthest_first(sweep, promotable)
}

/// Of paused trials, the one at the highest rung, the best value breaking ties.
fn furthest_first<'t>(
    sweep: &Sweep,
    paused: impl Iterator<Item = &'t TrialRecord>,
) -> Option<&'t TrialRecord> {
    paused
        .filter_map(|t| t.intermediate.last().map(|&(e, v)| (e, sweep.loss(v), t)))
        .max_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)))
        .map(|(_, _, t)| t)
}

/// Runs a claimed trial (new, or a paused one continued when `resume`) and records how it
/// ended.
fn run_trial(
    sweep: &Sweep,
    study: &StudyRecord,
    storage: &Storage,
    training: Option<&TrainingContext>,
    observer: &mut dyn TuneObserver,
    trial: &TrialRecord,
    resume: bool,
) -> Result<()> {
    let number = trial.number;
    observer.trial_started(number, &trial.params);
    let result = catch_unwind(AssertUnwindSafe(|| {
        evaluate(sweep, study, storage, training, trial, resume)
    }))
    .unwrap_or_else(|panic| Err(panic_message(panic)));
    let result = result.and_then(|end| {
        if end.value().is_finite() {
            Ok(end)
        } else {
            Err(format!("diverged: the objective value is {}", end.value()))
        }
    });
    match result {
        Ok(TrialEnd::Complete(value)) => {
            storage.finish_trial(study.id, number, TrialState::Complete, Some(value), None)?
        }
        // A pruned trial keeps its value so far and says where it stopped.
        Ok(TrialEnd::Pruned { value, epoch }) => storage.finish_trial(
            study.id,
            number,
            TrialState::Pruned,
            Some(value),
            Some(&format!("pruned after epoch {epoch}")),
        )?,
        Ok(TrialEnd::Paused { value, epoch }) => {
            storage.pause_trial(study.id, number, epoch, value)?
        }
        Err(message) => {
            storage.finish_trial(study.id, number, TrialState::Failed, None, Some(&message))?
        }
    }
    report_finished(storage, study, observer, number)
}

fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    let message = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into());
    format!("panicked: {message}")
}

fn report_finished(
    storage: &Storage,
    study: &StudyRecord,
    observer: &mut dyn TuneObserver,
    number: usize,
) -> Result<()> {
    let trials = storage.trials(study.id)?;
    if let Some(trial) = trials.iter().find(|t| t.number == number) {
        observer.trial_finished(trial, best_trial(&trials, &study.direction));
    }
    Ok(())
}

/// Creates the study or reopens it, marking trials left running by a dead process as failed;
/// returns the study and how many trials were marked. Call it once, before any worker starts.
/// A trial that was continuing from a pause when its process died goes back to that pause
/// (its saved state is still there) rather than failing.
pub fn resume_study(sweep: &Sweep, storage: &Storage) -> Result<(StudyRecord, usize)> {
    let study = storage.create_or_resume(&sweep.record())?;
    for trial in storage.trials(study.id)? {
        let Some(run_dir) = trial
            .run_dir
            .as_deref()
            .filter(|_| trial.state == TrialState::Running)
        else {
            continue;
        };
        let state_dir = Path::new(run_dir).join(anneal_train::resume::RESUME_DIR);
        if let Ok(Some(paused)) = anneal_train::resume::read_state(&state_dir) {
            let value = trial
                .intermediate
                .iter()
                .filter(|(e, _)| *e <= paused.epoch)
                .map(|(_, v)| *v)
                .reduce(|a, b| best_of(sweep.direction, a, b));
            if let Some(value) = value {
                storage.revert_to_paused(study.id, trial.number, paused.epoch, value)?;
            }
        }
    }
    let interrupted = storage.fail_interrupted(study.id)?;
    Ok((study, interrupted))
}

fn best_of(direction: Mode, a: f64, b: f64) -> f64 {
    match direction {
        Mode::Min => a.min(b),
        Mode::Max => a.max(b),
    }
}

/// What the sampler learns from: completed trials; pruned trials, ranked as the worst seen (they
/// stopped because they were losing, and TPE counts them in its "bad" group as Optuna does);
/// and trials other workers are running now with a "constant liar" value (the worst loss seen),
/// so parallel suggestions spread out instead of piling onto the same promising point.
fn sampler_history(sweep: &Sweep, trials: &[TrialRecord], own: usize) -> Vec<Observation> {
    let worst = trials
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .filter_map(|t| t.value.map(|v| sweep.loss(v)))
        .fold(f64::NEG_INFINITY, f64::max);
    // With no complete trial yet, a pruned one still tells the sampler where not to look.
    let floor = if worst.is_finite() { worst } else { 0.0 };
    // In trial order: TPE weighs older observations less.
    trials
        .iter()
        .filter_map(|t| {
            let (loss, pending) = match t.state {
                TrialState::Complete => (sweep.loss(t.value?), false),
                // A paused trial has not been promoted: so far, it counts as pruned.
                TrialState::Pruned | TrialState::Paused => (
                    floor.max(t.value.map_or(floor, |v| sweep.loss(v))) + 1e-9,
                    false,
                ),
                TrialState::Running
                    if t.number != own && !t.params.is_empty() && worst.is_finite() =>
                {
                    (worst, true)
                }
                _ => return None,
            };
            Some(Observation {
                assignment: t.params.clone(),
                loss,
                pending,
            })
        })
        .collect()
}

fn check_not_all_failing(trials: &[TrialRecord], max_failures: usize) -> Result<()> {
    // Trials killed with their process say nothing about the settings.
    let finished: Vec<&TrialRecord> = trials
        .iter()
        .filter(|t| t.state != TrialState::Running)
        .filter(|t| {
            !t.error
                .as_deref()
                .is_some_and(|e| e.starts_with(INTERRUPTED))
        })
        .collect();
    if max_failures > 0
        && finished.len() >= max_failures
        && finished
            .iter()
            .take(max_failures)
            .all(|t| t.state == TrialState::Failed)
        && !finished.iter().any(|t| t.state == TrialState::Complete)
    {
        let last = finished[max_failures - 1].error.clone().unwrap_or_default();
        return Err(TuneError::AllFailing(format!(
            "the study's first {max_failures} trials all failed, so its settings are likely broken rather than unlucky; the last error: {last}"
        )));
    }
    Ok(())
}

/// How a trial left running by a dead process is recorded (storage writes it).
pub const INTERRUPTED: &str = "interrupted";

/// Each trial's own seed, from the study seed and its number.
fn derive_seed(study_seed: u64, number: usize) -> u64 {
    use rand::RngExt;
    derive_rng(study_seed, "trial seed", number as u64).random::<u64>() >> 1
}

/// How a trial's run ended.
enum TrialEnd {
    Complete(f64),
    /// Stopped for good after `epoch` (the median rule); `value` is its best so far.
    Pruned {
        value: f64,
        epoch: usize,
    },
    /// Paused at a rung after `epoch`, its training state saved.
    Paused {
        value: f64,
        epoch: usize,
    },
}

impl TrialEnd {
    fn value(&self) -> f64 {
        match *self {
            TrialEnd::Complete(value)
            | TrialEnd::Pruned { value, .. }
            | TrialEnd::Paused { value, .. } => value,
        }
    }
}

/// A paused trial's run folder as (runs root, run name): its own folder, wherever the study's
/// runs were when it started.
fn paused_folder(trial: &TrialRecord) -> std::result::Result<(PathBuf, String), String> {
    let folder = PathBuf::from(
        trial
            .run_dir
            .as_deref()
            .ok_or("a paused trial without a run folder")?,
    );
    let name = folder
        .file_name()
        .ok_or("a run folder without a name")?
        .to_string_lossy()
        .into_owned();
    Ok((
        folder.parent().unwrap_or(Path::new(".")).to_path_buf(),
        name,
    ))
}

/// Ends a pruned paused trial's run folder like any pruned run's (checkpoint, test metrics,
/// summary "stopped after epoch N"), so `anneal eval` and reports treat both alike; its saved
/// state is deleted either way, and a failure (even a panic) is only a warning.
fn end_paused_run(training: Option<&TrainingContext>, trial: &TrialRecord) {
    let Ok((root, name)) = paused_folder(trial) else {
        return;
    };
    let ended = match training {
        Some(context) => catch_unwind(AssertUnwindSafe(|| {
            anneal_train::stop_paused(&context.target(&root, &name))
                .map(drop)
                .map_err(|e| e.to_string())
        }))
        .unwrap_or_else(|panic| Err(panic_message(panic))),
        None => Err("no training device to end it with".into()),
    };
    if let Err(e) = ended {
        tracing::warn!("trial {}: {e}", trial.number);
        let state_dir = root.join(name).join(anneal_train::resume::RESUME_DIR);
        if let Err(e) = anneal_train::resume::discard(&state_dir) {
            tracing::warn!("{e}");
        }
    }
}

/// Runs one trial, or continues a paused one (`resume`), to its end, a prune or a pause;
/// `Err(why it failed)` otherwise.
fn evaluate(
    sweep: &Sweep,
    study: &StudyRecord,
    storage: &Storage,
    training: Option<&TrainingContext>,
    trial: &TrialRecord,
    resume: bool,
) -> std::result::Result<TrialEnd, String> {
    let number = trial.number;
    match &sweep.objective {
        Objective::Synthetic(f) => f.evaluate(&trial.params).map(TrialEnd::Complete),
        Objective::Training {
            base_path,
            base,
            metric,
        } => {
            let context = training.ok_or("a training sweep needs a device")?;
            let (root, name) = if resume {
                paused_folder(trial)?
            } else {
                let root = sweep.file.runs_dir.join(&sweep.file.study);
                let name = anneal_train::free_run_name(&root, &format!("trial-{number}"));
                // Absolute, so `anneal study` finds the folder from any working directory.
                let folder = std::path::absolute(root.join(&name)).map_err(|e| e.to_string())?;
                storage
                    .set_run_dir(study.id, number, &folder.to_string_lossy())
                    .map_err(|e| e.to_string())?;
                (root, name)
            };
            let completed: Vec<Vec<(usize, f64)>> = storage
                .trials(study.id)
                .map_err(|e| e.to_string())?
                .into_iter()
                .filter(|t| t.state == TrialState::Complete)
                .map(|t| t.intermediate)
                .collect();
            let mut reporter = Reporter {
                storage,
                study: study.id,
                number,
                metric: *metric,
                failure: None,
                pruner: &sweep.file.pruner,
                direction: sweep.direction,
                completed,
                pruned_at: None,
                values: trial.intermediate.iter().map(|(_, v)| *v).collect(),
                seed: sweep.file.seed,
                epochs: usize::MAX,
            };
            let target = context.target(&root, &name);
            let (_, summary) = if resume {
                resume_recorded(&target, &mut reporter)
            } else {
                let config = trial_config(base_path, base, &trial.params, trial.seed)?;
                run_recorded(&config, &target, &mut reporter)
            }
            .map_err(|e| e.to_string())?;
            if let Some(failure) = reporter.failure {
                return Err(failure);
            }
            let best = reporter
                .values
                .iter()
                .copied()
                .reduce(|a, b| best_of(sweep.direction, a, b))
                .ok_or("the trial finished no epoch")?;
            match (summary.status, reporter.pruned_at) {
                (RunStatus::Paused { epoch }, _) => Ok(TrialEnd::Paused { value: best, epoch }),
                (status, _) if !status.is_success() => Err(summary.message),
                (_, Some(epoch)) => Ok(TrialEnd::Pruned { value: best, epoch }),
                (_, None) => Ok(TrialEnd::Complete(best)),
            }
        }
    }
}

/// A training trial's run config: the base with the trial's seed and parameters set.
pub fn trial_config(
    base_path: &Path,
    base: &toml::Table,
    params: &Assignment,
    seed: u64,
) -> std::result::Result<RunConfig, String> {
    let mut table = base.clone();
    // Another model kind starts the model table afresh: the base's keys for its own kind (an
    // MLP's depth and units, say) do not apply to the other.
    if let Some((_, kind)) = params.iter().find(|(n, _)| n == "model.kind") {
        let base_kind = table.get("model").and_then(|m| m.get("kind"));
        if base_kind != Some(kind) {
            table.insert("model".into(), toml::Value::Table(toml::Table::new()));
        }
    }
    set_path(&mut table, "train.seed", toml::Value::Integer(seed as i64))
        .map_err(|e| e.to_string())?;
    for (name, value) in params {
        set_path(&mut table, name, value.clone()).map_err(|e| e.to_string())?;
    }
    RunConfig::from_table(base_path, table).map_err(|e| e.to_string())
}

/// Writes each epoch's metric into the study as the trial runs.
struct Reporter<'a> {
    storage: &'a Storage,
    study: i64,
    number: usize,
    metric: Monitor,
    failure: Option<String>,
    pruner: &'a PrunerConfig,
    direction: Mode,
    /// Intermediate values of the trials complete when this one started.
    completed: Vec<Vec<(usize, f64)>>,
    pruned_at: Option<usize>,
    /// The values this trial reported (also written to the study), for its final value.
    values: Vec<f64>,
    /// The study seed (Hyperband's bracket assignment).
    seed: u64,
    /// The trial's epoch budget: its last epoch ends the trial, it is never a pruning point.
    epochs: usize,
}

impl Observer for Reporter<'_> {
    fn epoch_started(&mut self, _epoch: usize, epochs: usize, _batches: usize) {
        self.epochs = epochs;
    }

    fn epoch_finished(
        &mut self,
        record: &EpochRecord,
        _: Option<&anneal_model::Model>,
    ) -> anneal_train::Result<Control> {
        if let Some(value) = record.validation.monitored(self.metric) {
            if let Err(e) = self
                .storage
                .report(self.study, self.number, record.epoch, value)
            {
                self.failure = Some(e.to_string());
                return Ok(Control::Stop);
            }
            self.values.push(value);
            let reached: Vec<(usize, Vec<(usize, f64)>)> = match self.pruner {
                PrunerConfig::None | PrunerConfig::Median { .. } => Vec::new(),
                // Rungs rank every trial that reached them so far, running ones included.
                _ => match self.storage.trials(self.study) {
                    Ok(trials) => trials
                        .into_iter()
                        .map(|t| (t.number, t.intermediate))
                        .collect(),
                    Err(e) => {
                        self.failure = Some(e.to_string());
                        return Ok(Control::Stop);
                    }
                },
            };
            if record.epoch < self.epochs {
                match self.pruner.decide(
                    record.epoch,
                    value,
                    &self.completed,
                    &reached,
                    self.direction,
                    self.seed,
                    self.number,
                ) {
                    Decision::Continue => {}
                    Decision::Prune => {
                        self.pruned_at = Some(record.epoch);
                        return Ok(Control::Stop);
                    }
                    Decision::Pause => return Ok(Control::Pause),
                }
            }
        }
        Ok(Control::Continue)
    }
}
