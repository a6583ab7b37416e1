//! Settings a sampler or pruner cannot work with are refused when it is built, with an error
//! naming the field, the value and what is allowed, whatever builds it (a sweep file's config,
//! `anneal ask`, the Rust builder).

use anneal_tune::{ParamSpec, SamplerConfig, SearchSpace};

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
