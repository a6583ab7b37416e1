//! What a training sweep is judged by: several metrics (validation scores and what anneal
//! measures of the trained model), and constraints on them.

use std::path::Path;

use anneal_sweep::{Sweep, TrainingContext, TrialMetric, open_study, run_sweep};
use anneal_tune::{Direction, Quiet, SqliteStorage, TrialState, pareto_front};

fn configs() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs")
}

/// An iris MLP sweep over its width and learning rate, with the sweep-level `settings` given.
fn iris_sweep(settings: &str, runs: &Path) -> String {
    format!(
        "study = \"front\"\nbase = \"{}\"\ntrials = 8\nseed = 1\nruns_dir = \"{}\"\n{settings}\n\
         [[search]]\nname = \"model.units\"\nint = [2, 64]\n\
         [[search]]\nname = \"train.lr\"\nfloat = [1e-3, 1e-1]\nlog = true\n\
         [[search]]\nname = \"train.epochs\"\nvalue = 3\n",
        configs().join("iris-mlp.toml").display(),
        runs.display()
    )
}

fn parse(text: &str) -> Result<Sweep, String> {
    Sweep::parse(&configs().join("t.sweep.toml"), text).map_err(|e| e.to_string())
}

#[test]
fn a_training_sweep_weighs_accuracy_against_size_under_a_constraint() {
    let dir = tempfile::tempdir().unwrap();
    let text = iris_sweep(
        "metrics = [\"val_accuracy\", \"parameters\"]\nconstraints = [\"parameters <= 200\"]",
        &dir.path().join("runs"),
    );
    let sweep = parse(&text).unwrap();
    assert_eq!(
        sweep.directions,
        [Direction::Maximize, Direction::Minimize],
        "each metric's natural direction"
    );
    assert_eq!(
        sweep.file.sampler.name(),
        "nsga2",
        "the default for several"
    );
    let catalog = anneal_data::Catalog::open(&configs().join("../datasets")).unwrap();
    let device = burn::tensor::Device::flex();
    let context = TrainingContext {
        catalog: &catalog,
        device: &device,
        backend: "flex",
    };
    let storage = SqliteStorage::open(&dir.path().join("s.db")).unwrap();
    let study = open_study(&sweep, storage, Some(&context)).unwrap();
    let outcome = run_sweep(&study, &sweep, Some(&context), &mut Quiet).unwrap();
    let complete: Vec<_> = outcome
        .trials
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .collect();
    assert_eq!(complete.len(), 8);
    let mut feasible = 0;
    for trial in &complete {
        let summary: anneal_train::Summary = serde_json::from_str(
            &std::fs::read_to_string(
                Path::new(trial.run_dir.as_deref().unwrap()).join("summary.json"),
            )
            .unwrap(),
        )
        .unwrap();
        let units = trial
            .params
            .iter()
            .find(|(n, _)| n == "model.units")
            .unwrap()
            .1
            .as_i64()
            .unwrap() as f64;
        // An MLP of one hidden layer on iris: 4 inputs, 3 classes.
        let parameters = 8.0 * units + 3.0;
        assert_eq!(trial.values.len(), 2);
        assert_eq!(trial.values[1], parameters, "trial {}", trial.number);
        assert_eq!(summary.parameter_count as f64, parameters);
        let accuracy = summary.validation.as_ref().unwrap().accuracy().unwrap();
        assert_eq!(
            trial.values[0], accuracy,
            "the kept model's validation accuracy"
        );
        assert_eq!(trial.constraints, [parameters - 200.0]);
        assert_eq!(trial.is_feasible(), parameters <= 200.0);
        feasible += usize::from(trial.is_feasible());
        // What anneal measured of the trained model: its checkpoint and its latency.
        let inference = summary.inference.expect("a finished run is timed");
        let checkpoint = Path::new(trial.run_dir.as_deref().unwrap()).join("model.bpk");
        assert_eq!(
            inference.model_bytes,
            std::fs::metadata(checkpoint).unwrap().len()
        );
        assert!(inference.latency_ms > 0.0 && inference.batch_latency_ms > 0.0);
        assert_eq!(inference.batch_size, 64);
    }
    assert!(
        feasible > 0 && feasible < complete.len(),
        "the constraint separates the trials: {feasible} of {} feasible",
        complete.len()
    );
    let front = pareto_front(&outcome.trials, &sweep.directions);
    assert!(!front.is_empty());
    assert!(
        front.iter().all(|t| t.is_feasible()),
        "no infeasible trial on the front"
    );
    assert_eq!(
        outcome.best_trials().unwrap().len(),
        front.len(),
        "the outcome's best trials are the front"
    );
}

#[test]
fn measured_metrics_serve_single_objective_sweeps_too() {
    let dir = tempfile::tempdir().unwrap();
    let text = iris_sweep(
        "metrics = [\"latency_ms\"]\nconstraints = [\"val_accuracy >= 0.3\"]",
        &dir.path().join("runs"),
    );
    let sweep = parse(&text).unwrap();
    assert_eq!(sweep.directions, [Direction::Minimize]);
    assert_eq!(
        sweep.file.sampler.name(),
        "tpe",
        "one objective keeps the default"
    );
    assert_eq!(sweep.describe_goal(), "minimize latency_ms");
}

#[test]
fn objectives_and_constraints_are_checked_with_the_field_named() {
    let runs = Path::new("runs");
    let refused = |settings: &str, field: &str, words: &[&str]| {
        let error = parse(&iris_sweep(settings, runs)).unwrap_err();
        assert!(error.contains(field), "{settings}: {error}");
        for word in words {
            assert!(error.contains(word), "{settings}: {error}");
        }
    };
    refused(
        "metric = \"val_loss\"\nmetrics = [\"val_accuracy\"]",
        "metrics",
        &["not both"],
    );
    refused(
        "metrics = [\"val_accuracy\", \"parameters\"]\ndirections = [\"maximize\"]",
        "directions",
        &["1 directions for 2 metrics", "val_accuracy, parameters"],
    );
    refused(
        "metrics = [\"val_accuracy\", \"parameters\"]\ndirection = \"maximize\"",
        "direction",
        &["one `direction` for 2 metrics"],
    );
    refused(
        "metrics = [\"latency\"]",
        "metrics",
        &["latency_ms", "val_loss"],
    );
    refused(
        "constraints = [\"parameters < 100\"]",
        "constraints[0]",
        &["<=", "parameters < 100"],
    );
    refused(
        "constraints = [\"parameters <= 100\", \"flops <= 3\"]",
        "constraints[1]",
        &["'flops' is not a metric", "model_bytes"],
    );
    // A command prints its values; a synthetic function has no metrics at all.
    let command = "study = \"c\"\ncommand = [\"true\", \"{x}\"]\nmetrics = [\"parameters\"]\n\
                   [[search]]\nname = \"x\"\nfloat = [0, 1]\n";
    assert!(parse(command).unwrap_err().contains("anneal: values"));
    let synthetic = "study = \"s\"\nsynthetic = \"branin\"\nconstraints = [\"x <= 1\"]\n";
    assert!(parse(synthetic).unwrap_err().contains("no metrics"));
    // A command's constraints name what it prints.
    let command = "study = \"c\"\ncommand = [\"true\", \"{x}\"]\nconstraints = [\"size <= 3\"]\n\
                   [[search]]\nname = \"x\"\nfloat = [0, 1]\n";
    assert_eq!(parse(command).unwrap().constraints[0].name, "size");
}

#[test]
fn a_metric_must_fit_the_task_wherever_it_is_named() {
    let catalog = anneal_data::Catalog::open(&configs().join("../datasets")).unwrap();
    let device = burn::tensor::Device::flex();
    let context = TrainingContext {
        catalog: &catalog,
        device: &device,
        backend: "flex",
    };
    let dir = tempfile::tempdir().unwrap();
    for (settings, field) in [
        ("metrics = [\"val_accuracy\", \"val_r2\"]", "metrics[1]"),
        ("constraints = [\"val_mae <= 3\"]", "constraints[0]"),
    ] {
        let sweep = parse(&iris_sweep(settings, &dir.path().join("runs"))).unwrap();
        let storage = SqliteStorage::open(&dir.path().join("s.db")).unwrap();
        let error = open_study(&sweep, storage, Some(&context))
            .err()
            .expect("refused")
            .to_string();
        assert!(
            error.contains(field) && error.contains("iris") && error.contains("val_accuracy"),
            "{error}"
        );
    }
    assert_eq!(
        "val_r2".parse::<TrialMetric>().unwrap().natural_direction(),
        Direction::Maximize
    );
}
