//! The training loop on real (small) data: it learns, it is reproducible, early stopping,
//! best-weight restoring, penalties, clipping and divergence behave as configured, and a
//! recorded run can be reloaded to the same test metrics.

use std::path::{Path, PathBuf};

use anneal_data::Catalog;
use anneal_model::Model;
use anneal_train::{
    Control, EpochRecord, Observer, RunConfig, RunStatus, RunTarget, TaskMetrics, TrainError,
    evaluate_run, load_run, prepare, run_recorded, train,
};
use anneal_tune::Quiet;
use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor};

fn catalog() -> Catalog {
    Catalog::open(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets")).unwrap()
}

fn config(text: &str, overrides: &[&str]) -> RunConfig {
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    RunConfig::parse(Path::new("test.toml"), text, &overrides).unwrap()
}

const IRIS: &str = r#"
[data]
dataset = "iris"
preprocess = [{ kind = "standardize" }]
split = { validation = 0.2, test = 0.2, seed = 0 }
[model]
kind = "mlp"
depth = 1
units = 16
[train]
epochs = 30
batch_size = 16
lr = 0.01
"#;

fn device() -> Device {
    Device::flex()
}

fn fit(config: &RunConfig) -> anneal_train::TrainOutcome {
    let data = prepare(config, &catalog()).unwrap();
    train(config, &data, &device(), &mut Quiet).unwrap()
}

/// Every metric of every epoch, without the wall-clock columns.
fn figures(history: &[EpochRecord]) -> Vec<String> {
    history
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {:?} {:?}",
                r.epoch, r.lr, r.train_loss, r.train_accuracy, r.validation
            )
        })
        .collect()
}

#[test]
fn an_mlp_learns_iris() {
    let outcome = fit(&config(IRIS, &[]));
    assert_eq!(outcome.status, RunStatus::Completed);
    assert_eq!(outcome.history.len(), 30);
    let first = &outcome.history[0];
    let last = outcome.history.last().unwrap();
    assert!(
        last.train_loss < 0.5 * first.train_loss,
        "{} → {}",
        first.train_loss,
        last.train_loss
    );
    let accuracy = last.validation.accuracy().unwrap();
    assert!(accuracy >= 0.9, "validation accuracy {accuracy}");
    assert_eq!(outcome.parameter_count, 4 * 16 + 16 + 16 * 3 + 3);
}

#[test]
fn the_same_seed_repeats_exactly_and_another_seed_differs() {
    let base = config(
        IRIS,
        &[
            "train.epochs=5",
            "model.dropout=0.3",
            "data.augment.noise=0.05",
        ],
    );
    let a = fit(&base);
    let b = fit(&base);
    assert_eq!(figures(&a.history), figures(&b.history));
    let other = fit(&config(
        IRIS,
        &[
            "train.epochs=5",
            "model.dropout=0.3",
            "data.augment.noise=0.05",
            "train.seed=1",
        ],
    ));
    assert_ne!(figures(&a.history), figures(&other.history));
}

#[test]
fn learning_rate_follows_the_schedule_at_epoch_ends() {
    let c = config(
        IRIS,
        &[
            "train.epochs=6",
            "train.schedule={ kind = \"step_decay\", every = 2, gamma = 0.1 }",
        ],
    );
    let outcome = fit(&c);
    let lrs: Vec<f64> = outcome.history.iter().map(|r| r.lr).collect();
    let expected = [0.01, 0.01, 0.001, 0.001, 0.0001, 0.0001];
    for (got, want) in lrs.iter().zip(expected) {
        assert!((got - want).abs() < 1e-12 * want.max(1.0), "{lrs:?}");
    }
}

#[test]
fn early_stopping_stops_after_patience_and_restores_the_best_epoch() {
    // An improvement must beat the best by 100: only epoch 1 ever counts as best.
    let c = config(
        IRIS,
        &["train.early_stopping={ monitor = \"val_loss\", patience = 3, min_delta = 100.0 }"],
    );
    let outcome = fit(&c);
    assert_eq!(outcome.status, RunStatus::EarlyStopped { epoch: 4 });
    assert_eq!(outcome.history.len(), 4);
    assert_eq!(outcome.best.unwrap().0, 1);
    // The final model is epoch 1's: its validation loss is epoch 1's, not epoch 4's.
    let data = prepare(&c, &catalog()).unwrap();
    let again = anneal_train::evaluate(
        &outcome.model,
        &data.validation,
        &data.scoring(),
        256,
        &device(),
    );
    assert_eq!(again.loss, outcome.history[0].validation.loss);
    assert_ne!(again.loss, outcome.history[3].validation.loss);

    // Without restoring, the last epoch's weights are kept.
    let c = config(
        IRIS,
        &[
            "train.early_stopping={ monitor = \"val_accuracy\", patience = 3, min_delta = 100.0, restore_best = false }",
        ],
    );
    let outcome = fit(&c);
    let data = prepare(&c, &catalog()).unwrap();
    let again = anneal_train::evaluate(
        &outcome.model,
        &data.validation,
        &data.scoring(),
        256,
        &device(),
    );
    assert_eq!(again.loss, outcome.history.last().unwrap().validation.loss);
}

#[test]
fn an_observer_can_stop_a_run() {
    struct StopAfter(usize);
    impl Observer for StopAfter {
        fn epoch_finished(
            &mut self,
            record: &EpochRecord,
            _: Option<&Model>,
        ) -> anneal_train::Result<Control> {
            Ok(if record.epoch >= self.0 {
                Control::Stop
            } else {
                Control::Continue
            })
        }
    }
    let c = config(IRIS, &[]);
    let data = prepare(&c, &catalog()).unwrap();
    let outcome = train(&c, &data, &device(), &mut StopAfter(2)).unwrap();
    assert_eq!(outcome.status, RunStatus::Stopped { epoch: 2 });
    assert_eq!(outcome.history.len(), 2);
}

#[test]
fn a_diverging_run_stops_with_where_and_why() {
    let c = config(
        IRIS,
        &["train.optimizer.kind=sgd", "train.lr=1e30", "model.depth=3"],
    );
    let outcome = fit(&c);
    match outcome.status {
        RunStatus::Diverged {
            epoch,
            batch,
            lr,
            loss,
        } => {
            // The first step (lr 1e30) wrecks the weights; the second batch's loss shows it.
            assert_eq!((epoch, batch), (1, 2));
            assert_eq!(lr, 1e30);
            assert!(!loss.is_finite());
        }
        other => panic!("expected divergence, got {other:?}"),
    }
    assert!(
        outcome
            .status
            .describe()
            .contains("lower the learning rate")
    );
}

/// Every parameter value of tensors of rank ≥ `min_rank` (2: weight matrices and kernels only).
fn parameters(model: &Model, min_rank: usize) -> Vec<f32> {
    struct Collect(usize, Vec<f32>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if D >= self.0 {
                let values = param
                    .val()
                    .into_data()
                    .convert::<f32>()
                    .try_into_vec::<f32>();
                self.1.extend(values.unwrap());
            }
        }
    }
    let mut c = Collect(min_rank, Vec::new());
    model.visit(&mut c);
    c.1
}

/// Σw² over weight matrices and kernels.
fn weight_square_sum(model: &Model) -> f64 {
    parameters(model, 2)
        .iter()
        .map(|&v| (v as f64).powi(2))
        .sum()
}

#[test]
fn penalties_and_weight_decay_shrink_the_weights() {
    let plain = weight_square_sum(&fit(&config(IRIS, &[])).model);
    for extra in ["train.l2=0.05", "train.l1=0.01", "train.weight_decay=0.1"] {
        let shrunk = weight_square_sum(&fit(&config(IRIS, &[extra])).model);
        assert!(
            shrunk < 0.8 * plain,
            "{extra}: Σw² {shrunk} vs {plain} without"
        );
    }
    let decoupled = weight_square_sum(
        &fit(&config(
            IRIS,
            &["train.optimizer.kind=adamw", "train.weight_decay=1.0"],
        ))
        .model,
    );
    assert!(decoupled < 0.8 * plain, "adamw: {decoupled} vs {plain}");
}

#[test]
fn value_clipping_bounds_every_update() {
    // SGD with lr 1 and gradients clipped to ±1e-4: no weight can move more than
    // (number of steps) × 1e-4 from its initial value.
    // An SGD step of lr 1e-30 leaves f32 weights exactly as initialised (same seed).
    let untrained = config(
        IRIS,
        &[
            "train.optimizer.kind=sgd",
            "train.epochs=1",
            "train.lr=1e-30",
        ],
    );
    let initial = parameters(&fit(&untrained).model, 2);
    let c = config(
        IRIS,
        &[
            "train.optimizer.kind=sgd",
            "train.epochs=1",
            "train.lr=1.0",
            "train.grad_clip={ value = 1e-4 }",
        ],
    );
    let data = prepare(&c, &catalog()).unwrap();
    let steps = data.train.len().div_ceil(16) as f32;
    let trained = parameters(&train(&c, &data, &device(), &mut Quiet).unwrap().model, 2);
    let moved = initial
        .iter()
        .zip(&trained)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(moved > 0.0, "training moved nothing");
    assert!(
        moved <= steps * 1e-4 * 1.001,
        "moved {moved} > {steps} steps × 1e-4"
    );
}

#[test]
fn norm_clipping_bounds_the_global_step() {
    // SGD with lr 1 and the global gradient norm clipped to 1e-4: the whole parameter vector
    // moves at most 1e-4 per step (biases included), however the norm is spread over tensors.
    let untrained = config(
        IRIS,
        &[
            "train.optimizer.kind=sgd",
            "train.epochs=1",
            "train.lr=1e-30",
        ],
    );
    let initial = parameters(&fit(&untrained).model, 0);
    let c = config(
        IRIS,
        &[
            "train.optimizer.kind=sgd",
            "train.epochs=1",
            "train.lr=1.0",
            "train.grad_clip={ norm = 1e-4 }",
        ],
    );
    let data = prepare(&c, &catalog()).unwrap();
    let steps = data.train.len().div_ceil(16) as f64;
    let trained = parameters(&train(&c, &data, &device(), &mut Quiet).unwrap().model, 0);
    let moved = initial
        .iter()
        .zip(&trained)
        .map(|(a, b)| ((a - b) as f64).powi(2))
        .sum::<f64>()
        .sqrt();
    assert!(moved > 0.5 * 1e-4, "training moved only {moved}");
    assert!(
        moved <= steps * 1e-4 * 1.001,
        "moved {moved} > {steps} steps × 1e-4"
    );
}

#[test]
fn metrics_record_the_epoch_boundary_rate_with_warmup_and_cosine() {
    let c = config(
        IRIS,
        &[
            "train.epochs=6",
            "train.warmup_epochs=2",
            "train.schedule={ kind = \"cosine\", min_lr = 0.0 }",
        ],
    );
    let data = prepare(&c, &catalog()).unwrap();
    let per_epoch = data.train.len().div_ceil(16);
    let outcome = train(&c, &data, &device(), &mut Quiet).unwrap();
    let schedule = c.train.lr_schedule();
    assert_eq!(outcome.history.len(), 6);
    for r in &outcome.history {
        let expected = schedule.lr_at((r.epoch - 1) * per_epoch, per_epoch, 6);
        assert_eq!(r.lr, expected, "epoch {}", r.epoch);
    }
    // Epoch 3 starts right after warm-up, at the base rate; cosine then falls.
    assert_eq!(outcome.history[2].lr, 0.01);
    assert!(outcome.history[5].lr < outcome.history[3].lr);
}

#[test]
fn regression_trains_on_scaled_targets_and_reports_original_units() {
    let text = r#"
[data]
dataset = "diabetes"
preprocess = [{ kind = "standardize" }]
[model]
kind = "mlp"
depth = 1
units = 16
[train]
epochs = 40
batch_size = 32
lr = 3e-3
"#;
    let c = config(text, &[]);
    let data = prepare(&c, &catalog()).unwrap();
    let scale = data
        .pipeline
        .target_scale
        .expect("regression targets are standardized");
    assert!(scale.mean > 100.0 && scale.mean < 200.0, "{scale:?}");
    let outcome = train(&c, &data, &device(), &mut Quiet).unwrap();
    let TaskMetrics::Regression(m) = &outcome.history.last().unwrap().validation.metrics else {
        panic!("regression metrics expected")
    };
    // Original units: diabetes targets range 25..346, so a useful model's MAE is tens, not < 1.
    assert!(m.mae > 10.0 && m.mae < 80.0, "{m:?}");
    assert!(m.r2 > 0.2, "{m:?}");
}

fn scratch() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    (dir, runs)
}

#[test]
fn a_recorded_run_holds_everything_and_reloads_to_the_same_test_metrics() {
    let (_dir, runs) = scratch();
    let catalog = catalog();
    let device = device();
    let c = config(IRIS, &["train.epochs=8"]);
    let target = RunTarget {
        catalog: &catalog,
        runs_root: &runs,
        name: "iris-test",
        device: &device,
        backend: "flex",
    };
    let (run, summary) = run_recorded(&c, &target, &mut Quiet).unwrap();
    assert_eq!(summary.status, RunStatus::Completed);
    assert_eq!(summary.epochs_run, 8);
    assert_eq!(summary.test_samples, 30);
    for file in [
        "config.toml",
        "metrics.csv",
        "model.bpk",
        "summary.json",
        "curves.svg",
    ] {
        assert!(run.file(file).is_file(), "{file} missing");
    }
    let csv = std::fs::read_to_string(run.file("metrics.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 9, "header + one row per epoch:\n{csv}");
    assert!(
        lines[0].starts_with("epoch,lr,train_loss,train_accuracy,val_loss,val_accuracy,val_f1")
    );
    let svg = std::fs::read_to_string(run.file("curves.svg")).unwrap();
    assert!(
        svg.contains("<svg") && svg.contains("polyline"),
        "curves drawn"
    );
    // The resolved config names the run and the loss that was used.
    let resolved = run.read_config().unwrap();
    assert_eq!(resolved.name.as_deref(), Some("iris-test"));
    assert!(resolved.loss.is_some());

    let loaded = load_run(run.path(), &catalog, &device).unwrap();
    let again = evaluate_run(&loaded, &device);
    assert_eq!(Some(&again), summary.test.as_ref());

    // A second run under the same name is refused and leaves the first untouched.
    let err = run_recorded(&c, &target, &mut Quiet).unwrap_err();
    assert!(matches!(err, TrainError::RunExists(_)), "{err}");
    assert_eq!(
        std::fs::read_to_string(run.file("metrics.csv")).unwrap(),
        csv
    );
}

#[test]
fn a_diverged_run_is_recorded_as_such_and_cannot_be_evaluated() {
    let (_dir, runs) = scratch();
    let catalog = catalog();
    let device = device();
    let c = config(
        IRIS,
        &["train.optimizer.kind=sgd", "train.lr=1e30", "model.depth=3"],
    );
    let target = RunTarget {
        catalog: &catalog,
        runs_root: &runs,
        name: "boom",
        device: &device,
        backend: "flex",
    };
    let (run, summary) = run_recorded(&c, &target, &mut Quiet).unwrap();
    assert!(matches!(summary.status, RunStatus::Diverged { .. }));
    assert!(summary.test.is_none());
    let json = std::fs::read_to_string(run.file("summary.json")).unwrap();
    assert!(json.contains("\"status\": \"diverged\""), "{json}");
    let err = load_run(run.path(), &catalog, &device)
        .unwrap_err()
        .to_string();
    assert!(err.contains("did not succeed"), "{err}");
}

#[test]
fn config_errors_leave_no_run_folder() {
    let (_dir, runs) = scratch();
    let catalog = catalog();
    let device = device();
    let c = config(IRIS, &["loss.kind=mse", "data.dataset=nope"]);
    let target = RunTarget {
        catalog: &catalog,
        runs_root: &runs,
        name: "bad",
        device: &device,
        backend: "flex",
    };
    assert!(run_recorded(&c, &target, &mut Quiet).is_err());
    assert!(!runs.join("bad").exists());
}

/// The epoch the state in `state_dir` paused after, if one is saved there.
fn paused_epoch(state_dir: &Path) -> Option<usize> {
    anneal_train::resume::read_state(state_dir)
        .unwrap()
        .map(|state| state.epoch)
}

/// Pauses the run once, after `epoch`.
struct PauseAfter(usize);
impl Observer for PauseAfter {
    fn epoch_finished(
        &mut self,
        record: &EpochRecord,
        _: Option<&Model>,
    ) -> anneal_train::Result<Control> {
        Ok(if record.epoch == self.0 {
            Control::Pause
        } else {
            Control::Continue
        })
    }
}

#[test]
fn a_paused_run_continues_exactly_where_an_unpaused_one_would_be() {
    // Adam (moments and step count to carry over), a cosine schedule (the step position),
    // early stopping restoring the best weights (the tracker and best model), no dropout (its
    // masks are the one thing a resumed run draws afresh).
    let c = config(
        IRIS,
        &[
            "train.epochs=12",
            "train.schedule.kind=cosine",
            "train.early_stopping.patience=50",
            "train.early_stopping.restore_best=true",
        ],
    );
    let data = prepare(&c, &catalog()).unwrap();
    let straight = train(&c, &data, &device(), &mut Quiet).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join(anneal_train::resume::RESUME_DIR);
    let first =
        anneal_train::train_resumable(&c, &data, &device(), &mut PauseAfter(5), Some(&state))
            .unwrap();
    assert_eq!(first.status, RunStatus::Paused { epoch: 5 });
    assert_eq!(first.history.len(), 5);
    assert_eq!(paused_epoch(&state), Some(5));

    let resumed =
        anneal_train::train_resumable(&c, &data, &device(), &mut Quiet, Some(&state)).unwrap();
    assert_eq!(resumed.status, RunStatus::Completed);
    assert_eq!(
        resumed.history.len(),
        12,
        "the history runs on from the paused epochs"
    );
    // Every epoch trained after the pause is bit-identical to the unpaused run's.
    assert_eq!(
        figures(&resumed.history[5..]),
        figures(&straight.history[5..])
    );
    // The paused epochs come back from JSON (to within the last bit of an f64).
    for (a, b) in resumed.history[..5].iter().zip(&straight.history[..5]) {
        assert_eq!(a.epoch, b.epoch);
        assert!((a.train_loss - b.train_loss).abs() <= 1e-12 * b.train_loss.abs());
        assert!((a.validation.loss - b.validation.loss).abs() <= 1e-12 * b.validation.loss.abs());
    }
    assert_eq!(resumed.best, straight.best);

    // Without a state folder a pause is a stop, and there is nothing to continue from.
    let stopped = train(&c, &data, &device(), &mut PauseAfter(3)).unwrap();
    assert_eq!(stopped.status, RunStatus::Stopped { epoch: 3 });
}

#[test]
fn a_save_killed_between_its_renames_leaves_the_previous_state() {
    let c = config(IRIS, &["train.epochs=6"]);
    let data = prepare(&c, &catalog()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join(anneal_train::resume::RESUME_DIR);
    anneal_train::train_resumable(&c, &data, &device(), &mut PauseAfter(2), Some(&state)).unwrap();
    // The moment between "old state moved aside" and "new state moved in".
    std::fs::rename(&state, state.with_extension("old")).unwrap();
    assert_eq!(paused_epoch(&state), Some(2));
    let resumed =
        anneal_train::train_resumable(&c, &data, &device(), &mut Quiet, Some(&state)).unwrap();
    assert_eq!(resumed.status, RunStatus::Completed);
    assert_eq!(resumed.history.len(), 6);
}

#[test]
fn early_stopping_wins_over_a_pause_on_the_same_epoch() {
    // Patience 1 with a learning rate too small to improve: out of patience at epoch 2, the
    // epoch the observer asks to pause.
    let c = config(
        IRIS,
        &[
            "train.epochs=10",
            "train.lr=1e-9",
            "train.early_stopping.patience=1",
        ],
    );
    let data = prepare(&c, &catalog()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join(anneal_train::resume::RESUME_DIR);
    let outcome =
        anneal_train::train_resumable(&c, &data, &device(), &mut PauseAfter(2), Some(&state))
            .unwrap();
    assert_eq!(outcome.status, RunStatus::EarlyStopped { epoch: 2 });
    assert_eq!(paused_epoch(&state), None);
}

/// Ends a paused run as soon as it is continued.
struct StopOnResume;
impl Observer for StopOnResume {
    fn resuming(&mut self, _epoch: usize) -> Control {
        Control::Stop
    }
}

#[test]
fn a_paused_run_can_end_where_it_paused_without_its_files() {
    let c = config(
        IRIS,
        &["train.epochs=9", "train.early_stopping.restore_best=true"],
    );
    let data = prepare(&c, &catalog()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join(anneal_train::resume::RESUME_DIR);
    let paused =
        anneal_train::train_resumable(&c, &data, &device(), &mut PauseAfter(3), Some(&state))
            .unwrap();
    // Ending it never steps again, so it does not read the optimizer state.
    std::fs::remove_file(state.join("optimizer.bpk")).unwrap();
    let ended =
        anneal_train::train_resumable(&c, &data, &device(), &mut StopOnResume, Some(&state))
            .unwrap();
    assert_eq!(ended.status, RunStatus::Stopped { epoch: 3 });
    assert_eq!(ended.history.len(), 3);
    // The history comes back from JSON (to within the last bit of an f64).
    for (a, b) in ended.history.iter().zip(&paused.history) {
        assert_eq!(a.epoch, b.epoch);
        assert!((a.validation.loss - b.validation.loss).abs() <= 1e-12 * b.validation.loss.abs());
    }
    let (ended_best, paused_best) = (ended.best.unwrap(), paused.best.unwrap());
    assert_eq!(ended_best.0, paused_best.0);
    assert!((ended_best.1 - paused_best.1).abs() <= 1e-12 * paused_best.1.abs());
    // The state is deleted before the model is used: everything was read when it was loaded
    // (Burn's file loads otherwise read tensors lazily, by path).
    anneal_train::resume::discard(&state).unwrap();
    assert_eq!(parameters(&ended.model, 0), parameters(&paused.model, 0));
}

#[test]
fn a_recorded_run_ended_at_its_pause_is_a_stopped_run_with_its_whole_wall_time() {
    let (_dir, runs) = scratch();
    let catalog = catalog();
    let device = device();
    let c = config(IRIS, &["train.epochs=30"]);
    let target = RunTarget {
        catalog: &catalog,
        runs_root: &runs,
        name: "paused",
        device: &device,
        backend: "flex",
    };
    let (run, paused) = run_recorded(&c, &target, &mut PauseAfter(29)).unwrap();
    assert_eq!(paused.status, RunStatus::Paused { epoch: 29 });
    assert!(
        paused.test.is_none(),
        "a paused run has no final figures yet"
    );
    let (_, ended) = anneal_train::stop_paused(&target).unwrap();
    assert_eq!(ended.status, RunStatus::Stopped { epoch: 29 });
    assert_eq!(ended.epochs_run, 29);
    // The wall time runs on from the paused segment (29 epochs), beyond the stop itself.
    assert!(
        ended.wall_seconds >= paused.wall_seconds,
        "{} < {}",
        ended.wall_seconds,
        paused.wall_seconds
    );
    // Like any stopped run: a checkpoint that reproduces its test figures, and no saved state.
    assert!(!run.file(anneal_train::resume::RESUME_DIR).exists());
    let loaded = anneal_train::load_run(run.path(), &catalog, &device).unwrap();
    assert_eq!(
        anneal_train::evaluate_run(&loaded, &device),
        ended.test.unwrap()
    );
}
