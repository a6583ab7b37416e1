//! The define-by-run API: studies driven by closures and by ask/tell, every sampler on spaces
//! that change from trial to trial, pruning through `report`, and both storages.

use std::sync::Arc;

#[path = "support/lease.rs"]
mod lease;

use anneal_tune::{
    AshaPruner, BoxError, ChosenParam, Direction, Distribution, GpSampler, GridSampler,
    LeasedStorage, MedianPruner, MemoryStorage, ParamSpec, RandomSampler, Sampler, SearchSpace,
    SqliteStorage, Storage, Study, TpeSampler, Trial, TrialResult, TrialState, TuneError,
};

fn samplers() -> Vec<(&'static str, Box<dyn Sampler>)> {
    vec![
        ("random", Box::new(RandomSampler)),
        ("tpe", Box::new(TpeSampler::default())),
        (
            "tpe-mv",
            Box::new(TpeSampler {
                multivariate: true,
                ..TpeSampler::default()
            }),
        ),
        ("gp", Box::new(GpSampler::default())),
    ]
}

/// An objective whose space depends on its own choices: `momentum` only for sgd, one width per
/// layer.
fn conditional(trial: &mut Trial) -> Result<f64, BoxError> {
    let lr = trial.suggest_float_log("lr", 1e-4, 1.0)?;
    let optimizer = trial.suggest_categorical("optimizer", &["adam", "sgd"])?;
    let mut value = (lr.log10() + 2.0).powi(2);
    if optimizer == "sgd" {
        let momentum = trial.suggest_float("momentum", 0.0, 0.99)?;
        value += (momentum - 0.9).powi(2);
    } else {
        value += 0.05;
    }
    let layers = trial.suggest_int("layers", 1, 3)?;
    for i in 0..layers {
        let width = trial.suggest_int_log(&format!("width[{i}]"), 8, 512)?;
        value += ((width as f64).log2() - 6.0).abs() * 0.01;
    }
    Ok(value)
}

#[test]
fn every_sampler_handles_parameters_seen_in_only_some_trials() {
    for (name, sampler) in samplers() {
        let study = Study::builder()
            .name("conditional")
            .sampler(sampler)
            .seed(3)
            .build()
            .unwrap();
        let outcome = study.optimize(30, conditional).unwrap();
        assert_eq!(outcome.trials.len(), 30, "{name}");
        for t in &outcome.trials {
            assert_eq!(t.state, TrialState::Complete, "{name}: {:?}", t.message);
            let sgd = t.params.iter().any(|(n, v)| n == "optimizer" && v == "sgd");
            let has_momentum = t.params.iter().any(|(n, _)| n == "momentum");
            assert_eq!(sgd, has_momentum, "{name}: {:?}", t.params);
            let layers = t
                .params
                .iter()
                .find(|(n, _)| n == "layers")
                .unwrap()
                .1
                .as_i64();
            let widths = t
                .params
                .iter()
                .filter(|(n, _)| n.starts_with("width["))
                .count();
            assert_eq!(Some(widths as i64), layers, "{name}: {:?}", t.params);
            // Every recorded value lies in its recorded distribution.
            for ((n, v), (m, d)) in t.params.iter().zip(&t.distributions) {
                assert_eq!(n, m);
                assert!(d.contains(v), "{name}: {n} = {v} outside {d:?}");
            }
        }
        let best = study.best_trial().unwrap().unwrap().value.unwrap();
        assert!(best < 0.5, "{name} found only {best}");
    }
}

#[test]
fn ask_and_tell_give_the_same_trials_as_optimize_for_the_same_seed() {
    for (name, _) in samplers() {
        let build = |study_name: &str| {
            let sampler = samplers().into_iter().find(|(n, _)| *n == name).unwrap().1;
            Study::builder()
                .name(study_name)
                .sampler(sampler)
                .seed(11)
                .build()
                .unwrap()
        };
        let driven = build("optimize");
        driven.optimize(20, conditional).unwrap();
        let asked = build("ask-tell");
        for _ in 0..20 {
            let mut trial = asked.ask().unwrap();
            let value = conditional(&mut trial).unwrap();
            asked.tell(trial, TrialResult::Value(value)).unwrap();
        }
        let params = |study: &Study| -> Vec<_> {
            study
                .trials()
                .unwrap()
                .into_iter()
                .map(|t| (t.params, t.value))
                .collect()
        };
        assert_eq!(params(&driven), params(&asked), "{name}");
    }
}

#[test]
fn a_study_in_sqlite_reopens_with_its_trials_and_continues_the_same_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let open = || {
        Study::builder()
            .name("resume")
            .storage(SqliteStorage::open(&db).unwrap())
            .sampler(TpeSampler::default())
            .seed(5)
            .build()
            .unwrap()
    };
    open().optimize(12, conditional).unwrap();
    let resumed = open();
    assert_eq!(
        resumed.trials().unwrap().len(),
        12,
        "the budget counts earlier trials"
    );
    resumed.optimize(25, conditional).unwrap();

    let memory = Study::builder()
        .name("memory")
        .sampler(TpeSampler::default())
        .seed(5)
        .build()
        .unwrap();
    memory.optimize(25, conditional).unwrap();
    let params = |study: &Study| -> Vec<_> {
        study
            .trials()
            .unwrap()
            .into_iter()
            .map(|t| t.params)
            .collect()
    };
    // Bit for bit: values read back from the file equal the values sampled in memory.
    assert_eq!(
        params(&resumed),
        params(&memory),
        "both storages replay one sequence"
    );
}

#[test]
fn report_prunes_through_the_median_rule_and_failures_keep_their_message() {
    let study = Study::builder()
        .name("pruned")
        .direction(Direction::Maximize)
        .sampler(RandomSampler)
        .pruner(MedianPruner {
            warmup_steps: 1,
            min_trials: 2,
        })
        .build()
        .unwrap();
    let outcome = study
        .optimize(12, |trial| {
            let quality = trial.suggest_float("quality", 0.0, 1.0)?;
            if trial.number() == 11 {
                return Err("out of data".into());
            }
            for step in 1..=5 {
                trial.report(step, quality * step as f64)?;
            }
            Ok(quality * 5.0)
        })
        .unwrap();
    let pruned: Vec<_> = outcome
        .trials
        .iter()
        .filter(|t| t.state == TrialState::Pruned)
        .collect();
    assert!(!pruned.is_empty(), "low quality trials are pruned");
    for t in &pruned {
        let (step, _) = t.last_step().unwrap();
        assert!(
            step >= 2 && step < 5,
            "pruned after warm-up, before the end: {step}"
        );
        assert_eq!(
            t.message.as_deref(),
            Some(format!("pruned after step {step}").as_str())
        );
        assert_eq!(
            t.value,
            Some(t.intermediate.last().unwrap().1),
            "best so far kept"
        );
    }
    let failed = &outcome.trials[11];
    assert_eq!(failed.state, TrialState::Failed);
    assert_eq!(failed.message.as_deref(), Some("out of data"));
}

#[test]
fn the_median_pruner_compares_with_completed_trials_at_the_same_step() {
    let study = Study::builder()
        .name("median")
        .direction(Direction::Maximize)
        .pruner(MedianPruner {
            warmup_steps: 1,
            min_trials: 3,
        })
        .build()
        .unwrap();
    for curve in [[0.2, 0.5, 0.8], [0.3, 0.6, 0.8], [0.1, 0.7, 0.9]] {
        let mut trial = study.ask().unwrap();
        for (step, v) in curve.iter().enumerate() {
            trial.record(step + 1, *v).unwrap();
        }
        study.tell(trial, TrialResult::Value(curve[2])).unwrap();
    }
    // Step 2's median of (0.5, 0.6, 0.7) is 0.6: for a maximised value whose best so far is
    // 0.55, the trial is pruned...
    let mut low = study.ask().unwrap();
    low.record(1, 0.3).unwrap();
    assert!(matches!(
        low.report(2, 0.55),
        Err(TuneError::Pruned { step: 2 })
    ));
    // ...but one dip after a good value is not (Optuna's rule: the best so far is compared).
    let mut dipped = study.ask().unwrap();
    dipped.record(1, 0.9).unwrap();
    assert!(dipped.report(2, 0.55).is_ok());
    let mut high = study.ask().unwrap();
    assert!(high.report(1, 0.0).is_ok(), "no pruning during warm-up");
    assert!(high.report(2, 0.65).is_ok());
    assert!(
        high.report(4, 0.0).is_ok(),
        "no completed trial reached step 4"
    );
}

#[test]
fn asha_without_pausing_continues_only_the_leader_of_a_rung() {
    let study = Study::builder()
        .name("asha")
        .sampler(RandomSampler)
        .pruner(AshaPruner {
            min_resource: 1,
            reduction_factor: 3,
        })
        .build()
        .unwrap();
    let outcome = study
        .optimize(20, |trial| {
            let x = trial.suggest_float("x", 0.0, 1.0)?;
            for step in 1..=9 {
                trial.report(step, x + 1.0 / step as f64)?;
            }
            Ok(x)
        })
        .unwrap();
    assert!(outcome.trials.iter().all(|t| t.state != TrialState::Paused));
    let pruned: Vec<usize> = outcome
        .trials
        .iter()
        .filter(|t| t.state == TrialState::Pruned)
        .map(|t| t.last_step().unwrap().0)
        .collect();
    assert!(!pruned.is_empty());
    assert!(
        pruned.iter().all(|s| [1, 3].contains(s)),
        "only at rungs: {pruned:?}"
    );
    // At each rung a trial went on exactly when it ranked in the best third of the trials
    // there so far (itself included), or, failing that, when none of them beat it; trials run
    // one after another here, so "so far" is the trials numbered before it.
    let at = |t: &anneal_tune::TrialRecord, rung: usize| {
        t.intermediate
            .iter()
            .find(|(s, _)| *s == rung)
            .map(|(_, v)| *v)
    };
    let mut leaders = 0;
    for rung in [1, 3] {
        for (i, trial) in outcome.trials.iter().enumerate() {
            let Some(value) = at(trial, rung) else {
                continue;
            };
            let earlier: Vec<f64> = outcome.trials[..i]
                .iter()
                .filter_map(|t| at(t, rung))
                .collect();
            let better = earlier.iter().filter(|&&v| v < value).count();
            let promotable = better < (earlier.len() + 1) / 3;
            let went_on = trial.last_step().unwrap().0 > rung;
            assert_eq!(
                went_on,
                promotable || better == 0,
                "trial {} at rung {rung}: {value} against {earlier:?}",
                trial.number
            );
            leaders += usize::from(went_on);
        }
    }
    assert!(leaders > 0, "some trial went on past a rung");
    assert!(
        outcome
            .trials
            .iter()
            .any(|t| t.state == TrialState::Complete && t.intermediate.len() == 9),
        "a leader trained to the end"
    );
}

#[test]
fn a_grid_ends_the_study_when_its_points_run_out() {
    let specs = [
        ParamSpec {
            choices: Some(vec!["a".into(), "b".into()]),
            ..ParamSpec::named("k")
        },
        ParamSpec {
            int: Some([1, 3]),
            ..ParamSpec::named("n")
        },
    ];
    let space = SearchSpace::from_specs(&specs).unwrap();
    let study = Study::builder()
        .name("grid")
        .sampler(GridSampler::new(&space, 5).unwrap())
        .build()
        .unwrap();
    let outcome = study
        .optimize(50, |trial| {
            let point = trial.suggest_space(&space)?;
            Ok(point[1].1.as_f64().unwrap())
        })
        .unwrap();
    assert!(outcome.exhausted);
    assert_eq!(outcome.trials.len(), 6, "2 × 3 points, each once");
    let err = study.ask().unwrap_err().to_string();
    assert!(err.contains("no point left"), "{err}");
}

#[test]
fn bad_suggestions_are_errors_naming_the_parameter() {
    let study = Study::builder().name("bad").build().unwrap();
    let mut trial = study.ask().unwrap();
    let err = trial
        .suggest_float_log("lr", 0.0, 1.0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`lr`") && err.contains("low > 0"), "{err}");
    let err = trial.suggest_int("n", 5, 1).unwrap_err().to_string();
    assert!(err.contains("`n`") && err.contains("low ≤ high"), "{err}");
    trial.suggest_float("x", 0.0, 1.0).unwrap();
    let err = trial.suggest_int("x", 0, 3).unwrap_err().to_string();
    assert!(err.contains("another distribution"), "{err}");
    let again = trial.suggest_float("x", 0.0, 1.0).unwrap();
    assert_eq!(
        Some(again),
        trial.params()[0].1.as_f64(),
        "the same name, the same value"
    );
}

#[test]
fn tell_by_number_ends_a_trial_once() {
    let storage = Arc::new(MemoryStorage::new());
    let open = || {
        Study::builder()
            .name("cli")
            .storage(storage.clone())
            .build()
            .unwrap()
    };
    let asker = open();
    let mut trial = asker.ask().unwrap();
    trial
        .suggest(
            "x",
            Distribution::Float {
                low: 0.0,
                high: 1.0,
                log: false,
            },
        )
        .unwrap();
    let number = trial.number();
    drop(trial);
    // Another process tells it.
    let teller = open();
    let record = teller
        .tell_number(number, TrialResult::Value(0.25))
        .unwrap();
    assert_eq!(
        (record.state, record.value),
        (TrialState::Complete, Some(0.25))
    );
    let err = teller
        .tell_number(number, TrialResult::Pruned)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not running"), "{err}");
    assert!(teller.tell_number(7, TrialResult::Pruned).is_err());
}

#[test]
fn a_schema_0_database_is_upgraded_with_its_values() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.db");
    write_schema_0(&db);
    let storage = SqliteStorage::open(&db).unwrap();
    let study = storage.study("old").unwrap().unwrap();
    let trials = storage.trials(study.id).unwrap();
    assert_eq!(trials.len(), 1);
    assert_eq!(trials[0].intermediate, vec![(1, 0.5), (2, 0.75)]);
    assert_eq!(trials[0].params[0].0, "x");
    assert_eq!(storage.values_at(study.id, 2).unwrap()[0].value, 0.75);
}

/// Writes a database as the first schema did (a JSON list of intermediate values per trial).
fn write_schema_0(path: &std::path::Path) {
    let sql = "CREATE TABLE studies (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, direction TEXT NOT NULL, objective TEXT NOT NULL, sampler TEXT NOT NULL, sweep TEXT NOT NULL, seed INTEGER NOT NULL, created REAL NOT NULL);
CREATE TABLE trials (study_id INTEGER NOT NULL, number INTEGER NOT NULL, state TEXT NOT NULL, params TEXT NOT NULL, value REAL, intermediate TEXT NOT NULL DEFAULT '[]', seed INTEGER NOT NULL, started REAL NOT NULL, finished REAL, error TEXT, run_dir TEXT, PRIMARY KEY (study_id, number));
INSERT INTO studies VALUES (1, 'old', 'maximize', 'synthetic:branin', '\"random\"', '{}', 0, 0.0);
INSERT INTO trials VALUES (1, 0, 'complete', '[[\"x\", 0.5]]', 0.75, '[[1, 0.5], [2, 0.75]]', 0, 0.0, 1.0, NULL, NULL);";
    rusqlite::Connection::open(path)
        .unwrap()
        .execute_batch(sql)
        .unwrap();
}

#[test]
fn a_live_trial_is_only_its_holders_and_a_lapsed_lease_makes_it_stale() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lease.db");
    // Time moves only when the test says: no sleeping through leases.
    let lease = std::time::Duration::from_secs(60);
    let clock = anneal_tune::ManualClock::at(1.0e9);
    let open = || {
        LeasedStorage::from(
            SqliteStorage::open(&db)
                .unwrap()
                .with_clock(std::sync::Arc::new(clock.clone())),
        )
    };
    let (first, second) = (open().with_lease(lease), open().with_lease(lease));
    let study = first
        .create_study(&anneal_tune::NewStudy::new("s", Direction::Minimize))
        .unwrap();
    lease::check_lease_rules(&first, &second, study.id, lease, &|d| clock.advance(d));
    // A handle that is dropped (its process died) makes its trials stale at once.
    let gone = open();
    let orphan = gone.claim_new(study.id, Some(5)).unwrap().unwrap();
    assert!(
        second.stale(study.id).unwrap().is_empty(),
        "alive while open"
    );
    drop(gone);
    let stale = second.stale(study.id).unwrap();
    assert_eq!(
        stale.iter().map(|t| t.number).collect::<Vec<_>>(),
        [orphan.number]
    );
}

#[test]
fn a_schema_0_database_takes_new_trials() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.db");
    write_schema_0(&db);
    let study = Study::builder()
        .name("fresh")
        .storage(SqliteStorage::open(&db).unwrap())
        .sampler(RandomSampler)
        .build()
        .unwrap();
    let outcome = study
        .optimize(3, |trial| Ok(trial.suggest_float("x", 0.0, 1.0)?))
        .unwrap();
    assert_eq!(outcome.trials.len(), 3);
    assert!(
        outcome
            .trials
            .iter()
            .all(|t| t.state == TrialState::Complete)
    );
}

#[test]
fn a_trial_whose_process_died_is_retried_with_its_parameters() {
    use anneal_tune::{Distribution, Value};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("retry.db");
    let new = anneal_tune::NewStudy::new("retry", Direction::Minimize);
    // A process claims a trial and dies before choosing anything; another claims one, picks
    // its parameter and dies.
    let dead = LeasedStorage::from(SqliteStorage::open(&db).unwrap());
    let study_id = dead.create_study(&new).unwrap().id;
    dead.claim_new(study_id, None).unwrap().unwrap();
    let claimed = dead.claim_new(study_id, None).unwrap().unwrap();
    let x = Value::from(0.123456789);
    let distribution = Distribution::Float {
        low: -1.0,
        high: 1.0,
        log: false,
    };
    dead.set_params(
        claimed,
        &[ChosenParam {
            name: "x".into(),
            value: x.clone(),
            distribution,
        }],
    )
    .unwrap();
    drop(dead);
    let study = Study::builder()
        .name("retry")
        .storage(SqliteStorage::open(&db).unwrap())
        .retry_failed(1)
        .build()
        .unwrap();
    let mut seen = Vec::new();
    let outcome = study
        .optimize(4, |trial| {
            let x = trial.suggest_float("x", -1.0, 1.0)?;
            seen.push((trial.number(), x));
            Ok(x * x)
        })
        .unwrap();
    let empty = &outcome.trials[0];
    assert_eq!(empty.cause, Some(anneal_tune::Cause::ProcessExited));
    assert_eq!(
        empty.retried_as, None,
        "a trial without parameters has nothing to retry"
    );
    let failed = &outcome.trials[1];
    assert_eq!(failed.state, TrialState::Failed);
    assert_eq!(failed.cause, Some(anneal_tune::Cause::ProcessExited));
    assert_eq!(failed.retried_as, Some(2));
    assert!(
        failed.note().unwrap().ends_with("; retried as trial 2"),
        "{:?}",
        failed.note()
    );
    assert_eq!(
        seen[0],
        (2, 0.123456789),
        "the retry has the same parameters"
    );
    assert_ne!(seen[1].1, 0.123456789, "later trials are sampled");
    assert_eq!(outcome.trials.len(), 4, "retries count toward the budget");
}
