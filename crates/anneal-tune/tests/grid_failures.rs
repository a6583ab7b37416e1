//! A grid whose objective fails on some points: every untried point runs before a failed one
//! is retried, a failed point is retried `failed_point_retries` times (default 1), and points
//! that running trials hold are never handed out twice.

use anneal_tune::{
    BoxError, ParamSpec, SamplerConfig, SearchSpace, Study, Trial, TrialResult, TrialState,
};

fn space() -> SearchSpace {
    SearchSpace::from_specs(&[ParamSpec {
        choices: Some(vec![1.into(), 2.into(), 3.into(), 4.into()]),
        ..ParamSpec::named("c")
    }])
    .unwrap()
}

fn grid(settings: &str) -> SamplerConfig {
    toml::from_str(&format!("kind = \"grid\"\n{settings}")).unwrap()
}

/// The `c` each trial ran, in trial order, from a study with budget 20 whose objective fails
/// on the values in `failing`.
fn run(settings: &str, failing: &[i64]) -> (Vec<i64>, bool) {
    let space = space();
    let study = Study::builder()
        .name("grid-failures")
        .search_space(space.clone())
        .sampler(grid(settings).init(Some(&space)).unwrap())
        .build()
        .unwrap();
    let outcome = study
        .optimize(20, |trial: &mut Trial| -> Result<f64, BoxError> {
            let c = trial.suggest_space(&space)?[0].1.as_i64().unwrap();
            if failing.contains(&c) {
                return Err(format!("c = {c} fails").into());
            }
            Ok(c as f64)
        })
        .unwrap();
    let ran = outcome
        .trials
        .iter()
        .map(|t| t.params[0].1.as_i64().unwrap())
        .collect();
    (ran, outcome.exhausted)
}

#[test]
fn every_point_runs_before_a_failed_one_is_retried_once() {
    let (ran, exhausted) = run("", &[2]);
    assert_eq!(ran, [1, 2, 3, 4, 2]);
    assert!(
        exhausted,
        "the grid ends the study once the retry failed too"
    );
}

#[test]
fn failed_point_retries_sets_how_often_a_failed_point_runs_again() {
    assert_eq!(
        run("failed_point_retries = 3", &[2]),
        (vec![1, 2, 3, 4, 2, 2, 2], true)
    );
    assert_eq!(
        run("failed_point_retries = 0", &[2]),
        (vec![1, 2, 3, 4], true)
    );
    // Retries go to the point that failed least often first, not to one point back to back.
    assert_eq!(
        run("failed_point_retries = 2", &[2, 3]),
        (vec![1, 2, 3, 4, 2, 3, 2, 3], true)
    );
    // A point that completes is never run again, even after a failure.
    let (ran, _) = run("failed_point_retries = 5", &[]);
    assert_eq!(ran, [1, 2, 3, 4]);
}

#[test]
fn points_running_trials_hold_are_not_handed_out_twice() {
    let space = space();
    let study = Study::builder()
        .name("grid-parallel")
        .search_space(space.clone())
        .sampler(grid("").init(Some(&space)).unwrap())
        .build()
        .unwrap();
    // Trials asked one after another while the earlier ones still run, as parallel workers do.
    let ask = || {
        let mut trial = study.ask()?;
        let c = trial.suggest_space(&space)?[0].1.as_i64().unwrap();
        Ok::<_, anneal_tune::TuneError>((trial.number(), c))
    };
    let (first, c1) = ask().unwrap();
    let (second, c2) = ask().unwrap();
    assert_eq!((c1, c2), (1, 2));
    study
        .tell_number(second, TrialResult::Failed("out of memory".into()))
        .unwrap();
    let (_, c3) = ask().unwrap();
    let (_, c4) = ask().unwrap();
    assert_eq!((c3, c4), (3, 4), "untried points before the failed one");
    let (retry, c5) = ask().unwrap();
    assert_eq!(c5, 2, "the failed point, once nothing is untried");
    // 1, 3, 4 and the retry of 2 are all running: nothing is left to hand out.
    let err = ask().unwrap_err().to_string();
    assert!(err.contains("no point left"), "{err}");
    study
        .tell_number(retry, TrialResult::Failed("out of memory".into()))
        .unwrap();
    study.tell_number(first, TrialResult::Value(1.0)).unwrap();
    assert!(ask().is_err(), "2 failed twice: it is not retried again");
    let states: Vec<TrialState> = study.trials().unwrap().iter().map(|t| t.state).collect();
    assert_eq!(
        states.iter().filter(|s| **s == TrialState::Failed).count(),
        2
    );
}

#[test]
fn the_default_retry_setting_keeps_the_stored_form_of_older_grid_studies() {
    // Studies store their sampler settings and refuse to reopen under others.
    let stored = serde_json::to_string(&grid("")).unwrap();
    assert_eq!(stored, r#"{"kind":"grid","points":5}"#);
    let stored = serde_json::to_string(&grid("failed_point_retries = 0")).unwrap();
    assert!(stored.contains(r#""failed_point_retries":0"#), "{stored}");
}
