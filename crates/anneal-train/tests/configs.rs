//! Run configs: the ready files in configs/ load, overrides apply, and bad settings are clear
//! errors naming the field before any training starts.

use std::path::{Path, PathBuf};

use anneal_data::Catalog;
use anneal_train::{OptimizerConfig, RunConfig, ScheduleKind, prepare};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn catalog() -> Catalog {
    Catalog::open(&repo().join("datasets")).unwrap()
}

const IRIS: &str = r#"
[data]
dataset = "iris"
preprocess = [{ kind = "standardize" }]
[model]
kind = "mlp"
[train]
epochs = 3
"#;

#[test]
fn every_ready_config_loads_and_fits_its_dataset() {
    let catalog = catalog();
    let mut seen = 0;
    for entry in std::fs::read_dir(repo().join("configs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml")
            || path.to_string_lossy().ends_with(".sweep.toml")
        {
            continue; // sweep files belong to the tuner
        }
        let text = std::fs::read_to_string(&path).unwrap();
        if text.contains("[search") {
            continue; // sweep files belong to the tuner
        }
        let config = RunConfig::load(&path, &[]).unwrap_or_else(|e| panic!("{e}"));
        config
            .validate()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // The big image sets are only checked for config validity; loading them is the data
        // crate's tested job, and prepare() on small sets covers the rest of the checks.
        if !matches!(
            config.data.dataset.as_deref(),
            Some("mnist" | "fashion-mnist")
        ) {
            prepare(&config, &catalog).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
        seen += 1;
    }
    assert!(
        seen >= 10,
        "expected the ten ready run configs, found {seen}"
    );
}

#[test]
fn defaults_are_filled_and_overrides_apply() {
    let config = RunConfig::parse(
        Path::new("iris.toml"),
        IRIS,
        &[
            "train.lr=0.05".into(),
            "train.optimizer.kind=sgd".into(),
            "train.optimizer.momentum=0.9".into(),
            "train.schedule={ kind = \"step_decay\", every = 2, gamma = 0.5 }".into(),
            "model.activation=tanh".into(),
        ],
    )
    .unwrap();
    assert_eq!(config.train.lr, 0.05);
    assert_eq!(config.train.epochs, 3);
    assert_eq!(config.train.batch_size, 64, "default filled in");
    assert_eq!(
        config.train.optimizer,
        OptimizerConfig::Sgd {
            momentum: 0.9,
            dampening: 0.0,
            nesterov: false
        }
    );
    assert_eq!(
        config.train.schedule,
        ScheduleKind::StepDecay {
            every: 2,
            gamma: 0.5
        }
    );
    // The resolved config round-trips through TOML unchanged.
    let text = toml::to_string_pretty(&config).unwrap();
    let again = RunConfig::parse(Path::new("resolved.toml"), &text, &[]).unwrap();
    assert_eq!(again, config);
}

#[test]
fn invalid_configs_name_the_field_before_training() {
    let catalog = catalog();
    // (overrides on the iris config, a fragment the error must contain)
    let cases: &[(&[&str], &str)] = &[
        (&["train.epochs=0"], "train.epochs"),
        (&["train.batch_size=0"], "train.batch_size"),
        (&["train.lr=-0.1"], "train.lr"),
        (&["train.lr=0"], "train.lr"),
        (
            &["train.schedule={ kind = \"exponential\", gamma = 1.5 }"],
            "train.schedule.gamma",
        ),
        (
            &["train.schedule={ kind = \"step_decay\", every = 0, gamma = 0.5 }"],
            "train.schedule.every",
        ),
        (
            &["train.schedule={ kind = \"cosine\", min_lr = 1.0 }"],
            "train.schedule.min_lr",
        ),
        (&["train.warmup_epochs=-1"], "train.warmup_epochs"),
        (&["train.weight_decay=-1"], "train.weight_decay"),
        (&["train.l1=-0.5"], "train.l1"),
        (&["train.grad_clip={ norm = 0.0 }"], "train.grad_clip.norm"),
        (
            &["train.early_stopping.patience=0"],
            "train.early_stopping.patience",
        ),
        (
            &["train.optimizer.momentum=0.9"],
            "unknown field `momentum`",
        ),
        (
            &["train.optimizer.kind=sgd", "train.optimizer.nesterov=true"],
            "train.optimizer.nesterov",
        ),
        (
            &["train.optimizer.kind=sgd", "train.optimizer.momentum=1.5"],
            "train.optimizer.momentum",
        ),
        (&["train.optimizer.kind=lbfgs"], "lbfgs"),
        (&["train.optimiser.kind=sgd"], "unknown field `optimiser`"),
        (
            &["loss.kind=mse", "loss.label_smoothing=0.1"],
            "loss.label_smoothing",
        ),
        (
            &["data.dataset=diabetes", "loss.kind=cross_entropy"],
            "loss.kind",
        ),
        (
            &["train.early_stopping.monitor=val_r2"],
            "train.early_stopping.monitor",
        ),
        (&["model.kind=cnn"], "image"),
        (&["train.warmup_epochs=3"], "train.warmup_epochs"),
        (
            &["train.optimizer.kind=sgd", "train.optimizer.dampening=0.5"],
            "train.optimizer.dampening",
        ),
        (
            &["model.batch_norm=true", "train.batch_size=1"],
            "train.batch_size",
        ),
        (&["data.dataset=nope"], "nope"),
        (&["data.split.validation=0.0"], "split.validation"),
        (&["data.augment.shift=2.0"], "augment"),
        (
            &["data.csv={ path = \"x.csv\", task = \"classification\" }"],
            "exactly one",
        ),
        (&["model.dropout=1.0"], "dropout"),
        (
            &["train.early_stopping.patience=\"never\""],
            "patience 'never' is not a number of epochs or \"off\"",
        ),
        (&["data.impute=average"], "unknown variant `average`"),
        (&["data.encoding=binary"], "unknown variant `binary`"),
        (&["data.unseen_category=skip"], "unknown variant `skip`"),
    ];
    assert!(cases.len() >= 10);
    for (overrides, fragment) in cases {
        let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        let message = match RunConfig::parse(Path::new("iris.toml"), IRIS, &overrides) {
            Err(e) => e.to_string(),
            Ok(config) => match prepare(&config, &catalog) {
                Err(e) => e.to_string(),
                Ok(_) => panic!("{overrides:?} was accepted"),
            },
        };
        assert!(
            message.contains(fragment),
            "{overrides:?}: '{message}' does not mention '{fragment}'"
        );
    }
}

#[test]
// Internally tagged tables (model kinds) report the line of their header.
fn toml_errors_point_at_the_line() {
    let text = "[data]\ndataset = \"iris\"\n[model]\nkind = \"mlp\"\ndepht = 3\n";
    let message = RunConfig::parse(Path::new("typo.toml"), text, &[])
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("typo.toml") && message.contains("depht") && message.contains("line 3"),
        "{message}"
    );
}

#[test]
fn an_early_stopping_table_without_patience_stops_after_the_documented_default() {
    let parse = |overrides: &[&str]| {
        let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        RunConfig::parse(Path::new("iris.toml"), IRIS, &overrides).unwrap()
    };
    // No table: every epoch runs (the best epoch is still kept).
    assert_eq!(parse(&[]).train.early_stopping.patience, None);
    // A table without patience: the default, which stops.
    let with_table = parse(&["train.early_stopping={ monitor = \"val_accuracy\" }"]);
    assert_eq!(
        with_table.train.early_stopping.patience,
        Some(anneal_train::config::DEFAULT_PATIENCE)
    );
    assert_eq!(anneal_train::config::DEFAULT_PATIENCE, 10);
    // "off" says every epoch runs, and survives the resolved config's round trip.
    let off = parse(&["train.early_stopping={ monitor = \"val_loss\", patience = \"off\" }"]);
    assert_eq!(off.train.early_stopping.patience, None);
    for config in [parse(&[]), with_table, off] {
        let text = toml::to_string_pretty(&config).unwrap();
        let again = RunConfig::parse(Path::new("resolved.toml"), &text, &[]).unwrap();
        assert_eq!(
            again.train.early_stopping, config.train.early_stopping,
            "{text}"
        );
    }
}

#[test]
fn data_paths_resolve_from_the_config_file_not_the_working_directory() {
    let text = r#"
[data]
csv = { path = "data/train.csv", test_path = "../shared/test.csv", task = "classification" }
[model]
kind = "mlp"
"#;
    let config =
        RunConfig::parse(Path::new("/projects/churn/configs/run.toml"), text, &[]).unwrap();
    let csv = config.data.csv.as_ref().unwrap();
    assert_eq!(
        csv.path,
        Path::new("/projects/churn/configs/data/train.csv")
    );
    assert_eq!(
        csv.test_path.as_deref(),
        Some(Path::new("/projects/churn/configs/../shared/test.csv"))
    );
    // The same through overrides (the path a sweep's trials take), and absolute paths stay.
    let config = RunConfig::parse(
        Path::new("/projects/churn/configs/run.toml"),
        text,
        &[
            "data.csv.path=/data/all.csv".into(),
            "train.epochs=2".into(),
        ],
    )
    .unwrap();
    assert_eq!(config.data.csv.unwrap().path, Path::new("/data/all.csv"));
    let idx = r#"
[data.idx]
train_images = "imgs"
train_labels = "labels"
[model]
kind = "mlp"
"#;
    let config = RunConfig::parse(Path::new("/p/c.toml"), idx, &[]).unwrap();
    let idx = config.data.idx.unwrap();
    assert_eq!(
        (idx.train_images.as_path(), idx.train_labels.as_path()),
        (Path::new("/p/imgs"), Path::new("/p/labels"))
    );
}

#[test]
fn a_run_folder_from_before_patience_was_recorded_keeps_training_every_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let old = format!(
        "{IRIS}\n[train.early_stopping]\nmonitor = \"val_loss\"\nmin_delta = 0.0\nrestore_best = true\n"
    );
    std::fs::write(dir.path().join("config.toml"), old).unwrap();
    let run = anneal_train::RunDir::open(dir.path()).unwrap();
    assert_eq!(
        run.read_config().unwrap().train.early_stopping.patience,
        None
    );
    // A folder written now records its patience either way.
    let mut config = run.read_config().unwrap();
    config.train.early_stopping.patience = Some(4);
    run.write_config(&config).unwrap();
    assert_eq!(
        run.read_config().unwrap().train.early_stopping.patience,
        Some(4)
    );
}

#[test]
fn data_paths_of_older_run_folders_and_of_other_hosts_are_found() {
    let dir = tempfile::tempdir().unwrap();
    // A folder from before runs saved their pipeline recorded paths relative to the working
    // directory of the run.
    let old = "[data]\ncsv = { path = \"data/my.csv\", task = \"classification\" }\n[model]\nkind = \"mlp\"\n";
    std::fs::write(dir.path().join("config.toml"), old).unwrap();
    let run = anneal_train::RunDir::open(dir.path()).unwrap();
    let csv = run.read_config().unwrap().data.csv.unwrap();
    assert_eq!(
        csv.path,
        std::env::current_dir().unwrap().join("data/my.csv")
    );

    // A trial paused on another host names that host's files; this host's copy is used where
    // the recorded one does not exist, and an existing one is kept.
    let here = dir.path().join("here.csv");
    std::fs::write(&here, "x,y\n1,0\n").unwrap();
    let parse = |path: &Path| {
        let text = format!(
            "[data]\ncsv = {{ path = \"{}\", task = \"classification\" }}\n[model]\nkind = \"mlp\"\n",
            path.display()
        );
        RunConfig::parse(Path::new("c.toml"), &text, &[])
            .unwrap()
            .data
    };
    let mut recorded = parse(Path::new("/elsewhere/mnt/here.csv"));
    recorded.relocate_missing_files(&parse(&here));
    assert_eq!(recorded.csv.as_ref().unwrap().path, here);
    let other = dir.path().join("other.csv");
    std::fs::write(&other, "x,y\n1,0\n").unwrap();
    let mut present = parse(&here);
    present.relocate_missing_files(&parse(&other));
    assert_eq!(
        present.csv.unwrap().path,
        here,
        "a file this host has is kept"
    );
}
