//! Study storage throughput: trials per second with several workers sharing one study (each
//! with its own storage handle, as separate processes have), and how many rows the tuner reads
//! from the storage per trial, which must stay flat however many trials and steps came before.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anneal_tune::{
    Change, Condition, Direction, Lease, LeaseState, LeasedStorage, MedianPruner, NewStudy,
    StepValue, Storage, StorageOptions, Study, StudyId, StudyRecord, TpeSampler, TrialId,
    TrialRecord, open_storage,
};

use crate::{BenchError, Result};

/// One measurement's settings.
#[derive(Debug, Clone)]
pub struct StorageBench {
    /// Where the study goes: a SQLite file or a PostgreSQL URL (a fresh study is made there).
    pub location: String,
    /// Workers sharing the study, each on its own thread with its own storage handle.
    pub workers: usize,
    /// Trials in the study.
    pub trials: usize,
    /// How long one trial's objective takes (slept, spread over its steps).
    pub objective: Duration,
    /// Intermediate values each trial reports (median pruning reads them).
    pub steps: usize,
}

/// What one measurement found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StorageFigures {
    /// Trials finished per second of wall time.
    pub trials_per_second: f64,
    /// Wall time of the whole study.
    pub seconds: f64,
    /// Storage calls per trial, over every worker.
    pub calls_per_trial: f64,
    /// Rows (trials and their intermediate values) the study loop and sampler read per trial,
    /// over the study's first quarter.
    pub history_rows_early: f64,
    /// The same over its last quarter: flat, since finished trials are kept and not read again.
    pub history_rows_late: f64,
    /// Values the median pruner read per trial (one step of every trial), first quarter.
    pub pruner_rows_early: f64,
    /// The same over the last quarter (grows with the trials that reported at each step).
    pub pruner_rows_late: f64,
}

/// Runs one study on `bench.location` with `bench.workers` workers; the study is named
/// `storage-bench-<workers>-<nanos>` so reruns never collide.
pub fn storage_throughput(bench: &StorageBench) -> Result<StorageFigures> {
    if bench.workers == 0 || bench.trials == 0 || bench.steps == 0 {
        return Err(BenchError::Setting(
            "workers, trials and steps must each be at least 1".into(),
        ));
    }
    let name = format!(
        "storage-bench-{}-{}",
        bench.workers,
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    );
    let counts = Arc::new(Counts::default());
    let step_sleep = bench.objective / bench.steps as u32;
    let started = Instant::now();
    std::thread::scope(|scope| -> Result<()> {
        let handles: Vec<_> = (0..bench.workers)
            .map(|_| {
                let (counts, name) = (counts.clone(), name.clone());
                scope.spawn(move || -> Result<()> {
                    let storage = open_storage(&bench.location, &StorageOptions::default())?;
                    let counting = Counting {
                        inner: storage.shared_storage(),
                        counts,
                    };
                    let study = Study::builder()
                        .name(name)
                        .storage(LeasedStorage::from(counting).with_lease(storage.lease()))
                        .direction(Direction::Minimize)
                        .sampler(TpeSampler::default())
                        .pruner(MedianPruner::default())
                        .build()?;
                    study.optimize(bench.trials, |trial| {
                        let x = trial.suggest_float("x", -5.0, 5.0)?;
                        let y = trial.suggest_float("y", -5.0, 5.0)?;
                        let value = (x - 1.0).powi(2) + (y + 2.0).powi(2);
                        for step in 1..=bench.steps {
                            std::thread::sleep(step_sleep);
                            trial.report(step, value + 1.0 / step as f64)?;
                        }
                        Ok(value)
                    })?;
                    Ok(())
                })
            })
            .collect();
        for handle in handles {
            handle.join().expect("a bench worker panicked")?;
        }
        Ok(())
    })?;
    let seconds = started.elapsed().as_secs_f64();
    let per_trial = |kind: Read, quarter: usize| {
        counts.rows[kind as usize][quarter].load(Ordering::Relaxed) as f64
            / (bench.trials as f64 / 4.0).max(1.0)
    };
    Ok(StorageFigures {
        trials_per_second: bench.trials as f64 / seconds,
        seconds,
        calls_per_trial: counts.calls.load(Ordering::Relaxed) as f64 / bench.trials as f64,
        history_rows_early: per_trial(Read::History, 0),
        history_rows_late: per_trial(Read::History, 3),
        pruner_rows_early: per_trial(Read::Pruner, 0),
        pruner_rows_late: per_trial(Read::Pruner, 3),
    })
}

/// Calls and rows read, the rows split by which quarter of the study was under way.
#[derive(Default)]
struct Counts {
    calls: AtomicU64,
    claimed: AtomicU64,
    trials_total: AtomicU64,
    rows: [[AtomicU64; 4]; 2],
}

/// Who read: the study loop and sampler (trials), or the pruner (values at one step).
#[derive(Clone, Copy)]
enum Read {
    History = 0,
    Pruner = 1,
}

impl Counts {
    fn read(&self, kind: Read, rows: usize) {
        let claimed = self.claimed.load(Ordering::Relaxed);
        let total = self.trials_total.load(Ordering::Relaxed).max(1);
        let quarter = ((claimed * 4) / total).min(3) as usize;
        self.rows[kind as usize][quarter].fetch_add(rows as u64, Ordering::Relaxed);
    }
}

fn rows_of(trials: &[TrialRecord]) -> usize {
    trials.iter().map(|t| 1 + t.intermediate.len()).sum()
}

/// A storage that counts what passes through it.
struct Counting {
    inner: Arc<dyn Storage>,
    counts: Arc<Counts>,
}

impl Counting {
    fn call(&self) {
        self.counts.calls.fetch_add(1, Ordering::Relaxed);
    }
}

impl Storage for Counting {
    fn location(&self) -> String {
        self.inner.location()
    }
    fn add_study(&self, new: &NewStudy) -> anneal_tune::Result<()> {
        self.call();
        self.inner.add_study(new)
    }
    fn study(&self, name: &str) -> anneal_tune::Result<Option<StudyRecord>> {
        self.call();
        self.inner.study(name)
    }
    fn studies(&self) -> anneal_tune::Result<Vec<StudyRecord>> {
        self.call();
        self.inner.studies()
    }
    fn delete_study(&self, study: StudyId) -> anneal_tune::Result<()> {
        self.call();
        self.inner.delete_study(study)
    }
    fn claim_new(
        &self,
        study: StudyId,
        budget: Option<usize>,
        lease: Option<Lease<'_>>,
    ) -> anneal_tune::Result<Option<TrialId>> {
        self.call();
        let claimed = self.inner.claim_new(study, budget, lease)?;
        if let Some(budget) = budget {
            self.counts
                .trials_total
                .store(budget as u64, Ordering::Relaxed);
        }
        if claimed.is_some() {
            self.counts.claimed.fetch_add(1, Ordering::Relaxed);
        }
        Ok(claimed)
    }
    fn update(
        &self,
        trial: TrialId,
        when: Condition<'_>,
        change: Change<'_>,
    ) -> anneal_tune::Result<bool> {
        self.call();
        self.inner.update(trial, when, change)
    }
    fn renew(&self, lease: Lease<'_>) -> anneal_tune::Result<usize> {
        self.call();
        self.inner.renew(lease)
    }
    fn leases(&self, study: StudyId) -> anneal_tune::Result<Vec<LeaseState>> {
        // Owners and lease ends only, not trials: a stale trial is then read whole (counted).
        self.call();
        self.inner.leases(study)
    }
    fn trials_except(
        &self,
        study: StudyId,
        known: &[usize],
    ) -> anneal_tune::Result<Vec<TrialRecord>> {
        self.call();
        let trials = self.inner.trials_except(study, known)?;
        self.counts.read(Read::History, rows_of(&trials));
        Ok(trials)
    }
    fn trial(&self, trial: TrialId) -> anneal_tune::Result<Option<TrialRecord>> {
        self.call();
        let record = self.inner.trial(trial)?;
        self.counts.read(
            Read::History,
            record
                .as_ref()
                .map_or(0, |t| rows_of(std::slice::from_ref(t))),
        );
        Ok(record)
    }
    fn values_at(&self, study: StudyId, step: usize) -> anneal_tune::Result<Vec<StepValue>> {
        self.call();
        let values = self.inner.values_at(study, step)?;
        self.counts.read(Read::Pruner, values.len());
        Ok(values)
    }
}
