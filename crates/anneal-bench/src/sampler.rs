//! Sampler quality (simple regret on test functions with known minima, over seeds) under the
//! conditions of real studies, and the time one suggestion takes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use anneal_rng::derive_rng;
use anneal_tune::{
    Distribution, MedianPruner, MemoryStorage, RandomSampler, SamplerConfig, SearchSpace, Study,
    Synthetic, Trial, TrialRecord, TrialResult, TrialState, TuneError, Value,
};
use rand::RngExt;
use rand_distr::StandardNormal;
use serde::Serialize;

use crate::{BenchError, Result};

/// The conditions a sampler is measured under, each a variant of the same test function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// Each evaluation returns the function's value.
    Clean,
    /// Gaussian noise with the function's [`Synthetic::scale`] as standard deviation; regret
    /// is taken on the noiseless value of the best observed point.
    Noisy,
    /// [`WORKERS`] workers: each ask sees the other three trials still running, and results
    /// arrive in a random order.
    Parallel,
    /// Where the first parameter lies in the top 15% of its range ([`FAIL_ABOVE`]), the
    /// evaluation is not a number, and the trial is recorded as failed (diverged).
    Failures,
    /// A multi-fidelity objective under the median pruner: at step s = 1..=9 a trial reports
    /// f(x) + 10·scale·(1 + u₁)·(e^(−(s−1)/2) − e^(−4)), u₁ its first parameter's place in its
    /// range, so the last step reports f(x) and the curves cross.
    Pruned,
}

/// Every condition, in the order the benchmark reports them.
pub const CONDITIONS: [Condition; 5] = [
    Condition::Clean,
    Condition::Noisy,
    Condition::Parallel,
    Condition::Failures,
    Condition::Pruned,
];

/// Workers in the parallel condition.
pub const WORKERS: usize = 4;
/// The failing share of the first parameter's range, from the top.
pub const FAIL_ABOVE: f64 = 0.85;
/// Steps of the multi-fidelity objective.
pub const STEPS: usize = 9;

impl Condition {
    /// Its name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Condition::Clean => "clean",
            Condition::Noisy => "noisy",
            Condition::Parallel => "parallel",
            Condition::Failures => "failures",
            Condition::Pruned => "pruned",
        }
    }
}

/// What one study of the benchmark gave.
#[derive(Debug, Clone, Serialize)]
pub struct StudyRun {
    /// Simple regret after each of the study's trials, in trial order: the noiseless value of
    /// the best observed complete trial so far minus the minimum (∞ before any completed).
    pub regret: Vec<f64>,
    /// Pairs of trials at the same point: within 10⁻⁶ of the range in every coordinate.
    pub repeated_points: usize,
    /// Trials that failed.
    pub failed: usize,
    /// Trials the pruner stopped.
    pub pruned: usize,
    /// Suggestions the sampler drew at random because its model could not be used.
    pub fallbacks: usize,
    /// The study's trials as recorded.
    #[serde(skip)]
    pub trials: Vec<TrialRecord>,
}

/// Runs one study of `evaluations` trials of `sampler` on `function` under `condition`, with
/// study seed `seed`. The study lives in memory, so the figures are the sampler's, not the
/// storage's.
pub fn run_study(
    function: Synthetic,
    sampler: &SamplerConfig,
    condition: Condition,
    evaluations: usize,
    seed: u64,
) -> Result<StudyRun> {
    let space = SearchSpace::from_specs(&function.space())?;
    let mut builder = Study::builder()
        .name(format!("{}-{}-{seed}", function.name(), condition.name()))
        .storage(MemoryStorage::new())
        .sampler(sampler.init(Some(&space))?)
        .search_space(space.clone())
        .seed(seed);
    if condition == Condition::Pruned {
        // Optuna's defaults: five trials before pruning, no warm-up steps.
        builder = builder.pruner(MedianPruner {
            warmup_steps: 0,
            min_trials: 5,
        });
    }
    let study = builder.build()?;
    let mut noise = derive_rng(seed, "bench-noise", 0);
    let mut order = derive_rng(seed, "bench-completion-order", 0);
    // The noiseless value of each complete trial, by number.
    let mut truth: HashMap<usize, f64> = HashMap::new();
    let evaluate = |trial: &mut Trial| -> Result<(f64, f64)> {
        let point = trial.suggest_space(&space)?;
        let value = function.evaluate(&point).map_err(BenchError::Setting)?;
        Ok((value, first_position(&space, &point)))
    };
    if condition == Condition::Parallel {
        let mut running: Vec<(Trial, f64)> = Vec::new();
        let mut asked = 0;
        while asked < evaluations || !running.is_empty() {
            while running.len() < WORKERS && asked < evaluations {
                let mut trial = study.ask()?;
                let (value, _) = evaluate(&mut trial)?;
                truth.insert(trial.number(), value);
                running.push((trial, value));
                asked += 1;
            }
            let (trial, value) = running.swap_remove(order.random_range(0..running.len()));
            study.tell(trial, TrialResult::Value(value))?;
        }
    } else {
        for _ in 0..evaluations {
            let mut trial = study.ask()?;
            let (value, u1) = evaluate(&mut trial)?;
            truth.insert(trial.number(), value);
            let result = match condition {
                Condition::Noisy => {
                    let e: f64 = noise.sample(StandardNormal);
                    TrialResult::Value(value + function.scale() * e)
                }
                Condition::Failures if u1 > FAIL_ABOVE => TrialResult::Value(f64::NAN),
                Condition::Pruned => multi_fidelity(&mut trial, function, value, u1)?,
                _ => TrialResult::Value(value),
            };
            study.tell(trial, result)?;
        }
    }
    let trials = study.trials()?;
    let count = |state: TrialState| trials.iter().filter(|t| t.state == state).count();
    Ok(StudyRun {
        regret: regret(&trials, &truth, function.minimum()),
        repeated_points: repeated_points(&space, &trials),
        failed: count(TrialState::Failed),
        pruned: count(TrialState::Pruned),
        fallbacks: study.sampler().fallbacks(),
        trials,
    })
}

/// Reports the multi-fidelity curve of a point whose final value is `value`; pruned or not.
fn multi_fidelity(
    trial: &mut Trial,
    function: Synthetic,
    value: f64,
    u1: f64,
) -> Result<TrialResult> {
    for step in 1..=STEPS {
        let decay = (-((step - 1) as f64) / 2.0).exp() - (-4.0f64).exp();
        let reported = value + 10.0 * function.scale() * (1.0 + u1) * decay;
        match trial.report(step, reported) {
            Ok(()) => {}
            Err(TuneError::Pruned { .. }) => return Ok(TrialResult::Pruned),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(TrialResult::Value(value))
}

/// Where the space's first parameter lies in its range (0 at its low end, 1 at its high end).
fn first_position(space: &SearchSpace, point: &[(String, Value)]) -> f64 {
    let Some(first) = space.params.first() else {
        return 0.0;
    };
    let value = point.iter().find(|(n, _)| *n == first.name).map(|(_, v)| v);
    match (&first.distribution, value.and_then(Value::as_f64)) {
        (Distribution::Float { low, high, .. }, Some(x)) => (x - low) / (high - low),
        (Distribution::Int { low, high, .. }, Some(x)) => {
            (x - *low as f64) / (*high - *low).max(1) as f64
        }
        _ => 0.0,
    }
}

/// Simple regret after each trial (in trial order): the noiseless value of the complete trial
/// with the best observed value so far, minus the minimum.
fn regret(trials: &[TrialRecord], truth: &HashMap<usize, f64>, minimum: f64) -> Vec<f64> {
    let mut best: Option<(f64, f64)> = None; // (observed, noiseless)
    trials
        .iter()
        .map(|t| {
            if t.state == TrialState::Complete
                && let (Some(observed), Some(&noiseless)) = (t.value, truth.get(&t.number))
                && best.is_none_or(|(b, _)| observed < b)
            {
                best = Some((observed, noiseless));
            }
            best.map_or(f64::INFINITY, |(_, noiseless)| noiseless - minimum)
        })
        .collect()
}

/// Pairs of trials whose points agree within 10⁻⁶ of each range in every coordinate
/// (integers and choices: equal), failed and pruned trials included.
pub fn repeated_points(space: &SearchSpace, trials: &[TrialRecord]) -> usize {
    let same = |a: &TrialRecord, b: &TrialRecord| {
        space.params.iter().all(|p| {
            let get = |t: &TrialRecord| {
                t.params
                    .iter()
                    .find(|(n, _)| *n == p.name)
                    .map(|(_, v)| v.clone())
            };
            match (get(a), get(b), &p.distribution) {
                (Some(x), Some(y), Distribution::Float { low, high, .. }) => {
                    match (x.as_f64(), y.as_f64()) {
                        (Some(x), Some(y)) => (x - y).abs() <= 1e-6 * (high - low),
                        _ => false,
                    }
                }
                (Some(x), Some(y), _) => x == y,
                _ => false,
            }
        })
    };
    let with_point: Vec<&TrialRecord> = trials.iter().filter(|t| !t.params.is_empty()).collect();
    let mut pairs = 0;
    for (i, a) in with_point.iter().enumerate() {
        pairs += with_point[..i].iter().filter(|b| same(a, b)).count();
    }
    pairs
}

/// Quartiles of a sample (linear interpolation between order statistics).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Quartiles {
    /// 25th percentile.
    pub q1: f64,
    /// The median.
    pub median: f64,
    /// 75th percentile.
    pub q3: f64,
}

impl Quartiles {
    /// The quartiles of `values` (at least one).
    pub fn of(values: &[f64]) -> Self {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let at = |q: f64| {
            let pos = q * (sorted.len() - 1) as f64;
            let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
            sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
        };
        Self {
            q1: at(0.25),
            median: at(0.5),
            q3: at(0.75),
        }
    }
}

/// Milliseconds one more trial of Hartmann-6 (6 parameters) takes to get its parameters from
/// `sampler` with `history` random complete trials in the study (mean of `rounds`).
pub fn suggestion_ms(sampler: &SamplerConfig, history: usize, rounds: usize) -> Result<f64> {
    let space = SearchSpace::from_specs(&Synthetic::Hartmann6.space())?;
    let storage = Arc::new(MemoryStorage::new());
    let filled = Study::builder()
        .name("overhead")
        .storage(storage.clone())
        .sampler(RandomSampler)
        .build()?;
    filled.optimize(history, |trial| {
        let point = trial.suggest_space(&space)?;
        Ok(Synthetic::Hartmann6.evaluate(&point)?)
    })?;
    let timed = Study::builder()
        .name("overhead")
        .storage(storage)
        .sampler(sampler.init(Some(&space))?)
        .build()?;
    time_suggestions(&timed, &space, rounds)
}

/// Milliseconds `study` takes to hand out one trial's point in `space` (mean of `rounds`).
/// Each timed trial is told failed: the samplers see it as a failure, so the history grows
/// by at most `rounds` trials.
pub fn time_suggestions(study: &Study, space: &SearchSpace, rounds: usize) -> Result<f64> {
    let started = Instant::now();
    for _ in 0..rounds.max(1) {
        let mut trial = study.ask()?;
        trial.suggest_space(space)?;
        study.tell(trial, TrialResult::Failed("timing only".into()))?;
    }
    Ok(started.elapsed().as_secs_f64() * 1000.0 / rounds.max(1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A complete trial of Branin at (x1, x2).
    fn record(number: usize, x1: f64, x2: f64) -> TrialRecord {
        TrialRecord {
            cause: None,
            retried_as: None,
            number,
            state: TrialState::Complete,
            params: vec![
                ("x1".into(), Value::from(x1)),
                ("x2".into(), Value::from(x2)),
            ],
            distributions: Vec::new(),
            value: Some(0.0),
            values: Vec::new(),
            constraints: Vec::new(),
            intermediate: Vec::new(),
            started: 0.0,
            finished: Some(1.0),
            running_seconds: 1.0,
            message: None,
            run_dir: None,
            owner: None,
        }
    }

    #[test]
    fn quartiles_interpolate_between_order_statistics() {
        let q = Quartiles::of(&[4.0, 1.0, 3.0, 2.0, 5.0]);
        assert_eq!((q.q1, q.median, q.q3), (2.0, 3.0, 4.0));
        let q = Quartiles::of(&[1.0, 2.0]);
        assert_eq!((q.q1, q.median, q.q3), (1.25, 1.5, 1.75));
    }

    #[test]
    fn a_regret_curve_never_rises_and_ends_at_the_best_trial() {
        let run = run_study(
            Synthetic::Branin,
            &SamplerConfig::Random,
            Condition::Clean,
            30,
            3,
        )
        .unwrap();
        let curve = run.regret;
        assert_eq!(curve.len(), 30);
        assert!(curve.windows(2).all(|w| w[1] <= w[0]));
        assert!(curve[29] >= 0.0 && curve[29] < curve[0].max(1e-9) + 1e-12);
        assert_eq!((run.failed, run.pruned, run.repeated_points), (0, 0, 0));
    }

    #[test]
    fn each_condition_does_what_it_says() {
        let tpe = SamplerConfig::default();
        // Failures: exactly the trials whose x1 lies in the top 15% of [−5, 10] failed.
        let failures = run_study(Synthetic::Branin, &tpe, Condition::Failures, 40, 1).unwrap();
        assert!(failures.failed > 0 && failures.failed < 40, "{failures:?}");
        for t in &failures.trials {
            let x1 = t
                .params
                .iter()
                .find(|(n, _)| n == "x1")
                .unwrap()
                .1
                .as_f64()
                .unwrap();
            let failing = (x1 + 5.0) / 15.0 > FAIL_ABOVE;
            assert_eq!(t.state == TrialState::Failed, failing, "{t:?}");
        }
        // Pruned: the median pruner stopped some, and the regret is on complete trials.
        let pruned = run_study(Synthetic::Branin, &tpe, Condition::Pruned, 40, 1).unwrap();
        assert!(pruned.pruned > 0 && pruned.pruned < 40, "{pruned:?}");
        assert!(pruned.regret[39].is_finite() && pruned.regret[39] >= 0.0);
        // Noisy: the regret is the noiseless one, never below the minimum.
        let noisy = run_study(Synthetic::Hartmann6, &tpe, Condition::Noisy, 30, 1).unwrap();
        assert!(noisy.regret.iter().all(|r| *r >= 0.0), "{noisy:?}");
        // Parallel: every asked trial is told, in another order than asked.
        let parallel = run_study(Synthetic::Branin, &tpe, Condition::Parallel, 30, 1).unwrap();
        assert_eq!(parallel.regret.len(), 30);
        assert!(parallel.regret[29].is_finite());
        assert!(
            parallel
                .trials
                .iter()
                .all(|t| t.state == TrialState::Complete)
        );
        let ends: Vec<f64> = parallel
            .trials
            .iter()
            .map(|t| t.finished.unwrap())
            .collect();
        assert!(
            ends.windows(2).any(|w| w[1] < w[0]),
            "told in order: {ends:?}"
        );
    }

    #[test]
    fn noisy_regret_is_the_noiseless_value_of_the_best_observed_trial() {
        // Observed (noisy) 5, 3, 4: trial 1 looks best though its noiseless value, 10, is the
        // worst; the regret follows what the study would pick, not what is truly best.
        let trial = |number: usize, observed: f64| TrialRecord {
            value: Some(observed),
            ..record(number, 0.0, 0.0)
        };
        let trials = [trial(0, 5.0), trial(1, 3.0), trial(2, 4.0)];
        let truth = HashMap::from([(0, 1.0), (1, 10.0), (2, 2.0)]);
        assert_eq!(regret(&trials, &truth, 0.5), vec![0.5, 9.5, 9.5]);
    }

    #[test]
    fn repeated_points_count_pairs_within_a_millionth_of_the_range() {
        let space = SearchSpace::from_specs(&Synthetic::Branin.space()).unwrap();
        let trials = [
            record(0, 1.0, 2.0),
            record(1, 1.0 + 1e-5, 2.0), // 15·10⁻⁶ is within 10⁻⁶ of 15
            record(2, 1.0, 2.0 + 1e-4), // not
            record(3, 1.0, 2.0),
        ];
        assert_eq!(repeated_points(&space, &trials), 3);
    }
}
