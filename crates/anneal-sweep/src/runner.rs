//! Running a sweep file's study: open it with the file's sampler and pruner, repair what a
//! killed process left, then run trials until the budget is spent.

use anneal_tune::{
    BoxError, LeasedStorage, Objective, OptimizeOutcome, PausedTrials, Study, StudyObserver,
    StudyRecord, Trial, TrialRecord, Values,
};

use crate::command::CommandObjective;
use crate::error::{Result, SweepError};
use crate::file::{Sweep, SweepObjective};
use crate::training::{TrainingContext, TrainingObjective};

/// How a sweep run ended.
#[derive(Debug)]
pub struct SweepOutcome {
    /// The study.
    pub study: StudyRecord,
    /// Every trial of the study afterwards.
    pub trials: Vec<TrialRecord>,
    /// Trials left running by a dead process, marked failed when this run started.
    pub interrupted: usize,
    /// A grid with fewer points than the budget.
    pub grid_exhausted: bool,
}

impl SweepOutcome {
    /// The study's result: the trials no other beats on every objective (with one objective,
    /// the best value's trials), in number order, among the complete trials that meet their
    /// constraints; when there is
    /// none, an error that names the study and says what the last trial that ended said.
    pub fn best_trials(&self) -> Result<Vec<&TrialRecord>> {
        // With one objective the front is the best value's trials, the first of them first.
        let best = anneal_tune::pareto_front(&self.trials, &self.study.directions);
        match best.is_empty() {
            true => Err(SweepError::NoneCompleted {
                study: self.study.name.clone(),
                last: self.trials.iter().rev().find_map(|t| t.note()),
            }),
            false => Ok(best),
        }
    }
}

/// Opens (or creates) the sweep's study in `storage` with the file's sampler and pruner.
/// Everything the sweep says is checked first, so a broken sweep creates no study: a training
/// sweep against its data (its metric must fit the dataset's task), for which `training` is
/// required.
pub fn open_study(
    sweep: &Sweep,
    storage: impl Into<LeasedStorage>,
    training: Option<&TrainingContext>,
) -> Result<Study> {
    if sweep.trains() {
        let training = training.ok_or_else(|| {
            SweepError::config(
                "base",
                "a training sweep needs its datasets and a device to open its study (a TrainingContext)",
            )
        })?;
        crate::check::check_training_sweep(sweep, training.catalog)?;
    }
    let new = sweep.new_study();
    Ok(Study::builder()
        .name(new.name)
        .storage(storage)
        .directions(&sweep.directions)
        .objective(new.objective)
        .sampler_settings(new.sampler)
        .definition(new.definition)
        .seed(new.seed)
        .search_space(sweep.space.clone())
        .sampler(sweep.file.sampler.init(Some(&sweep.space))?)
        .pruner(sweep.file.pruner.init()?)
        .max_failures(sweep.file.max_failures)
        .retry_failed(sweep.file.retry_failed)
        .build()?)
}

/// Runs (or resumes) a sweep until the study holds its budget of trials, then settles its
/// paused trials (continuing the promotable ones, pruning the rest). Trials left running by a
/// dead process are marked failed (or, if they were continuing from a pause, paused again)
/// first: call this from the one process that owns the study, before and after any workers.
pub fn run_sweep(
    study: &Study,
    sweep: &Sweep,
    training: Option<&TrainingContext>,
    observer: &mut dyn StudyObserver,
) -> Result<SweepOutcome> {
    let interrupted = resume_study(study, sweep, training)?;
    let mut outcome = run(study, sweep, training, observer, PausedTrials::Settle)?;
    outcome.interrupted = interrupted;
    Ok(outcome)
}

/// A worker on a study (`anneal tune --jobs N`): the same loop, without touching other
/// workers' running trials; it stops when there is no trial to start or promote, leaving paused
/// trials for the owning process's final [`run_sweep`].
pub fn run_sweep_worker(
    study: &Study,
    sweep: &Sweep,
    training: Option<&TrainingContext>,
    observer: &mut dyn StudyObserver,
) -> Result<SweepOutcome> {
    run(study, sweep, training, observer, PausedTrials::Leave)
}

fn run(
    study: &Study,
    sweep: &Sweep,
    training: Option<&TrainingContext>,
    observer: &mut dyn StudyObserver,
    paused: PausedTrials,
) -> Result<SweepOutcome> {
    crate::signals::install();
    let mut objective = objective(sweep, training)?;
    let OptimizeOutcome { trials, exhausted } = study.optimize_with(
        sweep.file.trials,
        objective.as_mut(),
        &mut UntilInterrupted(observer),
        paused,
    )?;
    Ok(SweepOutcome {
        study: study.record().clone(),
        trials,
        interrupted: 0,
        grid_exhausted: exhausted,
    })
}

/// An observer that also stops the study once the user pressed Ctrl-C.
struct UntilInterrupted<'o>(&'o mut dyn StudyObserver);

impl StudyObserver for UntilInterrupted<'_> {
    fn trial_started(&mut self, number: usize, resumed_from: Option<usize>) {
        self.0.trial_started(number, resumed_from);
    }
    fn trial_finished(&mut self, trial: &TrialRecord, best: Option<&TrialRecord>) {
        self.0.trial_finished(trial, best);
    }
    fn stop(&self) -> bool {
        crate::signals::interrupted() || self.0.stop()
    }
}

/// What the sweep's trials evaluate, as an objective.
fn objective<'a>(
    sweep: &'a Sweep,
    training: Option<&'a TrainingContext<'a>>,
) -> Result<Box<dyn Objective + 'a>> {
    Ok(match (&sweep.objective, training) {
        (SweepObjective::Synthetic(function), _) => Box::new(SyntheticObjective {
            sweep,
            function: *function,
        }),
        (SweepObjective::Command(spec), _) => Box::new(
            CommandObjective::new(spec, &sweep.space, sweep.runs_root())
                .with_constraints(&sweep.constraints),
        ),
        (SweepObjective::Training { .. }, Some(context)) => {
            Box::new(TrainingObjective::new(sweep, context))
        }
        (SweepObjective::Training { .. }, None) => {
            return Err(SweepError::config(
                "base",
                "a training sweep needs a device and datasets to train on",
            ));
        }
    })
}

/// A built-in test function of the sweep's space.
struct SyntheticObjective<'a> {
    sweep: &'a Sweep,
    function: anneal_tune::Synthetic,
}

impl Objective for SyntheticObjective<'_> {
    fn evaluate(&mut self, trial: &mut Trial) -> Result<Values, BoxError> {
        let params = trial.suggest_space(&self.sweep.space)?;
        Ok(self.function.evaluate(&params)?.into())
    }
}

/// Repairs what dead processes left (call it before starting workers, to report it): a trial
/// that was continuing from a pause when its process died goes back to that pause (its saved
/// state is still there) rather than failing; other trials whose process is gone fail as
/// interrupted. Trials that live processes run are left alone. Returns how many failed.
pub fn resume_study(
    study: &Study,
    sweep: &Sweep,
    training: Option<&TrainingContext>,
) -> Result<usize> {
    let failed = study.recover_stale(objective(sweep, training)?.as_ref())?;
    Ok(failed)
}

/// Records, on the trials the worker tagged `tag` held, that a signal ended it, with the last
/// lines of its standard error `stderr`, so the trial's cause is kept (and counts for the
/// failure guard, unlike an interruption); returns them.
pub fn record_worker_death(
    study: &Study,
    tag: &str,
    signal: i32,
    stderr: &str,
) -> Result<Vec<usize>> {
    let cause = anneal_tune::Cause::Killed { signal };
    let end = anneal_tune::TrialEnd::failed(
        cause,
        Some(&format!("{cause}{}", crate::command::tail_suffix(stderr))),
    );
    let mut numbers = Vec::new();
    for trial in study.storage().stale(study.id())? {
        let Some(owner) = trial.owner.as_deref().filter(|o| {
            anneal_tune::OwnerToken::parse(o).and_then(|token| token.worker) == Some(tag)
        }) else {
            continue;
        };
        let id = anneal_tune::TrialId {
            study: study.id(),
            number: trial.number,
        };
        if study.storage().fail_stale(id, owner, &end)? {
            numbers.push(trial.number);
        }
    }
    Ok(numbers)
}
