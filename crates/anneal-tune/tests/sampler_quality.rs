//! What each model-based sampler is for, checked on the tuning core alone: TPE and CMA-ES find
//! Branin's minimum sooner than random search, the GP sooner than TPE, and the GP's proposals on
//! a mixed space are valid integers and listed categories.

use anneal_tune::{
    Direction, SamplerConfig, SearchSpace, Study, Synthetic, TrialRecord, TrialState, best_trial,
};

/// The trials of a study of `trials` on `function` with the sampler `kind` and study seed.
fn run(function: Synthetic, kind: &str, seed: u64, trials: usize) -> Vec<TrialRecord> {
    let space = SearchSpace::from_specs(&function.space()).unwrap();
    let config: SamplerConfig =
        serde_json::from_value(serde_json::json!({ "kind": kind })).unwrap();
    let study = Study::builder()
        .name(function.name())
        .seed(seed)
        .search_space(space.clone())
        .sampler(config.init(Some(&space)).unwrap())
        .build()
        .unwrap();
    study
        .optimize(trials, |trial| {
            let params = trial.suggest_space(&space)?;
            Ok(function.evaluate(&params)?)
        })
        .unwrap()
        .trials
}

/// The median over `seeds` of the simple regret after 50 evaluations of Branin.
fn median_regret(kind: &str, seeds: u64) -> f64 {
    let mut regrets: Vec<f64> = (0..seeds)
        .map(|seed| {
            let trials = run(Synthetic::Branin, kind, seed, 50);
            let best = best_trial(&trials, Direction::Minimize).unwrap();
            best.value.unwrap() - Synthetic::Branin.minimum()
        })
        .collect();
    regrets.sort_by(f64::total_cmp);
    regrets[regrets.len() / 2]
}

#[test]
fn tpe_and_cmaes_beat_random_search_on_branin() {
    let (random, tpe, cmaes) = (
        median_regret("random", 9),
        median_regret("tpe", 9),
        median_regret("cmaes", 9),
    );
    assert!(
        tpe < random,
        "median simple regret: TPE {tpe} vs random {random}"
    );
    assert!(
        cmaes < random,
        "median simple regret: CMA-ES {cmaes} vs random {random}"
    );
}

#[test]
fn gp_beats_tpe_on_branin_and_proposes_valid_mixed_values() {
    let (tpe, gp) = (median_regret("tpe", 5), median_regret("gp", 5));
    assert!(gp < tpe, "median simple regret: GP {gp} vs TPE {tpe}");

    // On the mixed space every GP proposal is a valid integer and a listed category.
    let trials = run(Synthetic::Mixed, "gp", 0, 25);
    for t in &trials {
        assert_eq!(t.state, TrialState::Complete, "{:?}", t.message);
        let n = t.params[1].1.as_i64().unwrap();
        assert!((0..=10).contains(&n));
        assert!(["a", "b", "c"].contains(&t.params[2].1.as_str().unwrap()));
    }
    let best = best_trial(&trials, Direction::Minimize)
        .unwrap()
        .value
        .unwrap();
    assert!(
        best < 0.05,
        "GP found {best} on the mixed space (minimum 0)"
    );
}
