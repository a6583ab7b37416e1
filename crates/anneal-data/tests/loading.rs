//! Every bundled dataset loads with the right counts and shapes, and damaged files are refused.

mod common;

use anneal_data::{DataError, Targets, Task};
use common::{catalog, scratch_copy};

#[test]
fn catalog_lists_all_seven_datasets() {
    assert_eq!(
        catalog().names(),
        [
            "breast_cancer",
            "diabetes",
            "digits",
            "fashion-mnist",
            "iris",
            "mnist",
            "wine"
        ]
    );
}

#[test]
fn every_dataset_has_the_documented_counts_and_shapes() {
    // (name, task, shape, classes, train samples, official test samples)
    let expected: [(&str, Task, &[usize], usize, usize, Option<usize>); 7] = [
        (
            "mnist",
            Task::Classification,
            &[1, 28, 28],
            10,
            60_000,
            Some(10_000),
        ),
        (
            "fashion-mnist",
            Task::Classification,
            &[1, 28, 28],
            10,
            60_000,
            Some(10_000),
        ),
        ("digits", Task::Classification, &[1, 8, 8], 10, 1_797, None),
        ("iris", Task::Classification, &[4], 3, 150, None),
        ("wine", Task::Classification, &[13], 3, 178, None),
        ("breast_cancer", Task::Classification, &[30], 2, 569, None),
        ("diabetes", Task::Regression, &[10], 0, 442, None),
    ];
    let catalog = catalog();
    for (name, task, shape, classes, train, test) in expected {
        let data = catalog.load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(data.info.task, task, "{name}");
        assert_eq!(data.info.shape, shape, "{name}");
        assert_eq!(data.info.num_classes(), classes, "{name}");
        assert_eq!(data.train.len(), train, "{name}");
        assert_eq!(
            data.train.features.len(),
            train * shape.iter().product::<usize>(),
            "{name}"
        );
        assert_eq!(data.test.as_ref().map(|t| t.len()), test, "{name}");
    }
}

#[test]
fn mnist_matches_published_facts() {
    let data = catalog().load("mnist").unwrap();
    let labels = data.train.targets.classes().unwrap();
    assert_eq!(&labels[..10], &[5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    let test_labels = data.test.as_ref().unwrap().targets.classes().unwrap();
    assert_eq!(&test_labels[..10], &[7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    let n = data.train.features.len() as f64;
    let mean = data
        .train
        .features
        .iter()
        .map(|&x| x as f64 / 255.0)
        .sum::<f64>()
        / n;
    let var = data
        .train
        .features
        .iter()
        .map(|&x| (x as f64 / 255.0 - mean).powi(2))
        .sum::<f64>()
        / n;
    assert!((mean - 0.1307).abs() < 5e-5, "mean {mean}");
    assert!((var.sqrt() - 0.3081).abs() < 5e-5, "std {}", var.sqrt());
}

#[test]
fn tabular_values_are_parsed_exactly() {
    let catalog = catalog();
    let iris = catalog.load("iris").unwrap();
    assert_eq!(iris.train.row(0), &[5.1, 3.5, 1.4, 0.2]);
    assert_eq!(iris.train.class_counts(3), [50, 50, 50]);

    let diabetes = catalog.load("diabetes").unwrap();
    assert_eq!(
        diabetes.train.row(0),
        &[59.0, 2.0, 32.1, 101.0, 157.0, 93.2, 38.0, 4.0, 4.8598, 87.0]
    );
    let Targets::Values(y) = &diabetes.train.targets else {
        panic!("regression targets")
    };
    assert_eq!(y[0], 151.0);
    let mean = y.iter().map(|&v| v as f64).sum::<f64>() / y.len() as f64;
    assert!((mean - 152.133).abs() < 1e-3, "target mean {mean}");

    let digits = catalog.load("digits").unwrap();
    assert!(
        digits
            .train
            .features
            .iter()
            .all(|&v| (0.0..=16.0).contains(&v) && v.fract() == 0.0)
    );
}

#[test]
fn altered_file_fails_its_checksum_naming_the_file() {
    let (dir, catalog) = scratch_copy("iris");
    let path = dir.path().join("iris/iris.csv");
    let mut bytes = std::fs::read(&path).unwrap();
    // Same length, one digit changed: only the checksum can notice.
    let pos = bytes.iter().position(|&b| b == b'5').unwrap();
    bytes[pos] = b'6';
    std::fs::write(&path, bytes).unwrap();
    let err = catalog.load("iris").unwrap_err();
    assert!(matches!(err, DataError::Checksum { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("iris.csv") && msg.contains("f13ffa8f"),
        "{msg}"
    );
}

#[test]
fn truncated_file_is_reported_as_truncated() {
    let (dir, catalog) = scratch_copy("digits");
    let path = dir.path().join("digits/digits.csv.gz");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let msg = catalog.load("digits").unwrap_err().to_string();
    assert!(
        msg.contains("digits.csv.gz") && msg.contains("truncated") && msg.contains("57523"),
        "{msg}"
    );
}

#[test]
fn missing_file_names_the_file() {
    let (dir, catalog) = scratch_copy("wine");
    std::fs::remove_file(dir.path().join("wine/wine_data.csv")).unwrap();
    let err = catalog.load("wine").unwrap_err();
    assert!(matches!(err, DataError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("wine_data.csv"), "{err}");
}

#[test]
fn wrong_manifest_count_is_refused_even_with_valid_checksums() {
    let (dir, _) = scratch_copy("iris");
    let manifest = dir.path().join("iris/manifest.toml");
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("train = 150", "train = 151");
    std::fs::write(&manifest, text).unwrap();
    let catalog = anneal_data::Catalog::open(dir.path()).unwrap();
    let msg = catalog.load("iris").unwrap_err().to_string();
    assert!(msg.contains("expected 151 samples, found 150"), "{msg}");
}

#[test]
fn unknown_dataset_lists_the_known_ones() {
    let msg = catalog().load("cifar10").unwrap_err().to_string();
    assert!(
        msg.contains("cifar10") && msg.contains("mnist") && msg.contains("iris"),
        "{msg}"
    );
}

#[test]
fn manifest_with_unknown_key_is_rejected() {
    let (dir, _) = scratch_copy("iris");
    let manifest = dir.path().join("iris/manifest.toml");
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("task = ", "tsak = \"x\"\ntask = ");
    std::fs::write(&manifest, text).unwrap();
    let msg = anneal_data::Catalog::open(dir.path())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("manifest.toml") && msg.contains("tsak"),
        "{msg}"
    );
}

#[test]
fn a_cached_catalog_verifies_from_disk_once_and_shares_its_cache_with_clones() {
    let (dir, catalog) = scratch_copy("iris");
    let cached = catalog.clone().cached();
    let first = cached.load("iris").unwrap();
    // The file is gone: only a cache hit can still load it, and the clone shares that cache.
    std::fs::remove_file(dir.path().join("iris/iris.csv")).unwrap();
    for again in [
        cached.load("iris").unwrap(),
        cached.clone().load("iris").unwrap(),
    ] {
        assert_eq!(again.train.features, first.train.features);
        assert_eq!(again.train.targets, first.train.targets);
        assert_eq!(again.info, first.info);
    }
    // Without caching every load reads and checks the files.
    let err = catalog.load("iris").unwrap_err();
    assert!(err.to_string().contains("iris.csv"), "{err}");
}
