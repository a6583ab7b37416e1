//! Settings a sampler or pruner cannot work with are refused when it is built, with an error
//! naming the field, the value and what is allowed, whatever builds it (a sweep file's config,
//! `anneal ask`, the Rust builder).

use anneal_tune::{
    AshaPruner, HyperbandPruner, ParamSpec, PrunerConfig, SamplerConfig, SearchSpace,
    SqliteStorage, Storage, Study,
};

fn space() -> SearchSpace {
    SearchSpace::from_specs(&[ParamSpec {
        float: Some([0.0, 1.0]),
        ..ParamSpec::named("x")
    }])
    .unwrap()
}

#[test]
fn a_grid_of_zero_points_per_range_is_refused() {
    let config: SamplerConfig = toml::from_str("kind = \"grid\"\npoints = 0").unwrap();
    let err = config.init(Some(&space())).err().unwrap().to_string();
    assert!(
        err.contains("sampler.points") && err.contains('0') && err.contains("at least 1"),
        "{err}"
    );
    let config: SamplerConfig = toml::from_str("kind = \"grid\"\npoints = 1").unwrap();
    assert!(config.init(Some(&space())).is_ok());
}

fn pruner_error(text: &str) -> String {
    let config: PrunerConfig = toml::from_str(text).unwrap();
    match config.init() {
        Err(e) => e.to_string(),
        Ok(pruner) => panic!("accepted {text:?} as {}", pruner.name()),
    }
}

#[test]
fn asha_and_hyperband_refuse_settings_they_would_silently_clamp() {
    let cases = [
        (
            "kind = \"asha\"\nreduction_factor = 0",
            "pruner.reduction_factor",
            "0",
        ),
        (
            "kind = \"asha\"\nreduction_factor = 1",
            "pruner.reduction_factor",
            "1",
        ),
        (
            "kind = \"asha\"\nmin_resource = 0",
            "pruner.min_resource",
            "0",
        ),
        (
            "kind = \"hyperband\"\nmax_resource = 9\nreduction_factor = 1",
            "pruner.reduction_factor",
            "1",
        ),
        (
            "kind = \"hyperband\"\nmax_resource = 9\nmin_resource = 0",
            "pruner.min_resource",
            "0",
        ),
        (
            "kind = \"hyperband\"\nmin_resource = 10\nmax_resource = 9",
            "pruner.max_resource",
            "9",
        ),
        ("kind = \"hyperband\"\nmax_resource = 0", "pruner.", "0"),
    ];
    for (text, field, value) in cases {
        let err = pruner_error(text);
        assert!(
            err.contains(field) && err.contains(value) && err.contains("at least"),
            "{text:?}: {err}"
        );
    }
    assert!(
        pruner_error("kind = \"hyperband\"\nmin_resource = 10\nmax_resource = 9").contains("10")
    );
    // The defaults, and a single-bracket Hyperband, build.
    for text in [
        "kind = \"asha\"",
        "kind = \"asha\"\nreduction_factor = 2",
        "kind = \"hyperband\"\nmax_resource = 27",
        "kind = \"hyperband\"\nmin_resource = 9\nmax_resource = 9",
        "kind = \"median\"",
    ] {
        let config: PrunerConfig = toml::from_str(text).unwrap();
        assert!(config.init().is_ok(), "{text}");
    }
}

#[test]
fn a_pruner_built_by_hand_is_checked_before_its_study_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let err = Study::builder()
        .name("bad-asha")
        .storage(SqliteStorage::open(&db).unwrap())
        .pruner(AshaPruner {
            min_resource: 1,
            reduction_factor: 1,
        })
        .build()
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("pruner.reduction_factor") && err.contains('1'),
        "{err}"
    );
    let err = HyperbandPruner::new(4, 2, 3).err().unwrap().to_string();
    assert!(
        err.contains("pruner.max_resource") && err.contains('2'),
        "{err}"
    );
    let storage = SqliteStorage::open(&db).unwrap();
    assert!(storage.study("bad-asha").unwrap().is_none());
}
