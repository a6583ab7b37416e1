//! Splits, preprocessing, augmentation and batching behave as documented.

mod common;

use anneal_data::{
    AugmentConfig, Augmenter, FittedStep, Loader, PreprocessStep, Preprocessor, Samples, Scope,
    SplitConfig, Targets, split,
};
use burn::tensor::Device;
use common::catalog;

fn split_of(name: &str, seed: u64) -> anneal_data::Splits {
    split(
        catalog().load(name).unwrap(),
        &SplitConfig {
            seed,
            ..SplitConfig::default()
        },
    )
    .unwrap()
}

#[test]
fn stratified_split_keeps_class_proportions_within_one_sample() {
    for name in ["digits", "wine", "breast_cancer", "iris"] {
        let full = catalog().load(name).unwrap();
        let k = full.info.num_classes();
        let total = full.train.class_counts(k);
        let s = split_of(name, 7);
        let pool = s.train.concat(&s.validation).class_counts(k);
        // Test is held out of all samples, validation out of what remains (the training pool).
        for (set, base, fraction) in [(&s.test, &total, 0.2), (&s.validation, &pool, 0.1)] {
            for (c, (&n, &all)) in set.class_counts(k).iter().zip(base).enumerate() {
                let ideal = all as f64 * fraction;
                assert!(
                    (n as f64 - ideal).abs() <= 1.0,
                    "{name} class {c}: {n} vs ideal {ideal:.2}"
                );
            }
        }
        let sum: Vec<usize> = pool
            .iter()
            .zip(s.test.class_counts(k))
            .map(|(a, b)| a + b)
            .collect();
        assert_eq!(
            sum, total,
            "{name}: every sample lands in exactly one split"
        );
        assert!(!s.official_test);
    }
}

#[test]
fn official_test_split_is_used_where_it_exists() {
    let s = split_of("mnist", 0);
    assert!(s.official_test);
    assert_eq!(s.test.len(), 10_000);
    assert_eq!(s.train.len() + s.validation.len(), 60_000);
    assert_eq!(s.validation.len(), 6_000);
}

#[test]
fn splits_are_deterministic_per_seed() {
    let a = split_of("wine", 3);
    let b = split_of("wine", 3);
    let c = split_of("wine", 4);
    assert_eq!(a.train, b.train);
    assert_eq!(a.validation, b.validation);
    assert_eq!(a.test, b.test);
    assert_ne!(a.test, c.test);
}

#[test]
fn regression_split_partitions_all_samples() {
    let s = split_of("diabetes", 1);
    assert_eq!(s.train.len() + s.validation.len() + s.test.len(), 442);
    assert_eq!(s.test.len(), 88); // round(442 × 0.2)
}

fn column_stats(samples: &Samples) -> Vec<(f64, f64, f32, f32)> {
    let d = samples.feature_len();
    (0..d)
        .map(|j| {
            let col: Vec<f64> = samples
                .features
                .chunks_exact(d)
                .map(|r| r[j] as f64)
                .collect();
            let mean = col.iter().sum::<f64>() / col.len() as f64;
            let std =
                (col.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / col.len() as f64).sqrt();
            let lo = col.iter().copied().fold(f64::INFINITY, f64::min) as f32;
            let hi = col.iter().copied().fold(f64::NEG_INFINITY, f64::max) as f32;
            (mean, std, lo, hi)
        })
        .collect()
}

#[test]
fn standardize_is_fitted_on_the_training_split_only() {
    let s = split_of("wine", 0);
    let pre = Preprocessor::fit(
        &[PreprocessStep::Standardize {
            scope: Scope::Feature,
        }],
        &s.train,
    )
    .unwrap();
    for (mean, std, _, _) in column_stats(&pre.apply(&s.train)) {
        assert!(
            mean.abs() < 1e-5 && (std - 1.0).abs() < 1e-5,
            "train mean {mean} std {std}"
        );
    }
    // The fitted shift is the training mean, not the mean of all data.
    let FittedStep::Affine { shift, .. } = &pre.steps[0] else {
        panic!()
    };
    let train_mean = column_stats(&s.train)[0].0;
    assert!((shift[0] as f64 - train_mean).abs() < 1e-4);
    let all = s.train.concat(&s.validation).concat(&s.test);
    assert!(
        (column_stats(&all)[0].0 - train_mean).abs() > 1e-4,
        "test data would have leaked"
    );
    // Held-out sets are transformed with training statistics, so they are not exactly z-scored.
    let val = column_stats(&pre.apply(&s.validation));
    assert!(val.iter().any(|(m, _, _, _)| m.abs() > 1e-3));
}

#[test]
fn min_max_maps_training_data_to_unit_range() {
    let s = split_of("breast_cancer", 0);
    let pre = Preprocessor::fit(
        &[PreprocessStep::MinMax {
            scope: Scope::Feature,
        }],
        &s.train,
    )
    .unwrap();
    for (_, _, lo, hi) in column_stats(&pre.apply(&s.train)) {
        assert!(lo.abs() < 1e-6 && (hi - 1.0).abs() < 1e-6, "[{lo}, {hi}]");
    }
    // Global scope on images: raw 0..16 pixels become value / 16, constant border pixels included.
    let d = split_of("digits", 0);
    let pre = Preprocessor::fit(
        &[PreprocessStep::MinMax {
            scope: Scope::Global,
        }],
        &d.train,
    )
    .unwrap();
    let out = pre.apply(&d.train);
    for (x, y) in d.train.features.iter().zip(&out.features) {
        assert!((x / 16.0 - y).abs() < 1e-6);
    }
}

#[test]
fn pca_on_iris_matches_published_explained_variance() {
    let iris = catalog().load("iris").unwrap();
    let pca = Preprocessor::fit(
        &[PreprocessStep::Pca {
            components: Some(2),
            variance: None,
            whiten: false,
        }],
        &iris.train,
    )
    .unwrap();
    let FittedStep::Projection {
        explained_variance_ratio,
        components,
        ..
    } = &pca.steps[0]
    else {
        panic!()
    };
    assert_eq!(*components, 2);
    assert!(
        (explained_variance_ratio[0] - 0.9246).abs() < 5e-5,
        "{explained_variance_ratio:?}"
    );
    assert!(
        (explained_variance_ratio[1] - 0.0531).abs() < 5e-5,
        "{explained_variance_ratio:?}"
    );
    let out = pca.apply(&iris.train);
    assert_eq!(out.shape, [2]);
    // Projections are uncorrelated and ordered by variance.
    let stats = column_stats(&out);
    assert!(stats[0].1 > stats[1].1);
    assert!(stats[0].0.abs() < 1e-4 && stats[1].0.abs() < 1e-4);

    let by_variance = Preprocessor::fit(
        &[PreprocessStep::Pca {
            components: None,
            variance: Some(0.95),
            whiten: false,
        }],
        &iris.train,
    )
    .unwrap();
    assert_eq!(by_variance.output_shape(&[4]), [2], "92.46% + 5.31% ≥ 95%");
}

/// Sample covariance of two columns of a two-column table.
fn covariance_2d(samples: &Samples) -> [[f64; 2]; 2] {
    let n = samples.len() as f64;
    let rows: Vec<[f64; 2]> = samples
        .features
        .chunks_exact(2)
        .map(|r| [r[0] as f64, r[1] as f64])
        .collect();
    let mean = [0, 1].map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / n);
    let mut cov = [[0.0; 2]; 2];
    for r in &rows {
        for i in 0..2 {
            for j in 0..2 {
                cov[i][j] += (r[i] - mean[i]) * (r[j] - mean[j]) / (n - 1.0);
            }
        }
    }
    cov
}

#[test]
fn pca_projections_are_uncorrelated_and_whitening_gives_unit_variance() {
    let iris = catalog().load("iris").unwrap();
    let fit = |whiten| {
        Preprocessor::fit(
            &[PreprocessStep::Pca {
                components: Some(2),
                variance: None,
                whiten,
            }],
            &iris.train,
        )
        .unwrap()
    };
    let plain = covariance_2d(&fit(false).apply(&iris.train));
    // Off-diagonal covariance vanishes relative to the variances; iris's first two eigenvalues
    // are 4.228 and 0.243 (sample covariance, all 150 samples).
    assert!(plain[0][1].abs() < 1e-4 * plain[0][0], "{plain:?}");
    assert!((plain[0][0] - 4.228).abs() < 0.01, "{plain:?}");
    assert!((plain[1][1] - 0.243).abs() < 0.01, "{plain:?}");

    let white = covariance_2d(&fit(true).apply(&iris.train));
    assert!((white[0][0] - 1.0).abs() < 1e-3, "{white:?}");
    assert!((white[1][1] - 1.0).abs() < 1e-3, "{white:?}");
    assert!(white[0][1].abs() < 1e-3, "{white:?}");
}

#[test]
fn invalid_pca_settings_are_clear_errors() {
    let iris = catalog().load("iris").unwrap();
    let cases = [
        (
            PreprocessStep::Pca {
                components: Some(5),
                variance: None,
                whiten: false,
            },
            "exceeds the 4 input features",
        ),
        (
            PreprocessStep::Pca {
                components: None,
                variance: None,
                whiten: false,
            },
            "exactly one of",
        ),
        (
            PreprocessStep::Pca {
                components: None,
                variance: Some(1.5),
                whiten: false,
            },
            "not a ratio",
        ),
        (
            PreprocessStep::Pca {
                components: Some(0),
                variance: None,
                whiten: false,
            },
            "at least 1",
        ),
    ];
    for (step, expected) in cases {
        let msg = Preprocessor::fit(&[step], &iris.train)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("preprocess[0]") && msg.contains(expected),
            "{msg}"
        );
    }
}

fn epoch_batches(
    samples: &Samples,
    seed: u64,
    epoch: u64,
    augmenter: Option<Augmenter>,
) -> Vec<anneal_data::HostBatch> {
    Loader::shuffled(samples, 64, seed, augmenter)
        .epoch(epoch)
        .collect()
}

#[test]
fn same_seed_gives_identical_batches_other_seed_different() {
    let s = split_of("digits", 0);
    let augment = AugmentConfig {
        shift: 1.0,
        rotation: 10.0,
        noise: 0.1,
        horizontal_flip: false,
    };
    let aug = || Some(Augmenter::new(augment.clone(), &s.info, &s.info.shape).unwrap());
    let a = epoch_batches(&s.train, 42, 0, aug());
    let b = epoch_batches(&s.train, 42, 0, aug());
    let c = epoch_batches(&s.train, 43, 0, aug());
    let next_epoch = epoch_batches(&s.train, 42, 1, aug());
    assert_eq!(a, b);
    assert_ne!(a[0].indices, c[0].indices);
    assert_ne!(a[0].indices, next_epoch[0].indices, "each epoch reshuffles");
    // Every sample appears exactly once per epoch, including in the last partial batch.
    let mut seen: Vec<usize> = a.iter().flat_map(|b| b.indices.clone()).collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..s.train.len()).collect::<Vec<_>>());
    let n = s.train.len();
    assert_eq!(a.len(), n.div_ceil(64));
    assert_eq!(a.last().unwrap().len(), n - 64 * (n / 64));
}

#[test]
// Validation and test go through `Loader::sequential`, which takes no augmenter at all; this checks
// it hands back exactly the stored samples, in order, across a partial last batch.
fn sequential_loader_yields_the_stored_samples_in_order() {
    let s = split_of("digits", 0);
    let batches: Vec<_> = Loader::sequential(&s.validation, 50).epoch(0).collect();
    let features: Vec<f32> = batches.iter().flat_map(|b| b.features.clone()).collect();
    assert_eq!(features, s.validation.features);
}

#[test]
fn one_pixel_shift_moves_the_image() {
    let info = anneal_data::DatasetInfo {
        name: "probe".into(),
        task: anneal_data::Task::Classification,
        shape: vec![1, 5, 5],
        class_names: vec!["a".into(), "b".into()],
        flip_invariant: true,
    };
    let mut image = vec![0.0f32; 25];
    image[12] = 1.0; // centre pixel
    let flip = Augmenter::new(
        AugmentConfig {
            horizontal_flip: true,
            ..Default::default()
        },
        &info,
        &info.shape,
    )
    .unwrap();
    let shift = Augmenter::new(
        AugmentConfig {
            shift: 2.0,
            ..Default::default()
        },
        &info,
        &info.shape,
    )
    .unwrap();
    let mut rng = anneal_data::rng::derive_rng(0, "test", 0);
    // A flip either leaves the image alone or mirrors it left-right; over 20 draws both happen.
    let mut asymmetric = vec![0.0f32; 25];
    asymmetric[2 * 5] = 1.0; // row 2, column 0
    let mut mirrored = vec![0.0f32; 25];
    mirrored[2 * 5 + 4] = 1.0; // row 2, column 4
    let (mut kept, mut flipped) = (0, 0);
    for _ in 0..20 {
        let mut out = asymmetric.clone();
        flip.apply(&mut out, &mut rng);
        if out == asymmetric {
            kept += 1;
        } else {
            assert_eq!(out, mirrored);
            flipped += 1;
        }
    }
    assert!(kept > 0 && flipped > 0, "kept {kept}, flipped {flipped}");
    let mut moved = false;
    for _ in 0..20 {
        let mut shifted = image.clone();
        shift.apply(&mut shifted, &mut rng);
        let total: f32 = shifted.iter().sum();
        assert!(
            (total - 1.0).abs() < 1e-4,
            "bilinear shift inside the frame keeps mass: {total}"
        );
        moved |= shifted[12] < 0.99;
    }
    assert!(moved);
}

#[test]
fn flips_on_digits_and_geometry_on_tables_are_rejected() {
    let digits = catalog().load("digits").unwrap();
    let msg = Augmenter::new(
        AugmentConfig {
            horizontal_flip: true,
            ..Default::default()
        },
        &digits.info,
        &digits.info.shape,
    )
    .unwrap_err()
    .to_string();
    assert!(
        msg.contains("augment.horizontal_flip") && msg.contains("digits"),
        "{msg}"
    );
    let iris = catalog().load("iris").unwrap();
    let msg = Augmenter::new(
        AugmentConfig {
            rotation: 5.0,
            ..Default::default()
        },
        &iris.info,
        &iris.info.shape,
    )
    .unwrap_err()
    .to_string();
    assert!(msg.contains("only `noise` applies"), "{msg}");
    Augmenter::new(
        AugmentConfig {
            noise: 0.05,
            ..Default::default()
        },
        &iris.info,
        &iris.info.shape,
    )
    .unwrap();
}

#[test]
fn noise_has_the_requested_spread() {
    let iris = catalog().load("iris").unwrap();
    let aug = Augmenter::new(
        AugmentConfig {
            noise: 0.5,
            ..Default::default()
        },
        &iris.info,
        &iris.info.shape,
    )
    .unwrap();
    let mut rng = anneal_data::rng::derive_rng(1, "test", 0);
    let mut deltas = Vec::new();
    for _ in 0..5_000 {
        let mut x = [1.0f32; 4];
        aug.apply(&mut x, &mut rng);
        deltas.extend(x.iter().map(|v| (v - 1.0) as f64));
    }
    let std = (deltas.iter().map(|d| d * d).sum::<f64>() / deltas.len() as f64).sqrt();
    assert!((std - 0.5).abs() < 0.01, "std {std}");
}

#[test]
fn batches_become_tensors_of_the_right_shape() {
    let device = Device::flex();
    let s = split_of("digits", 0);
    let batch = Loader::sequential(&s.test, 32).epoch(0).next().unwrap();
    let on_device = batch.to_device(&device);
    assert_eq!(on_device.inputs.dims(), [32, 64]);
    assert_eq!(on_device.images().unwrap().dims(), [32, 1, 8, 8]);
    let anneal_data::BatchTargets::Classes(labels) = &on_device.targets else {
        panic!()
    };
    let Targets::Classes(expected) = &batch.targets else {
        panic!()
    };
    let got: Vec<i64> = labels
        .to_data()
        .convert::<i64>()
        .try_to_vec::<i64>()
        .unwrap();
    assert_eq!(got, expected.iter().map(|&c| c as i64).collect::<Vec<_>>());
    let values: Vec<f32> = on_device.inputs.to_data().try_to_vec::<f32>().unwrap();
    assert_eq!(values, batch.features);

    let d = split_of("diabetes", 0);
    let reg = Loader::sequential(&d.test, 500)
        .epoch(0)
        .next()
        .unwrap()
        .to_device(&device);
    assert_eq!(reg.inputs.dims(), [88, 10]);
    assert!(reg.images().is_none());
    let anneal_data::BatchTargets::Values(y) = reg.targets else {
        panic!()
    };
    assert_eq!(y.dims(), [88, 1]);
}
