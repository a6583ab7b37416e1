//! Loss values against hand-computed figures on small fixed inputs.

use anneal_data::{BatchTargets, DatasetInfo, Task};
use anneal_model::{LossConfig, LossKind, predict_classes};
use burn::tensor::{Device, Int, Tensor, TensorData};

fn logits(rows: &[[f32; 3]]) -> Tensor<2> {
    let flat: Vec<f32> = rows.iter().flatten().copied().collect();
    Tensor::from_data(TensorData::new(flat, [rows.len(), 3]), &Device::flex())
}

fn classes(c: &[i64]) -> BatchTargets {
    BatchTargets::Classes(Tensor::<1, Int>::from_data(
        TensorData::new(c.to_vec(), [c.len()]),
        &Device::flex(),
    ))
}

fn scalar(t: Tensor<1>) -> f64 {
    t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()[0]
}

fn loss(kind: LossKind, smoothing: f64) -> LossConfig {
    LossConfig {
        kind,
        label_smoothing: smoothing,
    }
}

const Z: [[f32; 3]; 2] = [[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]];

fn log_softmax(row: &[f32; 3]) -> Vec<f64> {
    let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let lse = m + row.iter().map(|&z| (z as f64 - m).exp()).sum::<f64>().ln();
    row.iter().map(|&z| z as f64 - lse).collect()
}

#[test]
fn cross_entropy_with_and_without_label_smoothing() {
    let targets = classes(&[0, 1]);
    let lp: Vec<Vec<f64>> = Z.iter().map(log_softmax).collect();
    let plain = -(lp[0][0] + lp[1][1]) / 2.0;
    // Hand value of the first row: −log(e²/(e²+e+e^0.1)) = 0.417030.
    assert!((-lp[0][0] - 0.417030).abs() < 1e-6);
    let got = scalar(loss(LossKind::CrossEntropy, 0.0).compute(logits(&Z), &targets));
    assert!((got - plain).abs() < 1e-5, "{got} vs {plain}");

    // ε = 0.1, K = 3: target = 0.9·one_hot + 0.1/3.
    let eps = 0.1;
    let smoothed: f64 = [(0usize, &lp[0]), (1, &lp[1])]
        .iter()
        .map(|(y, row)| {
            -row.iter()
                .enumerate()
                .map(|(j, l)| (if j == *y { 1.0 - eps } else { 0.0 } + eps / 3.0) * l)
                .sum::<f64>()
        })
        .sum::<f64>()
        / 2.0;
    let got = scalar(loss(LossKind::CrossEntropy, 0.1).compute(logits(&Z), &targets));
    assert!((got - smoothed).abs() < 1e-5, "{got} vs {smoothed}");
    assert!(
        smoothed > plain,
        "smoothing penalises confident correct predictions"
    );
}

#[test]
fn weston_watkins_hinge() {
    // Row 0, y=0: max(0, 1+1−2) + max(0, 1+0.1−2) = 0. Row 1, y=2: max(0, 1+0.5+1) + max(0, 1+2.5+1) = 2.5 + 4.5.
    let got = scalar(loss(LossKind::Hinge, 0.0).compute(logits(&Z), &classes(&[0, 2])));
    assert!((got - 3.5).abs() < 1e-6, "{got}");
}

#[test]
fn mse_for_classification_and_regression() {
    let softmax =
        |row: &[f32; 3]| -> Vec<f64> { log_softmax(row).iter().map(|l| l.exp()).collect() };
    let p: Vec<Vec<f64>> = Z.iter().map(softmax).collect();
    let expected = [(0usize, &p[0]), (1, &p[1])]
        .iter()
        .map(|(y, row)| {
            row.iter()
                .enumerate()
                .map(|(j, q)| (q - if j == *y { 1.0 } else { 0.0 }).powi(2))
                .sum::<f64>()
        })
        .sum::<f64>()
        / 6.0;
    let got = scalar(loss(LossKind::Mse, 0.0).compute(logits(&Z), &classes(&[0, 1])));
    assert!((got - expected).abs() < 1e-6, "{got} vs {expected}");

    let device = Device::flex();
    let prediction =
        Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 2.0, 4.0], [3, 1]), &device);
    let target = BatchTargets::Values(Tensor::from_data(
        TensorData::new(vec![1.5f32, 2.0, 1.0], [3, 1]),
        &device,
    ));
    let got = scalar(loss(LossKind::Mse, 0.0).compute(prediction, &target));
    assert!((got - (0.25 + 0.0 + 9.0) / 3.0).abs() < 1e-6, "{got}");
}

#[test]
fn binary_cross_entropy_on_one_logit() {
    let device = Device::flex();
    let z = Tensor::<2>::from_data(TensorData::new(vec![0.0f32, 2.0, -1.0], [3, 1]), &device);
    let y = [1.0, 0.0, 0.0];
    let sigma = |v: f64| 1.0 / (1.0 + (-v).exp());
    let expected = [0.0, 2.0, -1.0]
        .iter()
        .zip(y)
        .map(|(&z, y)| -(y * sigma(z).ln() + (1.0 - y) * (1.0 - sigma(z)).ln()))
        .sum::<f64>()
        / 3.0;
    let got = scalar(loss(LossKind::Bce, 0.0).compute(z.clone(), &classes(&[1, 0, 0])));
    assert!((got - expected).abs() < 1e-6, "{got} vs {expected}");
    let predicted = predict_classes(z)
        .into_data()
        .convert::<i64>()
        .try_to_vec::<i64>()
        .unwrap();
    assert_eq!(predicted, [0, 1, 0]);
    assert_eq!(
        predict_classes(logits(&Z))
            .into_data()
            .convert::<i64>()
            .try_to_vec::<i64>()
            .unwrap(),
        [0, 1]
    );
}

fn dataset(task: Task, classes: usize) -> DatasetInfo {
    DatasetInfo {
        name: "probe".into(),
        task,
        shape: vec![4],
        class_names: (0..classes).map(|c| c.to_string()).collect(),
        flip_invariant: false,
    }
}

#[test]
fn losses_that_do_not_fit_the_task_are_rejected_with_the_fitting_ones() {
    let regression = dataset(Task::Regression, 0);
    let msg = loss(LossKind::CrossEntropy, 0.0)
        .validate(&regression)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("loss.kind")
            && msg.contains("cross_entropy does not fit")
            && msg.contains("losses that fit: mse"),
        "{msg}"
    );
    let three = dataset(Task::Classification, 3);
    let msg = loss(LossKind::Bce, 0.0)
        .validate(&three)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("cross_entropy, mse, hinge")
            && !msg.contains("fit: cross_entropy, mse, hinge, bce"),
        "{msg}"
    );
    loss(LossKind::Bce, 0.0)
        .validate(&dataset(Task::Classification, 2))
        .unwrap();
    assert_eq!(
        loss(LossKind::Bce, 0.0).outputs(&dataset(Task::Classification, 2)),
        1
    );
}
