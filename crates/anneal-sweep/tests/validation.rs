//! Sweeps refused on load, before any study exists: a pruner or grid setting the tuner would
//! silently clamp, and a searched range that reaches a value the run config refuses (which
//! used to fail only in the trials that drew it).

use std::path::{Path, PathBuf};

use anneal_sweep::{Sweep, open_study};
use anneal_tune::{PrunerConfig, SqliteStorage, Storage};

fn iris() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/iris-mlp.toml")
}

/// The error loading a sweep on `base` with `search` entries and `extra` settings.
fn refusal(base: &Path, extra: &str, search: &str) -> String {
    let text = format!(
        "study = \"v\"\nbase = {:?}\nmetric = \"val_accuracy\"\n{extra}\n{search}",
        base.display().to_string()
    );
    match Sweep::parse(&base.with_file_name("v.sweep.toml"), &text) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("accepted:\n{text}"),
    }
}

const LR: &str = "[[search]]\nname = \"train.lr\"\nfloat = [1e-3, 1e-1]\nlog = true\n";

#[test]
fn pruner_and_grid_settings_the_tuner_would_clamp_are_refused_on_load() {
    let cases = [
        (
            "pruner = { kind = \"asha\", reduction_factor = 0 }",
            "pruner.reduction_factor",
            "0",
        ),
        (
            "pruner = { kind = \"asha\", reduction_factor = 1 }",
            "pruner.reduction_factor",
            "1",
        ),
        (
            "pruner = { kind = \"asha\", min_resource = 0 }",
            "pruner.min_resource",
            "0",
        ),
        (
            "pruner = { kind = \"hyperband\", min_resource = 5, max_resource = 3 }",
            "pruner.max_resource",
            "3 is below min_resource 5",
        ),
        (
            "sampler = { kind = \"grid\", points = 0 }",
            "sampler.points",
            "0",
        ),
    ];
    for (setting, field, words) in cases {
        let err = refusal(&iris(), setting, LR);
        assert!(
            err.contains(field) && err.contains(words),
            "{setting}: {err}"
        );
    }
}

#[test]
fn a_bad_pruner_creates_no_study() {
    // A sweep whose pruner went bad after loading (set from Rust) still fails before its study.
    let text = format!(
        "study = \"p\"\nsynthetic = \"branin\"\n{}",
        LR.replace("train.lr", "x")
    );
    let mut sweep = Sweep::parse(Path::new("p.sweep.toml"), &text).unwrap();
    sweep.file.pruner = PrunerConfig::Asha {
        min_resource: 1,
        reduction_factor: 1,
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let err = open_study(&sweep, SqliteStorage::open(&db).unwrap(), None)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("pruner.reduction_factor"), "{err}");
    let storage = SqliteStorage::open(&db).unwrap();
    assert!(
        storage.study("p").unwrap().is_none(),
        "no study was created"
    );
}

#[test]
fn a_range_reaching_a_value_the_run_config_refuses_is_refused_on_load() {
    let cases = [
        (
            "name = \"model.units\"\nint = [0, 64]",
            &[
                "search[0] (model.units)",
                "can take 0 (its low bound)",
                "between 1 and 65536",
            ][..],
        ),
        (
            "name = \"train.lr\"\nfloat = [-0.1, 0.1]",
            &[
                "search[0] (train.lr)",
                "can take -0.1 (its low bound)",
                "> 0",
            ],
        ),
        (
            "name = \"train.lr\"\nchoices = [0.01, 0]",
            &[
                "search[0] (train.lr)",
                "can take 0 (a choice)",
                "train.lr",
                "> 0",
            ],
        ),
        (
            "name = \"model.dropout\"\nfloat = [0.0, 1.0]",
            &[
                "search[0] (model.dropout)",
                "can take 1.0 (its high bound)",
                "[0, 1)",
            ],
        ),
        (
            "name = \"train.optimizer.kind\"\nchoices = [\"adam\", \"adamm\"]",
            &[
                "search[0] (train.optimizer.kind)",
                "\"adamm\" (a choice)",
                "adamm",
            ],
        ),
    ];
    for (spec, words) in cases {
        let err = refusal(&iris(), "", &format!("[[search]]\n{spec}\n"));
        for word in words {
            assert!(err.contains(word), "{spec}: {word:?} missing from: {err}");
        }
    }
    // With the range's middle invalid too, the bound is still what is named.
    let err = refusal(
        &iris(),
        "",
        "[[search]]\nname = \"model.dropout\"\nfloat = [0.0, 2.0]\n",
    );
    assert!(
        err.contains("search[0] (model.dropout)")
            && err.contains("can take 2.0 (its high bound)")
            && err.contains("[0, 1)"),
        "{err}"
    );
    // The first choice (what the other parameters' checks take) is named when it is invalid.
    let err = refusal(
        &iris(),
        "",
        "[[search]]\nname = \"train.lr\"\nchoices = [-1.0, 0.01]\n",
    );
    assert!(
        err.contains("search[0] (train.lr)") && err.contains("-1.0 (a choice)"),
        "{err}"
    );
    // A CNN's own rules, those that need no data, count too.
    let err = refusal(
        &iris(),
        "",
        "[[search]]\nname = \"model.kind\"\nvalue = \"cnn\"\n\
         [[search]]\nname = \"model.kernel_size\"\nchoices = [3, 4]\n",
    );
    assert!(
        err.contains("search[1] (model.kernel_size)")
            && err.contains("can take 4 (a choice)")
            && err.contains("odd kernel_size"),
        "{err}"
    );
    // A conditional parameter is checked with its condition holding.
    let err = refusal(
        &iris(),
        "",
        "[[search]]\nname = \"train.optimizer.kind\"\nchoices = [\"adam\", \"sgd\"]\n\
         [[search]]\nname = \"train.optimizer.momentum\"\nfloat = [0.0, 1.0]\n\
         when = { \"train.optimizer.kind\" = [\"sgd\"] }\n",
    );
    assert!(
        err.contains("search[1] (train.optimizer.momentum)")
            && err.contains("1.0 (its high bound)"),
        "{err}"
    );
}

#[test]
fn a_base_config_refused_whatever_the_search_is_blamed_on_the_base() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(iris()).unwrap();
    let base = dir.path().join("bad.toml");
    std::fs::write(&base, text.replace("epochs = 150", "epochs = 0")).unwrap();
    let err = refusal(&base, "", LR);
    assert!(
        err.contains("`base`")
            && err.contains("bad.toml is refused whatever the search sets")
            && err.contains("train.epochs"),
        "{err}"
    );
}

#[test]
fn later_parameters_are_set_when_an_earlier_one_is_checked() {
    // digits-mlp.toml has 1 warm-up epoch: with 1 epoch that alone is refused, but every trial
    // of this sweep also sets warmup_epochs = 0. Its model's two layers get one width each
    // from the per-layer search, however many layers the depth gives.
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/digits-mlp.toml");
    let text = format!(
        "study = \"later\"\nbase = {:?}\nmetric = \"val_accuracy\"\n\
         [[search]]\nname = \"train.epochs\"\nint = [1, 5]\n\
         [[search]]\nname = \"train.warmup_epochs\"\nvalue = 0\n\
         [[search]]\nname = \"model.depth\"\nint = [1, 3]\n\
         [[search]]\nname = \"model.units\"\nchoices = [16, 64]\nper_layer = \"model.depth\"\n",
        base.display().to_string()
    );
    Sweep::parse(&base.with_file_name("later.sweep.toml"), &text).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn ranges_within_what_the_run_config_accepts_still_load() {
    let text = format!(
        "study = \"ok\"\nbase = {:?}\nmetric = \"val_accuracy\"\n\
         [[search]]\nname = \"model.depth\"\nint = [1, 4]\n\
         [[search]]\nname = \"model.units\"\nint = [1, 65536]\nlog = true\nper_layer = \"model.depth\"\n\
         [[search]]\nname = \"model.dropout\"\nfloat = [0.0, 0.9]\n\
         [[search]]\nname = \"train.lr\"\nchoices = [1e-3, 1e-2]\n",
        iris().display().to_string()
    );
    Sweep::parse(&iris().with_file_name("ok.sweep.toml"), &text).unwrap_or_else(|e| panic!("{e}"));
}
