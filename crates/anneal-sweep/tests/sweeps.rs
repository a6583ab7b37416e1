//! Sweep files on the synthetic objectives and on small training runs: samplers, search
//! spaces, pruners with pause and continue, and durable, resumable studies.

use std::path::Path;

use anneal_sweep::{Sweep, SweepOutcome, TrainingContext, open_study, run_sweep};
use anneal_tune::{
    Direction, Quiet, SearchSpace, SqliteStorage, Study, TrialState, best_trial, grid, lookup,
    nest_layers,
};

fn sweep(text: &str) -> Sweep {
    Sweep::parse(Path::new("sweep.toml"), text).unwrap()
}

fn study(sweep: &Sweep, db: &Path, training: Option<&TrainingContext>) -> Study {
    open_study(sweep, SqliteStorage::open(db).unwrap(), training).unwrap()
}

fn run(text: &str, db: &Path) -> SweepOutcome {
    let sweep = sweep(text);
    run_sweep(&study(&sweep, db, None), &sweep, None, &mut Quiet).unwrap()
}

/// `count` random points of a sweep's space, each from its own trial of an in-memory study.
fn random_points(sweep: &Sweep, seed: u64, count: usize) -> Vec<anneal_tune::Assignment> {
    let study = Study::builder()
        .name("points")
        .sampler(anneal_tune::RandomSampler)
        .seed(seed)
        .build()
        .unwrap();
    (0..count)
        .map(|_| {
            let mut trial = study.ask().unwrap();
            let point = trial.suggest_space(&sweep.space).unwrap();
            study
                .tell(trial, anneal_tune::TrialResult::Value(0.0))
                .unwrap();
            point
        })
        .collect()
}

#[test]
fn invalid_search_spaces_are_clear_errors() {
    let cases = [
        ("name = \"a\"\nfloat = [1.0, 0.5]", "low < high"),
        ("name = \"a\"\nfloat = [0.0, 1.0]\nlog = true", "low > 0"),
        ("name = \"a\"\nint = [5, 1]", "low ≤ high"),
        ("name = \"a\"\nchoices = []", "choices is empty"),
        (
            "name = \"a\"\nfloat = [0.0, 1.0]\nchoices = [1]",
            "exactly one",
        ),
        (
            "name = \"a\"\nchoices = [1, 2]\nstep = 2",
            "step applies to int",
        ),
        (
            "name = \"a\"\nfloat = [0.0, 1.0]\nwhen = { b = [1] }",
            "not an earlier parameter",
        ),
        (
            "name = \"a\"\nfloat = [0.0, 1.0]\nspread = 3",
            "unknown field `spread`",
        ),
    ];
    for (spec, fragment) in cases {
        let text = format!("study = \"s\"\nsynthetic = \"branin\"\n[[search]]\n{spec}\n");
        let message = match Sweep::parse(Path::new("bad.toml"), &text) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("accepted: {spec}"),
        };
        assert!(message.contains(fragment), "{spec}: {message}");
    }
    let both = "study = \"s\"\nsynthetic = \"branin\"\nbase = \"x.toml\"\n";
    assert!(
        Sweep::parse(Path::new("b.toml"), both)
            .unwrap_err()
            .to_string()
            .contains("exactly one")
    );
}

#[test]
fn grid_covers_every_combination_once_with_conditions() {
    let s = sweep(
        r#"
study = "g"
synthetic = "mixed"
[[search]]
name = "kind"
choices = ["sgd", "adam"]
[[search]]
name = "momentum"
float = [0.0, 0.9]
when = { kind = ["sgd"] }
[[search]]
name = "depth"
int = [1, 3]
"#,
    );
    let points = grid(&s.space, 4);
    // sgd: 4 momenta × 3 depths; adam: 3 depths (momentum inactive, not repeated).
    assert_eq!(points.len(), 4 * 3 + 3);
    let adam: Vec<_> = points
        .iter()
        .filter(|p| p[0].1.as_str() == Some("adam"))
        .collect();
    assert!(
        adam.iter().all(|p| p.len() == 2),
        "no momentum for adam: {adam:?}"
    );
    let momenta: Vec<f64> = points
        .iter()
        .filter_map(|p| {
            p.iter()
                .find(|(n, _)| n == "momentum")
                .and_then(|(_, v)| v.as_f64())
        })
        .collect();
    assert!(momenta.contains(&0.0) && momenta.contains(&0.9) && momenta.contains(&0.3));
}

#[test]
fn log_and_stepped_ranges_stay_on_their_grid() {
    let s = sweep(
        r#"
study = "r"
synthetic = "mixed"
sampler = { kind = "random" }
[[search]]
name = "lr"
float = [1e-5, 1e-1]
log = true
[[search]]
name = "units"
int = [16, 256]
step = 16
[[search]]
name = "layers"
int = [1, 64]
log = true
"#,
    );
    let mut below_1e3 = 0;
    for a in random_points(&s, 0, 400) {
        let lr = a[0].1.as_f64().unwrap();
        let units = a[1].1.as_i64().unwrap();
        let layers = a[2].1.as_i64().unwrap();
        assert!((1e-5..=1e-1).contains(&lr));
        assert!(units % 16 == 0 && (16..=256).contains(&units), "{units}");
        assert!((1..=64).contains(&layers));
        below_1e3 += usize::from(lr < 1e-3);
    }
    // Log-uniform: half the draws fall below 1e-3 (uniform would give 1%).
    assert!(
        (150..250).contains(&below_1e3),
        "{below_1e3} of 400 below 1e-3"
    );
}

#[test]
fn every_value_of_a_stepped_int_range_is_equally_likely() {
    let s = sweep(
        "study = \"u\"\nsynthetic = \"mixed\"\n[[search]]\nname = \"units\"\nint = [16, 256]\nstep = 16\n",
    );
    let mut counts = std::collections::BTreeMap::new();
    for a in random_points(&s, 1, 3200) {
        *counts.entry(a[0].1.as_i64().unwrap()).or_insert(0) += 1;
    }
    assert_eq!(counts.len(), 16, "{counts:?}");
    // 200 expected each; the end values (16, 256) are not short-changed.
    assert!(
        counts.values().all(|&c| (140..=260).contains(&c)),
        "{counts:?}"
    );
}

#[test]
fn the_same_seed_gives_the_same_trials() {
    let dir = tempfile::tempdir().unwrap();
    let text = "study = \"m\"\nsynthetic = \"mixed\"\ntrials = 15\nseed = 7\n";
    let a = run(text, &dir.path().join("a.db"));
    let b = run(text, &dir.path().join("b.db"));
    let params = |o: &SweepOutcome| {
        o.trials
            .iter()
            .map(|t| t.params.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(params(&a), params(&b));
    let c = run(
        &text.replace("seed = 7", "seed = 8"),
        &dir.path().join("c.db"),
    );
    assert_ne!(params(&a), params(&c));
    // Mixed-space values round-trip through the database with their types.
    let t = &a.trials[0];
    assert!(t.params[0].1.is_f64() && t.params[1].1.is_i64() && t.params[2].1.is_string());
}

#[test]
fn a_killed_sweep_resumes_without_losing_or_repeating_trials() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let five =
        "study = \"k\"\nsynthetic = \"branin\"\ntrials = 5\nsampler = { kind = \"random\" }\n";
    let first = run(five, &db);
    assert_eq!(first.trials.len(), 5);
    // A process dies mid-trial: its trial stays `running` in the database.
    let mut s = sweep(five);
    {
        // A handle that claims a trial under a lease and is gone, as a killed process is.
        let storage = anneal_tune::LeasedStorage::from(SqliteStorage::open(&db).unwrap());
        let record = storage.study("k").unwrap().unwrap();
        storage.claim_new(record.id, None).unwrap();
    }
    // Rerun with a larger budget (as `--trials` does: the budget is not part of the study's
    // definition).
    s.file.trials = 9;
    let second = run_sweep(&study(&s, &db, None), &s, None, &mut Quiet).unwrap();
    assert_eq!(second.interrupted, 1);
    assert_eq!(second.trials.len(), 9, "the budget counts every trial");
    assert_eq!(
        second.trials[..5],
        first.trials[..5],
        "completed trials are kept as they were"
    );
    assert_eq!(second.trials[5].state, TrialState::Failed);
    assert!(
        second.trials[5]
            .message
            .as_deref()
            .unwrap()
            .contains("interrupted")
    );
    let numbers: Vec<usize> = second.trials.iter().map(|t| t.number).collect();
    assert_eq!(numbers, (0..9).collect::<Vec<_>>());
}

#[test]
fn a_study_whose_first_trials_all_fail_stops() {
    let dir = tempfile::tempdir().unwrap();
    // Branin needs x1 and x2; searching only "y" makes every trial fail.
    let text = "study = \"f\"\nsynthetic = \"branin\"\ntrials = 50\nmax_failures = 3\n[[search]]\nname = \"y\"\nfloat = [0.0, 1.0]\n";
    let s = sweep(text);
    let study = study(&s, &dir.path().join("f.db"), None);
    let err = run_sweep(&study, &s, None, &mut Quiet)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("first 3 trials all failed") && err.contains("x1"),
        "{err}"
    );
    assert_eq!(study.trials().unwrap().len(), 3, "the budget is not burnt");
}

#[test]
fn a_redefined_study_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    run("study = \"x\"\nsynthetic = \"branin\"\ntrials = 2\n", &db);
    let other = sweep("study = \"x\"\nsynthetic = \"hartmann6\"\ntrials = 2\n");
    let err = open_study(&other, SqliteStorage::open(&db).unwrap(), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("different definition"), "{err}");
}

#[test]
fn spaces_check_conditions_against_choices() {
    let specs: Vec<anneal_tune::ParamSpec> = toml::from_str::<toml::Table>(
        "[[s]]\nname = \"k\"\nchoices = [\"a\"]\n[[s]]\nname = \"m\"\nfloat = [0.0, 1.0]\nwhen = { k = [\"z\"] }\n",
    )
    .unwrap()["s"]
        .clone()
        .try_into()
        .unwrap();
    let err = SearchSpace::from_specs(&specs).unwrap_err().to_string();
    assert!(err.contains("not one of 'k' choices"), "{err}");
}

#[test]
fn every_ready_sweep_file_loads() {
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let mut seen = 0;
    for entry in std::fs::read_dir(&configs).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().ends_with(".sweep.toml") {
            let sweep = Sweep::load(&path).unwrap_or_else(|e| panic!("{e}"));
            assert!(!sweep.space.params.is_empty(), "{}", path.display());
            // Random points of a training sweep make valid run configs (a wrong key would
            // otherwise fail every trial at run time).
            if let anneal_sweep::SweepObjective::Training {
                base_path, base, ..
            } = &sweep.objective
            {
                for params in random_points(&sweep, 0, 20) {
                    let config = anneal_sweep::trial_config(base_path, base, &params, 0)
                        .unwrap_or_else(|e| panic!("{}: {params:?}: {e}", path.display()));
                    config
                        .validate()
                        .unwrap_or_else(|e| panic!("{}: {params:?}: {e}", path.display()));
                }
            }
            seen += 1;
        }
    }
    assert!(
        seen >= 4,
        "branin, digits, fashion-mnist and grid sweeps: found {seen}"
    );
}

/// Runs a training sweep (on the flex backend, bundled datasets) into a fresh database.
fn run_training_sweep(path: &Path, text: &str, db: &Path) -> SweepOutcome {
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let sweep = Sweep::parse(path, text).unwrap();
    let catalog = anneal_data::Catalog::open(&configs.join("../datasets")).unwrap();
    let device = burn::tensor::Device::flex();
    let context = anneal_sweep::TrainingContext {
        catalog: &catalog,
        device: &device,
        backend: "flex",
    };
    run_sweep(
        &study(&sweep, db, Some(&context)),
        &sweep,
        Some(&context),
        &mut Quiet,
    )
    .unwrap()
}

#[test]
fn switching_the_model_kind_drops_the_base_models_other_keys() {
    // The digits MLP base has depth/units; a CNN trial must not inherit them.
    let dir = tempfile::tempdir().unwrap();
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let sweep_path = configs.join("kind-switch.sweep.toml.test");
    let text = format!(
        "study = \"k\"\nbase = \"{}\"\nmetric = \"val_accuracy\"\ntrials = 1\nruns_dir = \"{}\"\n\
         [[search]]\nname = \"model.kind\"\nvalue = \"cnn\"\n\
         [[search]]\nname = \"model.filters\"\nvalue = 4\n\
         [[search]]\nname = \"model.blocks\"\nvalue = 1\n\
         [[search]]\nname = \"train.epochs\"\nvalue = 1\n\
         [[search]]\nname = \"train.warmup_epochs\"\nvalue = 0\n",
        configs.join("digits-mlp.toml").display(),
        dir.path().join("runs").display()
    );
    let outcome = run_training_sweep(&sweep_path, &text, &dir.path().join("k.db"));
    let trial = &outcome.trials[0];
    assert_eq!(trial.state, TrialState::Complete, "{:?}", trial.message);
    assert_eq!(trial.intermediate.len(), 1, "one epoch reported");
}

const PER_LAYER: &str = r#"
study = "layers"
synthetic = "mixed"
trials = 24
[[search]]
name = "x"
float = [0.0, 1.0]
[[search]]
name = "n"
int = [0, 10]
[[search]]
name = "c"
choices = ["a", "b", "c"]
[[search]]
name = "model.depth"
int = [1, 4]
[[search]]
name = "model.units"
int = [16, 256]
log = true
per_layer = "model.depth"
"#;

#[test]
fn per_layer_units_follow_the_sampled_depth() {
    let dir = tempfile::tempdir().unwrap();
    for (sampler, setting) in [
        ("random", "{ kind = \"random\" }"),
        ("tpe", "{ kind = \"tpe\" }"),
        ("tpe-mv", "{ kind = \"tpe\", multivariate = true }"),
        ("gp", "{ kind = \"gp\" }"),
        ("cmaes", "{ kind = \"cmaes\" }"),
    ] {
        let text = PER_LAYER.replacen(
            "trials = 24\n",
            &format!("trials = 24\nsampler = {setting}\n"),
            1,
        );
        let outcome = run(&text, &dir.path().join(format!("{sampler}.db")));
        let mut depths = std::collections::BTreeSet::new();
        for t in &outcome.trials {
            let nested = nest_layers(&t.params);
            let depth = lookup(&nested, "model.depth").unwrap().as_i64().unwrap();
            let units = lookup(&nested, "model.units").unwrap().as_array().unwrap();
            assert_eq!(units.len() as i64, depth, "{sampler}: {:?}", t.params);
            assert!(
                units
                    .iter()
                    .all(|u| (16..=256).contains(&u.as_i64().unwrap()))
            );
            // Each layer's entry is a parameter of its own.
            let first = lookup(&t.params, "model.units[0]").unwrap();
            assert_eq!(first, &units[0]);
            depths.insert(depth);
        }
        assert!(depths.len() >= 2, "{sampler}: depth varied: {depths:?}");
    }
    // A grid repeats one width over the layers.
    let s = sweep(PER_LAYER);
    let points = grid(&s.space, 2);
    assert!(points.iter().all(|p| {
        let units = lookup(p, "model.units").unwrap().as_array().unwrap();
        units.windows(2).all(|w| w[0] == w[1])
    }));
    // per_layer must name an earlier int parameter.
    let bad = PER_LAYER.replace("per_layer = \"model.depth\"", "per_layer = \"c\"");
    let err = Sweep::parse(Path::new("bad.toml"), &bad)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("per_layer needs an earlier int parameter"),
        "{err}"
    );
}

const ASHA_1_3: &str = "{ kind = \"asha\", min_resource = 1, reduction_factor = 3 }";
const HYPERBAND_1_9_3: &str =
    "{ kind = \"hyperband\", min_resource = 1, max_resource = 9, reduction_factor = 3 }";

/// An iris MLP sweep over the learning rate alone (log range `[min_lr, 0.1]`), minimising the
/// validation loss, sampled at random and pruned by `pruner` (a TOML inline table).
fn iris_lr_sweep(
    study: &str,
    trials: usize,
    seed: u64,
    pruner: &str,
    min_lr: f64,
    epochs: usize,
    runs_dir: &Path,
) -> String {
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    format!(
        "study = \"{study}\"\nbase = \"{}\"\nmetric = \"val_loss\"\ntrials = {trials}\nseed = {seed}\n\
         runs_dir = \"{}\"\nsampler = {{ kind = \"random\" }}\npruner = {pruner}\n\
         [[search]]\nname = \"train.lr\"\nfloat = [{min_lr:e}, 1e-1]\nlog = true\n\
         [[search]]\nname = \"train.epochs\"\nvalue = {epochs}\n",
        configs.join("iris-mlp.toml").display(),
        runs_dir.display()
    )
}

#[test]
fn pruned_training_trials_are_recorded_with_the_epoch_they_reached() {
    let dir = tempfile::tempdir().unwrap();
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let text = iris_lr_sweep(
        "p",
        10,
        3,
        "{ kind = \"median\", warmup_epochs = 1, min_trials = 2 }",
        1e-6,
        8,
        &dir.path().join("runs"),
    );
    let outcome = run_training_sweep(
        &configs.join("p.sweep.toml"),
        &text,
        &dir.path().join("p.db"),
    );
    let pruned: Vec<_> = outcome
        .trials
        .iter()
        .filter(|t| t.state == TrialState::Pruned)
        .collect();
    assert!(
        !pruned.is_empty(),
        "tiny learning rates fall below the median: {:?}",
        outcome
            .trials
            .iter()
            .map(|t| (t.state, t.intermediate.len()))
            .collect::<Vec<_>>()
    );
    for t in &pruned {
        let reached = t.intermediate.len();
        assert!(
            (2..8).contains(&reached),
            "pruned after warm-up, before the end: {reached}"
        );
        assert_eq!(
            t.message.as_deref(),
            Some(format!("pruned after step {reached}").as_str())
        );
        assert!(t.value.is_some());
    }
    let best = best_trial(&outcome.trials, Direction::Minimize).unwrap();
    assert_eq!(
        best.state,
        TrialState::Complete,
        "the best trial is a complete one"
    );
}

#[test]
fn asha_prunes_training_trials_only_at_rungs() {
    let dir = tempfile::tempdir().unwrap();
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let text = iris_lr_sweep("a", 9, 5, ASHA_1_3, 1e-6, 9, &dir.path().join("runs"));
    let outcome = run_training_sweep(
        &configs.join("a.sweep.toml"),
        &text,
        &dir.path().join("a.db"),
    );
    let pruned: Vec<usize> = outcome
        .trials
        .iter()
        .filter(|t| t.state == TrialState::Pruned)
        .map(|t| t.intermediate.len())
        .collect();
    assert!(!pruned.is_empty(), "some trials are stopped at a rung");
    assert!(
        pruned.iter().all(|&e| e == 1 || e == 3),
        "pruned only at rungs 1 and 3: {pruned:?}"
    );
    let epochs: usize = outcome.trials.iter().map(|t| t.intermediate.len()).sum();
    assert!(
        epochs < 9 * 9,
        "ASHA used {epochs} epochs of the 81 a full search would"
    );
}

/// Dies (panics out of the sweep loop, leaving the database as a kill would) when a paused
/// trial is about to continue for the `nth` time.
struct DieOnPromotion {
    seen: std::collections::HashSet<usize>,
    promotions: usize,
    nth: usize,
}

impl anneal_tune::StudyObserver for DieOnPromotion {
    fn trial_started(&mut self, number: usize, _: Option<usize>) {
        if !self.seen.insert(number) {
            self.promotions += 1;
            assert!(
                self.promotions < self.nth,
                "killed while continuing trial {number}"
            );
        }
    }
}

#[test]
fn a_hyperband_study_killed_midway_resumes_into_the_same_rungs() {
    let dir = tempfile::tempdir().unwrap();
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let text = |study: &str| {
        iris_lr_sweep(
            study,
            14,
            11,
            HYPERBAND_1_9_3,
            1e-6,
            9,
            &dir.path().join(study),
        )
    };
    let path = configs.join("h.sweep.toml");
    let whole = run_training_sweep(&path, &text("whole"), &dir.path().join("whole.db"));
    let promoted = whole
        .trials
        .iter()
        .filter(|t| t.state != TrialState::Failed && t.intermediate.len() > 1)
        .count();
    assert!(
        whole.trials.iter().any(|t| t.state == TrialState::Pruned) && promoted >= 2,
        "the study pauses, promotes and prunes, so the comparison tests the rungs"
    );

    // The same study killed as its second promotion starts, then rerun.
    let db = dir.path().join("killed.db");
    let sweep = Sweep::parse(&path, &text("killed")).unwrap();
    let catalog = anneal_data::Catalog::open(&configs.join("../datasets")).unwrap();
    let device = burn::tensor::Device::flex();
    let context = anneal_sweep::TrainingContext {
        catalog: &catalog,
        device: &device,
        backend: "flex",
    };
    let mut dying = DieOnPromotion {
        seen: Default::default(),
        promotions: 0,
        nth: 2,
    };
    let killed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_sweep(
            &study(&sweep, &db, Some(&context)),
            &sweep,
            Some(&context),
            &mut dying,
        )
    }));
    assert!(
        killed.is_err(),
        "the first run dies at its second promotion"
    );
    let before = study(&sweep, &db, Some(&context)).trials().unwrap();
    assert!(
        before.iter().any(|t| t.state == TrialState::Running),
        "the continuing trial was left running"
    );
    let resumed = run_training_sweep(&path, &text("killed"), &db);

    let summary = |outcome: &SweepOutcome| {
        outcome
            .trials
            .iter()
            .map(|t| {
                (
                    t.number,
                    t.state,
                    t.intermediate.len(),
                    t.value.map(|v| (v * 1e9).round()),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        resumed.interrupted, 0,
        "the continuing trial went back to its pause, not to failed"
    );
    assert_eq!(
        summary(&resumed),
        summary(&whole),
        "brackets, pauses, promotions and values do not depend on the kill"
    );
}

#[test]
fn a_study_too_small_for_its_rungs_still_finishes_a_trial() {
    // Two trials with η = 3: ⌊n/3⌋ = 0 at every rung, so both pause at epoch 1; the settled
    // study continues the better one to the end instead of pruning everything.
    let dir = tempfile::tempdir().unwrap();
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let text = iris_lr_sweep("tiny", 2, 2, ASHA_1_3, 1e-4, 9, &dir.path().join("runs"));
    let outcome = run_training_sweep(
        &configs.join("tiny.sweep.toml"),
        &text,
        &dir.path().join("tiny.db"),
    );
    let states: Vec<_> = outcome
        .trials
        .iter()
        .map(|t| (t.state, t.intermediate.len()))
        .collect();
    assert!(states.contains(&(TrialState::Complete, 9)), "{states:?}");
    assert!(states.contains(&(TrialState::Pruned, 1)), "{states:?}");
    assert!(outcome.trials.iter().all(|t| t.state != TrialState::Paused));
    // A pruned trial's saved training state is deleted; the finished one never keeps one.
    for t in &outcome.trials {
        let state = Path::new(t.run_dir.as_deref().unwrap()).join(anneal_train::resume::RESUME_DIR);
        assert!(
            !state.exists(),
            "{} still holds {}",
            t.number,
            state.display()
        );
    }
    // The pruned paused trial's folder ends like any pruned run's: stopped where it paused,
    // with a checkpoint that reloads and test figures.
    let pruned = outcome
        .trials
        .iter()
        .find(|t| t.state == TrialState::Pruned)
        .unwrap();
    let folder = Path::new(pruned.run_dir.as_deref().unwrap());
    let catalog = anneal_data::Catalog::open(&configs.join("../datasets")).unwrap();
    let device = burn::tensor::Device::flex();
    let loaded = anneal_train::load_run(folder, &catalog, &device).unwrap();
    assert_eq!(
        loaded.summary.status,
        anneal_train::RunStatus::Stopped { epoch: 1 }
    );
    assert_eq!(loaded.summary.epochs_run, 1);
    let test = loaded.summary.test.as_ref().expect("test figures");
    let again = anneal_train::evaluate_run(&loaded, &device);
    assert_eq!(
        again, *test,
        "the checkpoint reproduces the summary's test figures"
    );
}

#[test]
fn every_hyperband_bracket_ends_with_a_trial_trained_to_the_end() {
    // 12 trials over three brackets (first rungs 1, 3 and 9 epochs): the small brackets have
    // too few trials for ⌊n/3⌋ ≥ 1 at their top rungs, so their best would wait paused forever
    // and be pruned; settling continues it to the end, as synchronous Hyperband would.
    let dir = tempfile::tempdir().unwrap();
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let hyperband = anneal_tune::hyperband_brackets(1, 9, 3);
    let text = iris_lr_sweep(
        "hb",
        12,
        4,
        HYPERBAND_1_9_3,
        1e-4,
        9,
        &dir.path().join("runs"),
    );
    let outcome = run_training_sweep(
        &configs.join("hb.sweep.toml"),
        &text,
        &dir.path().join("hb.db"),
    );
    let mut brackets: std::collections::BTreeMap<usize, Vec<(TrialState, usize)>> =
        Default::default();
    for t in &outcome.trials {
        brackets
            .entry(anneal_tune::hyperband_bracket(4, t.number, &hyperband))
            .or_default()
            .push((t.state, t.intermediate.len()));
    }
    assert_eq!(brackets.len(), 3, "{brackets:?}");
    for (bracket, trials) in &brackets {
        assert!(
            trials.contains(&(TrialState::Complete, 9)),
            "bracket {bracket}: {trials:?}"
        );
    }
    assert!(outcome.trials.iter().all(|t| t.state != TrialState::Paused));
    let epochs: usize = outcome.trials.iter().map(|t| t.intermediate.len()).sum();
    assert!(epochs < 12 * 9, "{epochs} epochs");
}

#[test]
fn a_trials_value_is_its_metric_at_the_epoch_whose_weights_it_keeps() {
    // The base stops early on val_loss and restores that epoch's weights; the sweep's metric
    // is val_accuracy: the trial's value is the accuracy of the kept weights, not the best
    // accuracy of any epoch.
    let dir = tempfile::tempdir().unwrap();
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let text = iris_lr_sweep(
        "kept",
        3,
        1,
        "{ kind = \"none\" }",
        1e-3,
        12,
        &dir.path().join("runs"),
    )
    .replace("metric = \"val_loss\"", "metric = \"val_accuracy\"");
    let outcome = run_training_sweep(
        &configs.join("kept.sweep.toml"),
        &text,
        &dir.path().join("k.db"),
    );
    for t in &outcome.trials {
        assert_eq!(t.state, TrialState::Complete, "{:?}", t.message);
        let summary: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(Path::new(t.run_dir.as_deref().unwrap()).join("summary.json"))
                .unwrap(),
        )
        .unwrap();
        let kept = summary["validation"]["accuracy"].as_f64().unwrap();
        assert!(
            (t.value.unwrap() - kept).abs() < 1e-9,
            "trial {}: value {:?}, kept weights' accuracy {kept}",
            t.number,
            t.value
        );
    }
}

#[test]
fn a_sweep_naming_no_config_key_or_a_foreign_metric_is_refused_before_its_study() {
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let base = configs.join("iris-mlp.toml");
    let text = |name: &str, metric: &str| {
        format!(
            "study = \"t\"\nbase = \"{}\"\nmetric = \"{metric}\"\n[[search]]\nname = \"{name}\"\nfloat = [0.1, 0.5]\n",
            base.display()
        )
    };
    let err = Sweep::parse(&configs.join("t.toml"), &text("train.lrr", "val_accuracy"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("search[0] (train.lrr)")
            && err.contains("not a setting the run config accepts")
            && err.contains("lrr"),
        "{err}"
    );
    // Conditional parameters are checked with their conditions holding.
    let conditional = format!(
        "{}[[search]]\nname = \"train.optimizer.kind\"\nchoices = [\"adam\", \"sgd\"]\n[[search]]\nname = \"train.optimizer.momentum\"\nfloat = [0.0, 0.9]\nwhen = {{ \"train.optimizer.kind\" = [\"sgd\"] }}\n",
        text("model.dropout", "val_accuracy")
    );
    Sweep::parse(&configs.join("t.toml"), &conditional).unwrap();

    let sweep = Sweep::parse(&configs.join("t.toml"), &text("model.dropout", "val_r2")).unwrap();
    let catalog = anneal_data::Catalog::open(&configs.join("../datasets")).unwrap();
    let device = burn::tensor::Device::flex();
    let context = TrainingContext {
        catalog: &catalog,
        device: &device,
        backend: "flex",
    };
    // Opening the study checks the sweep against its data, before any study exists.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let err = open_study(&sweep, SqliteStorage::open(&db).unwrap(), Some(&context))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("val_r2 does not apply to iris") && err.contains("val_accuracy"),
        "{err}"
    );
    let storage = SqliteStorage::open(&db).unwrap();
    assert!(
        anneal_tune::Storage::studies(&storage).unwrap().is_empty(),
        "no study was created"
    );
    // A training sweep cannot be opened without its data.
    let err = open_study(&sweep, storage, None).err().unwrap().to_string();
    assert!(err.contains("TrainingContext"), "{err}");
}

#[test]
fn searching_an_optimizer_or_schedule_kind_starts_that_table_afresh() {
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let base: toml::Table = toml::from_str(
        "[data]\ndataset = \"iris\"\n[model]\nkind = \"mlp\"\n[train]\nepochs = 2\noptimizer = { kind = \"sgd\", momentum = 0.9 }\nschedule = { kind = \"step_decay\", every = 1, gamma = 0.5 }\n",
    )
    .unwrap();
    let params: anneal_tune::Assignment = vec![
        ("train.optimizer.kind".into(), "adam".into()),
        ("train.schedule.kind".into(), "cosine".into()),
    ];
    let config = anneal_sweep::trial_config(&configs.join("x.toml"), &base, &params, 0)
        .unwrap_or_else(|e| panic!("{e}"));
    config.validate().unwrap();
    assert_eq!(config.train.optimizer.name(), "adam");
    // The same kind keeps the base's settings.
    let same: anneal_tune::Assignment = vec![("train.optimizer.kind".into(), "sgd".into())];
    let config = anneal_sweep::trial_config(&configs.join("x.toml"), &base, &same, 0).unwrap();
    assert!(
        format!("{:?}", config.train.optimizer).contains("0.9"),
        "{:?}",
        config.train.optimizer
    );
}

#[test]
fn a_condition_that_can_never_hold_is_refused() {
    let on_float = "study = \"w\"\nsynthetic = \"branin\"\n[[search]]\nname = \"x1\"\nfloat = [-5.0, 10.0]\n[[search]]\nname = \"x2\"\nfloat = [0.0, 15.0]\nwhen = { x1 = [\"sgd\"] }\n";
    let err = Sweep::parse(Path::new("w.toml"), on_float)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("search[1] (x2)") && err.contains("never holds"),
        "{err}"
    );
    let on_int = "study = \"w\"\nsynthetic = \"mixed\"\n[[search]]\nname = \"n\"\nint = [0, 10]\n[[search]]\nname = \"x\"\nfloat = [0.0, 1.0]\nwhen = { n = [12] }\n";
    let err = Sweep::parse(Path::new("w.toml"), on_int)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`when` value 12 is never taken by 'n'"),
        "{err}"
    );
}

/// Pauses a run once, after `epoch`.
struct PauseAfter(usize);
impl anneal_train::Observer for PauseAfter {
    fn epoch_finished(
        &mut self,
        record: &anneal_train::EpochRecord,
        _: Option<&anneal_model::Model>,
    ) -> anneal_train::Result<anneal_train::Control> {
        Ok(if record.epoch == self.0 {
            anneal_train::Control::Pause
        } else {
            anneal_train::Control::Continue
        })
    }
}

#[test]
fn every_kill_point_while_ending_a_pruned_paused_trial_is_repaired() {
    // The study has recorded the paused trial pruned; its folder is being ended (checkpoint,
    // summary, then its saved state deleted). Whatever point a kill stops that at, the next
    // settle's repair, reading the study, leaves a folder ended like any pruned run's.
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let catalog = anneal_data::Catalog::open(&configs.join("../datasets")).unwrap();
    let device = burn::tensor::Device::flex();
    let context = anneal_sweep::TrainingContext {
        catalog: &catalog,
        device: &device,
        backend: "flex",
    };
    for kill_point in [
        "before the folder was touched",
        "after the summary, before the state went",
        "while a file was half written",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let runs = dir.path().join("runs");
        let config = anneal_train::RunConfig::load(
            &configs.join("iris-mlp.toml"),
            &["train.epochs=6".into()],
        )
        .unwrap();
        let target = context.target(&runs, "trial-0");
        anneal_train::run_recorded(&config, &target, &mut PauseAfter(2)).unwrap();
        let folder = runs.join("trial-0");
        let state = folder.join(anneal_train::resume::RESUME_DIR);
        assert!(state.is_dir());
        match kill_point {
            "after the summary, before the state went" => {
                let aside = dir.path().join("state-copy");
                std::fs::create_dir_all(&aside).unwrap();
                for entry in std::fs::read_dir(&state).unwrap() {
                    let entry = entry.unwrap();
                    std::fs::copy(entry.path(), aside.join(entry.file_name())).unwrap();
                }
                anneal_train::stop_paused(&target).unwrap();
                std::fs::rename(&aside, &state).unwrap();
            }
            "while a file was half written" => {
                std::fs::write(folder.join("summary.partial"), b"").unwrap();
                std::fs::write(folder.join("model.partial.123.tmp"), b"").unwrap();
            }
            _ => {}
        }
        let record = anneal_tune::TrialRecord {
            cause: Some(anneal_tune::Cause::Pruned { step: Some(2) }),
            retried_as: None,
            number: 0,
            state: TrialState::Pruned,
            params: Vec::new(),
            distributions: Vec::new(),
            value: Some(0.5),
            values: Vec::new(),
            constraints: Vec::new(),
            intermediate: vec![(1, 0.4), (2, 0.5)],
            started: 0.0,
            finished: Some(1.0),
            running_seconds: 1.0,
            message: Some("pruned after step 2 (paused at a rung, never promoted)".into()),
            run_dir: Some(folder.to_string_lossy().into_owned()),
            owner: None,
        };
        let sweep = Sweep::parse(
            &configs.join("k.sweep.toml"),
            "study = \"k\"\nbase = \"iris-mlp.toml\"\n[[search]]\nname = \"train.lr\"\nfloat = [0.001, 0.1]\n",
        )
        .unwrap();
        use anneal_tune::Objective;
        anneal_sweep::TrainingObjective::new(&sweep, &context).tidy(&[record]);
        assert!(!state.exists(), "{kill_point}: the saved state is gone");
        let leftovers: Vec<_> = std::fs::read_dir(&folder)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".partial"))
            .collect();
        assert!(leftovers.is_empty(), "{kill_point}: {leftovers:?}");
        let loaded = anneal_train::load_run(&folder, &catalog, &device).unwrap();
        assert_eq!(
            loaded.summary.status,
            anneal_train::RunStatus::Stopped { epoch: 2 },
            "{kill_point}"
        );
        assert_eq!(
            anneal_train::evaluate_run(&loaded, &device),
            *loaded.summary.test.as_ref().unwrap(),
            "{kill_point}: the checkpoint reproduces the summary"
        );
    }
}

#[test]
fn a_trial_refused_before_its_folder_exists_records_no_folder() {
    // A CNN on iris's feature vectors is a valid config that the data refuses at preparation,
    // before any run folder is made: the failed trial points at no folder.
    let dir = tempfile::tempdir().unwrap();
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let text = format!(
        "study = \"cnn\"\nbase = \"iris-mlp.toml\"\nmetric = \"val_accuracy\"\ntrials = 1\nruns_dir = \"{}\"\n\
         [[search]]\nname = \"model.kind\"\nvalue = \"cnn\"\n",
        dir.path().join("runs").display()
    );
    let outcome = run_training_sweep(
        &configs.join("cnn.sweep.toml"),
        &text,
        &dir.path().join("c.db"),
    );
    let trial = &outcome.trials[0];
    assert_eq!(trial.state, TrialState::Failed);
    assert!(
        trial.message.as_deref().unwrap().contains("image data"),
        "{:?}",
        trial.message
    );
    assert_eq!(trial.run_dir, None);
}

#[test]
fn a_paused_trials_wait_is_not_counted_in_its_running_time() {
    // Two trials with η = 3 both pause at epoch 1; the better one continues after the other
    // ran. Its running time is the sum of its two segments, less than its wall time.
    let dir = tempfile::tempdir().unwrap();
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let text = iris_lr_sweep("wait", 2, 2, ASHA_1_3, 1e-4, 9, &dir.path().join("runs"));
    let outcome = run_training_sweep(
        &configs.join("wait.sweep.toml"),
        &text,
        &dir.path().join("w.db"),
    );
    let continued = outcome
        .trials
        .iter()
        .find(|t| t.state == TrialState::Complete)
        .expect("the better trial finished");
    let wall = continued.wall_seconds().unwrap();
    assert!(
        continued.running_seconds > 0.0 && continued.running_seconds < wall,
        "running {} s, wall {wall} s",
        continued.running_seconds
    );
}
