//! Studies with several objectives and constraints, on the tuning core: values per objective
//! kept by every storage, the Pareto front as the result, infeasible trials kept but never
//! best, and what cannot serve several objectives refused with a message.

use anneal_tune::{
    Direction, GpSampler, MedianPruner, Nsga2Sampler, RandomSampler, SqliteStorage, Study,
    TpeSampler, TrialResult, TrialState,
};

const BOTH_MIN: [Direction; 2] = [Direction::Minimize, Direction::Minimize];

/// Schaffer's first problem: x² and (x − 2)², both minimised; its front is x ∈ [0, 2].
fn schaffer(x: f64) -> [f64; 2] {
    [x * x, (x - 2.0) * (x - 2.0)]
}

#[test]
fn two_objectives_keep_each_value_and_give_their_pareto_front() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let open = || {
        Study::builder()
            .name("schaffer")
            .storage(SqliteStorage::open(&db).unwrap())
            .directions(&BOTH_MIN)
            .sampler(Nsga2Sampler {
                population: 8,
                ..Nsga2Sampler::default()
            })
            .build()
            .unwrap()
    };
    let study = open();
    let outcome = study
        .optimize(40, |trial| {
            Ok(schaffer(trial.suggest_float("x", -1.0, 3.0)?))
        })
        .unwrap();
    assert_eq!(outcome.trials.len(), 40);
    for t in &outcome.trials {
        assert_eq!(t.state, TrialState::Complete, "{:?}", t.message);
        let x = t.params[0].1.as_f64().unwrap();
        assert_eq!(t.values, schaffer(x), "trial {}", t.number);
        assert_eq!(t.value, Some(t.values[0]), "the first objective's value");
    }
    assert_eq!(study.best_trial().unwrap(), None, "no one trial is best");
    let front = study.best_trials().unwrap();
    assert!(front.len() >= 5, "{} on the front", front.len());
    // The front is what no trial beats on both objectives, and beats every other trial.
    let beats = |a: &[f64], b: &[f64]| a[0] <= b[0] && a[1] <= b[1] && a != b;
    for t in &outcome.trials {
        let on_front = front.iter().any(|f| f.number == t.number);
        let beaten = outcome.trials.iter().any(|o| beats(&o.values, &t.values));
        assert_eq!(on_front, !beaten, "trial {} at {:?}", t.number, t.values);
    }
    // Near the true front x ∈ [0, 2] (a sampled front may hold a point just outside it).
    for t in &front {
        let x = t.params[0].1.as_f64().unwrap();
        assert!(
            (-0.2..=2.2).contains(&x),
            "x = {x} is far from Pareto-optimal"
        );
    }
    drop(study);

    // Another process reads the same directions and values back.
    let again = open();
    assert_eq!(again.directions(), BOTH_MIN);
    assert_eq!(again.trials().unwrap(), outcome.trials);
    assert_eq!(again.best_trials().unwrap(), front);
    // The study cannot be reopened with one objective.
    let err = Study::builder()
        .name("schaffer")
        .storage(SqliteStorage::open(&db).unwrap())
        .definition("{}")
        .build()
        .unwrap_err()
        .to_string();
    assert!(err.contains("different definition"), "{err}");
}

#[test]
fn a_trial_that_misses_a_constraint_is_kept_but_never_best() {
    let study = Study::builder()
        .name("constrained")
        .sampler(RandomSampler)
        .build()
        .unwrap();
    // Minimise x², subject to x ≥ 0.5 (0.5 − x ≤ 0).
    let outcome = study
        .optimize(40, |trial| {
            let x = trial.suggest_float("x", -1.0, 1.0)?;
            trial.set_constraints(&[0.5 - x])?;
            Ok(x * x)
        })
        .unwrap();
    let infeasible = outcome.trials.iter().filter(|t| !t.is_feasible()).count();
    assert!(infeasible > 10, "{infeasible} trials missed x ≥ 0.5");
    let best = study.best_trial().unwrap().unwrap();
    let x = best.params[0].1.as_f64().unwrap();
    assert!(x >= 0.5, "the best trial meets its constraint: x = {x}");
    let lowest = outcome
        .trials
        .iter()
        .map(|t| t.value.unwrap())
        .fold(f64::INFINITY, f64::min);
    assert!(
        lowest < best.value.unwrap(),
        "a lower value came from an infeasible trial"
    );
    assert_eq!(study.best_trials().unwrap(), vec![best]);
    // A constraint that is not a number is refused, naming it.
    let err = study
        .optimize(41, |trial| {
            trial.set_constraints(&[0.0, f64::NAN])?;
            Ok(0.0)
        })
        .map(|o| o.trials.last().unwrap().message.clone().unwrap_or_default())
        .unwrap();
    assert!(err.contains("constraints[1]"), "{err}");
}

#[test]
fn what_cannot_serve_several_objectives_is_refused_and_a_wrong_count_fails_the_trial() {
    let err = Study::builder()
        .name("gp")
        .directions(&BOTH_MIN)
        .sampler(GpSampler::new(10))
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("gp models one objective") && err.contains("nsga2"),
        "{err}"
    );
    let err = Study::builder()
        .name("pruned")
        .directions(&BOTH_MIN)
        .sampler(RandomSampler)
        .pruner(MedianPruner::default())
        .build()
        .unwrap_err()
        .to_string();
    assert!(err.contains("pruner") && err.contains("median"), "{err}");

    let study = Study::builder()
        .name("counted")
        .directions(&[Direction::Maximize, Direction::Minimize])
        .sampler(RandomSampler)
        .max_failures(0)
        .build()
        .unwrap();
    let outcome = study.optimize(1, |_| Ok(1.0)).unwrap();
    let message = outcome.trials[0].message.clone().unwrap();
    assert!(
        message.contains("gave 1 value(s); the study has 2 objective(s) (maximize, minimize)"),
        "{message}"
    );
    // Told from outside with both values, a trial completes.
    let trial = study.ask().unwrap();
    let told = study
        .tell(trial, TrialResult::Values(vec![0.9, 12.0]))
        .unwrap();
    assert_eq!(
        (told.state, told.values.clone()),
        (TrialState::Complete, vec![0.9, 12.0])
    );
    assert_eq!(study.best_trials().unwrap(), vec![told]);
}

#[test]
fn multi_objective_tpe_finds_more_of_the_front_than_random_search() {
    // Schaffer's problem over 60 trials: the hypervolume of the found front, seeds 0..5.
    let volume = |sampler: Box<dyn anneal_tune::Sampler>, seed: u64| {
        let study = Study::builder()
            .name("front")
            .directions(&BOTH_MIN)
            .sampler(sampler)
            .seed(seed)
            .build()
            .unwrap();
        let outcome = study
            .optimize(60, |trial| {
                Ok(schaffer(trial.suggest_float("x", -10.0, 10.0)?))
            })
            .unwrap();
        let points: Vec<Vec<f64>> = outcome.trials.iter().map(|t| t.values.clone()).collect();
        anneal_tune::hypervolume(&points, &[4.0, 4.0])
    };
    let median = |make: &dyn Fn() -> Box<dyn anneal_tune::Sampler>| {
        let mut v: Vec<f64> = (0..5).map(|seed| volume(make(), seed)).collect();
        v.sort_by(f64::total_cmp);
        v[2]
    };
    let tpe = median(&|| Box::new(TpeSampler::default()));
    let random = median(&|| Box::new(RandomSampler));
    assert!(tpe > random, "hypervolume: TPE {tpe}, random {random}");
}
