//! Metrics against figures computed by hand (and by scikit-learn for the same inputs).

use anneal_train::{ClassificationMetrics, RegressionMetrics};

#[test]
fn classification_metrics_match_scikit_learn() {
    // scikit-learn's f1_score documentation example: macro F1 = 0.26666…
    let actual = [0, 1, 2, 0, 1, 2];
    let predicted = [0, 2, 1, 0, 0, 1];
    let m = ClassificationMetrics::compute(&predicted, &actual, 3);
    assert!((m.accuracy - 2.0 / 6.0).abs() < 1e-12);
    assert!(
        (m.macro_f1 - 0.266_666_666_666_666_6).abs() < 1e-12,
        "{}",
        m.macro_f1
    );
    assert_eq!(m.confusion, [[2, 0, 0], [1, 0, 1], [0, 2, 0]]);
    assert!((m.per_class[0].precision - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(m.per_class[0].recall, 1.0);
    assert_eq!(m.per_class[1].support, 2);
}

#[test]
fn absent_classes_do_not_dilute_macro_f1() {
    // Class 2 never occurs, in targets or predictions: the mean is over classes 0 and 1.
    let m = ClassificationMetrics::compute(&[0, 1, 1, 0], &[0, 1, 0, 0], 3);
    let f1_0 = 2.0 * 1.0 * (2.0 / 3.0) / (1.0 + 2.0 / 3.0);
    let f1_1 = 2.0 * 0.5 * 1.0 / 1.5;
    assert!((m.macro_f1 - (f1_0 + f1_1) / 2.0).abs() < 1e-12);
    assert_eq!(m.accuracy, 0.75);
}

#[test]
fn regression_metrics_match_scikit_learn() {
    // scikit-learn's r2_score example: 0.948608137…; MSE 0.375, MAE 0.5.
    let m = RegressionMetrics::compute(&[2.5, 0.0, 2.0, 8.0], &[3.0, -0.5, 2.0, 7.0]);
    assert!((m.r2 - 0.948_608_137_044_967_9).abs() < 1e-9, "{}", m.r2);
    assert!((m.mse - 0.375).abs() < 1e-12);
    assert!((m.mae - 0.5).abs() < 1e-12);
    // Predicting the mean scores R² = 0.
    let y = [1.0f32, 2.0, 3.0];
    assert!(RegressionMetrics::compute(&[2.0, 2.0, 2.0], &y).r2.abs() < 1e-12);
}
