//! The samplers on studies as users run them: pruned, diverged and failed trials, and several
//! workers on one study.

use anneal_tune::{
    Direction, GpSampler, ParamSpec, SearchSpace, SqliteStorage, Storage, Study, TpeSampler,
    TrialResult, TrialState, Value,
};

fn square(name: &str, low: f64, high: f64) -> ParamSpec {
    ParamSpec {
        float: Some([low, high]),
        ..ParamSpec::named(name)
    }
}

fn plane() -> SearchSpace {
    SearchSpace::from_specs(&[square("x", -3.0, 3.0), square("y", -3.0, 3.0)]).unwrap()
}

fn number(params: &[(String, Value)], name: &str) -> f64 {
    params
        .iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, v)| v.as_f64())
        .unwrap()
}

#[test]
fn the_gp_does_not_ask_for_a_pruned_point_again() {
    let space = plane();
    let study = Study::builder()
        .name("pruned")
        .sampler(GpSampler::new(10))
        .search_space(space.clone())
        .seed(7)
        .build()
        .unwrap();
    // Ten told values of a quadratic, then trials the pruner stopped.
    for _ in 0..10 {
        let mut trial = study.ask().unwrap();
        let p = trial.suggest_space(&space).unwrap();
        let (x, y) = (number(&p, "x"), number(&p, "y"));
        let value = (x - 1.0).powi(2) + (y + 2.0).powi(2);
        study.tell(trial, TrialResult::Value(value)).unwrap();
    }
    let mut asked: Vec<(f64, f64)> = Vec::new();
    for _ in 0..4 {
        let mut trial = study.ask().unwrap();
        let p = trial.suggest_space(&space).unwrap();
        asked.push((number(&p, "x"), number(&p, "y")));
        study.tell(trial, TrialResult::Pruned).unwrap();
    }
    for (i, a) in asked.iter().enumerate() {
        for b in &asked[..i] {
            // 1e-6 of the range (6) in every coordinate is the same point.
            let same = (a.0 - b.0).abs() < 6e-6 && (a.1 - b.1).abs() < 6e-6;
            assert!(!same, "asked {a:?} again after it was pruned: {asked:?}");
        }
    }
}

#[test]
fn a_nan_ranks_last_whichever_the_direction() {
    for direction in [Direction::Minimize, Direction::Maximize] {
        // x86's 0/0 is a NaN with its sign bit set; negating flips it.
        let negative_nan = -f64::NAN;
        for nan in [f64::NAN, negative_nan] {
            assert_eq!(direction.loss(nan), f64::INFINITY, "{direction}");
            assert!(direction.loss(nan) > direction.loss(f64::MAX));
            assert!(direction.loss(nan) > direction.loss(-f64::MAX));
        }
        let space = SearchSpace::from_specs(&[square("x", 0.0, 1.0)]).unwrap();
        let study = Study::builder()
            .name(format!("nan-{direction}"))
            .direction(direction)
            .sampler(TpeSampler {
                startup_trials: 3,
                ..TpeSampler::default()
            })
            .search_space(space.clone())
            .seed(1)
            .build()
            .unwrap();
        // Trials at x = 0.05, 0.1, … give NaN; the others a value whose best is near 1.
        let mut nan_points = Vec::new();
        for i in 0..40 {
            let mut trial = study.ask().unwrap();
            let x = number(&trial.suggest_space(&space).unwrap(), "x");
            let value = if x < 0.3 {
                nan_points.push(x);
                if i % 2 == 0 { f64::NAN } else { negative_nan }
            } else {
                direction.loss(-x) // better toward x = 1 in either direction
            };
            study.tell(trial, TrialResult::Value(value)).unwrap();
        }
        let best = study.best_trial().unwrap().unwrap();
        assert!(best.value.unwrap().is_finite(), "{direction}: {best:?}");
        assert!(number(&best.params, "x") >= 0.3, "{direction}: {best:?}");
        // Were a NaN the best, TPE would keep proposing its neighbourhood.
        let late_nans = study
            .trials()
            .unwrap()
            .iter()
            .skip(20)
            .filter(|t| {
                t.params
                    .iter()
                    .any(|(n, v)| n == "x" && v.as_f64() < Some(0.3))
            })
            .count();
        assert!(
            late_nans <= 4,
            "{direction}: {late_nans} of the last 20 trials went back to the NaN region"
        );
    }
}

/// The share of `trials` (after the first `skip`) that failed.
fn failed_share(study: &Study, skip: usize) -> f64 {
    let trials = study.trials().unwrap();
    let late: Vec<_> = trials.iter().skip(skip).collect();
    late.iter()
        .filter(|t| t.state == TrialState::Failed)
        .count() as f64
        / late.len() as f64
}

#[test]
fn diverged_trials_steer_tpe_and_the_gp_away_from_their_region() {
    // The best values lie right beside a region where every run diverges (x < 0.3), as a
    // learning rate's best lies just below the ones that blow up.
    let space = SearchSpace::from_specs(&[square("x", 0.0, 1.0), square("z", 0.0, 1.0)]).unwrap();
    for (name, seed) in [("gp", 2), ("tpe", 2)] {
        let builder = Study::builder()
            .name(format!("diverging-{name}"))
            .search_space(space.clone())
            .seed(seed);
        let study = match name {
            "tpe" => builder.sampler(TpeSampler::default()),
            _ => builder.sampler(GpSampler::new(10)),
        }
        .build()
        .unwrap();
        study
            .optimize(60, |trial| {
                let p = trial.suggest_space(&space)?;
                let (x, z) = (number(&p, "x"), number(&p, "z"));
                Ok(if x < 0.3 {
                    f64::INFINITY
                } else {
                    x + 0.1 * (z - 0.5).powi(2)
                })
            })
            .unwrap();
        let share = failed_share(&study, 20);
        // Blind to failures, both samplers are drawn to the region's edge and diverged in 98%
        // to 100% of these trials (seeds 2 to 5); knowing them, about 35-50% (TPE, whose
        // broad good density keeps spilling over the edge) and 7-22% (GP).
        let most = if name == "gp" { 0.35 } else { 0.6 };
        assert!(
            share <= most,
            "{name}: {:.0}% of trials 20-59 diverged",
            share * 100.0
        );
    }
}

#[test]
fn a_claimed_trial_shows_its_point_to_other_workers_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("parallel.db");
    let space = plane();
    let study = Study::builder()
        .name("parallel")
        .storage(SqliteStorage::open(&db).unwrap())
        .sampler(TpeSampler::default())
        .search_space(space.clone())
        .build()
        .unwrap();
    // Claimed, and the objective has asked for nothing yet.
    let mut trial = study.ask().unwrap();
    let other = SqliteStorage::open(&db).unwrap();
    let id = other.study("parallel").unwrap().unwrap().id;
    let seen = other.trials(id).unwrap();
    let running = seen
        .iter()
        .find(|t| t.state == TrialState::Running)
        .unwrap();
    assert_eq!(running.params.len(), 2, "{running:?}");
    // The objective gets the values the other worker saw.
    let chosen = trial.suggest_space(&space).unwrap();
    assert_eq!(chosen, running.params);
    study.tell(trial, TrialResult::Value(1.0)).unwrap();
}
