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

#[test]
fn a_retried_trial_shows_the_dead_trials_point_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("retry.db");
    // A worker claims a trial, picks its point and its process dies.
    let dead = anneal_tune::LeasedStorage::from(SqliteStorage::open(&db).unwrap());
    let study_id = dead
        .create_study(&anneal_tune::NewStudy::new("retry", Direction::Minimize))
        .unwrap()
        .id;
    let claimed = dead.claim_new(study_id, None).unwrap().unwrap();
    let point = anneal_tune::ChosenParam {
        name: "x".into(),
        value: Value::from(0.123456789),
        distribution: anneal_tune::Distribution::Float {
            low: -1.0,
            high: 1.0,
            log: false,
        },
    };
    dead.set_params(claimed, std::slice::from_ref(&point))
        .unwrap();
    drop(dead);
    let study = Study::builder()
        .name("retry")
        .storage(SqliteStorage::open(&db).unwrap())
        .retry_failed(1)
        .build()
        .unwrap();
    let other = SqliteStorage::open(&db).unwrap();
    let mut checked = false;
    // The study's budget counts the dead trial: one more runs.
    study
        .optimize(2, |trial| {
            // Claimed as the retry, nothing asked yet: its point is already on record.
            let seen = other.trials(study_id)?;
            let running = seen.iter().find(|t| t.number == trial.number()).unwrap();
            assert_eq!(running.state, TrialState::Running);
            assert_eq!(running.params, vec![("x".to_string(), point.value.clone())]);
            assert_eq!(
                running.distributions,
                vec![("x".to_string(), point.distribution.clone())]
            );
            let x = trial.suggest_float("x", -1.0, 1.0)?;
            assert_eq!(Value::from(x), point.value);
            checked = true;
            Ok(x * x)
        })
        .unwrap();
    assert!(checked, "no retry ran");
    assert_eq!(study.trials().unwrap().len(), 2);
}

#[test]
fn a_grid_over_per_layer_widths_hands_out_each_point_once() {
    // The point is recorded as claimed (depth, lr) and the per-layer widths when asked
    // (units[0], units[1]): the grid must still see it as taken.
    let space = SearchSpace::from_specs(&[
        ParamSpec {
            int: Some([1, 2]),
            ..ParamSpec::named("depth")
        },
        ParamSpec {
            choices: Some(vec![8.into(), 16.into()]),
            per_layer: Some("depth".into()),
            ..ParamSpec::named("units")
        },
        ParamSpec {
            choices: Some(vec![0.1.into(), 0.2.into()]),
            ..ParamSpec::named("lr")
        },
    ])
    .unwrap();
    let study = Study::builder()
        .name("grid-layers")
        .sampler(anneal_tune::GridSampler::new(&space, 2).unwrap())
        .search_space(space.clone())
        .build()
        .unwrap();
    let outcome = study
        .optimize(20, |trial| {
            trial.suggest_space(&space)?;
            Ok(1.0)
        })
        .unwrap();
    let points: Vec<_> = outcome
        .trials
        .iter()
        .map(|t| {
            let mut p = anneal_tune::nest_layers(&t.params);
            p.sort_by(|a, b| a.0.cmp(&b.0));
            p
        })
        .collect();
    // depth 1: 2 widths × 2 rates; depth 2: the same width on both layers, 2 × 2.
    assert_eq!(points.len(), 8, "{points:?}");
    for (i, p) in points.iter().enumerate() {
        assert!(!points[..i].contains(p), "{p:?} handed out twice");
    }
}

#[test]
fn a_nan_intermediate_value_is_pruned_as_the_worst_in_either_direction() {
    for direction in [Direction::Minimize, Direction::Maximize] {
        let study = Study::builder()
            .name(format!("nan-step-{direction}"))
            .direction(direction)
            .pruner(anneal_tune::MedianPruner {
                warmup_steps: 0,
                min_trials: 1,
            })
            .build()
            .unwrap();
        for _ in 0..3 {
            let mut trial = study.ask().unwrap();
            trial.report(1, 1.0).unwrap();
            study.tell(trial, TrialResult::Value(1.0)).unwrap();
        }
        for nan in [f64::NAN, -f64::NAN] {
            let mut trial = study.ask().unwrap();
            let decision = trial.report(1, nan);
            assert!(
                matches!(decision, Err(anneal_tune::TuneError::Pruned { .. })),
                "{direction}: a NaN at step 1 went on: {decision:?}"
            );
            study.tell(trial, TrialResult::Pruned).unwrap();
        }
    }
}

#[test]
fn the_gp_spreads_trials_running_at_once() {
    let space = plane();
    let study = Study::builder()
        .name("pending")
        .sampler(GpSampler::new(10))
        .search_space(space.clone())
        .seed(3)
        .build()
        .unwrap();
    for _ in 0..12 {
        let mut trial = study.ask().unwrap();
        let p = trial.suggest_space(&space).unwrap();
        let value = (number(&p, "x") - 1.0).powi(2) + (number(&p, "y") + 2.0).powi(2);
        study.tell(trial, TrialResult::Value(value)).unwrap();
    }
    // Four workers ask while the others' trials still run.
    let mut running = Vec::new();
    let mut points: Vec<(f64, f64)> = Vec::new();
    for _ in 0..4 {
        let mut trial = study.ask().unwrap();
        let p = trial.suggest_space(&space).unwrap();
        points.push((number(&p, "x"), number(&p, "y")));
        running.push(trial);
    }
    for (i, a) in points.iter().enumerate() {
        for b in &points[..i] {
            let gap = (a.0 - b.0).abs().max((a.1 - b.1).abs());
            assert!(
                gap > 1e-3 * 6.0,
                "two workers got nearly the same point: {points:?}"
            );
        }
    }
    assert_eq!(study.sampler().fallbacks(), 0);
}
