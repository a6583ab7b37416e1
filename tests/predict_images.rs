//! `anneal predict` on IDX images: the run's official test images give exactly its recorded
//! test metrics, unlabelled images get predictions, and images of another shape or a CSV for an
//! image model are clear errors.

mod support;

use support::{anneal_in, assert_same_metrics, json, stderr_of_failure, stdout, summary};

/// An IDX file of unsigned bytes with these dimensions.
fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        bytes.extend(d.to_be_bytes());
    }
    bytes.extend_from_slice(data);
    bytes
}

/// `count` 6×6 images of a bar, horizontal (class 0) or vertical (class 1), at varying places.
fn bars(count: usize, offset: usize) -> (Vec<u8>, Vec<u8>) {
    let mut pixels = Vec::with_capacity(count * 36);
    let mut labels = Vec::with_capacity(count);
    for i in offset..offset + count {
        let class = (i % 2) as u8;
        let at = (i / 2) % 6;
        for y in 0..6 {
            for x in 0..6 {
                let on = if class == 0 { y == at } else { x == at };
                pixels.push(if on {
                    200 + (i % 50) as u8
                } else {
                    (i * 7 % 30) as u8
                });
            }
        }
        labels.push(class);
    }
    (
        idx(&[count as u32, 6, 6], &pixels),
        idx(&[count as u32], &labels),
    )
}

#[test]
fn predict_reads_idx_images_and_reproduces_the_official_test_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let (train_images, train_labels) = bars(240, 0);
    let (test_images, test_labels) = bars(60, 1000);
    for (name, bytes) in [
        ("train-images.idx", train_images),
        ("train-labels.idx", train_labels),
        ("test-images.idx", test_images.clone()),
        ("test-labels.idx", test_labels),
    ] {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    std::fs::write(
        dir.path().join("bars.toml"),
        r#"
[data.idx]
train_images = "train-images.idx"
train_labels = "train-labels.idx"
test_images = "test-images.idx"
test_labels = "test-labels.idx"
[data]
preprocess = [{ kind = "standardize", scope = "global" }]
[model]
kind = "mlp"
depth = 1
units = 16
[train]
epochs = 3
batch_size = 16
lr = 0.01
"#,
    )
    .unwrap();
    stdout(&anneal_in(
        dir.path(),
        &["train", "--config", "bars.toml", "--quiet"],
    ));
    let run = dir.path().join("runs/bars");
    let run = run.to_str().unwrap();
    let output = anneal_in(
        dir.path(),
        &[
            "predict",
            run,
            "--idx",
            "test-images.idx",
            "--labels",
            "test-labels.idx",
            "--out",
            "bars.csv",
            "--json",
        ],
    );
    assert_same_metrics(
        &summary(&dir.path().join("runs/bars"))["test"],
        &json(&stdout(&output)),
    );
    // Without labels: predictions only.
    let text = stdout(&anneal_in(
        dir.path(),
        &["predict", run, "--idx", "test-images.idx"],
    ));
    assert_eq!(text.lines().count(), 61, "{text}");
    assert!(text.starts_with("predicted,prob_0,prob_1\n"), "{text}");

    let err = stderr_of_failure(&anneal_in(dir.path(), &["predict", run, "--csv", "x.csv"]));
    assert!(err.contains("was trained on images; give --idx"), "{err}");
    std::fs::write(dir.path().join("small.idx"), idx(&[4, 5, 5], &[0; 100])).unwrap();
    let err = stderr_of_failure(&anneal_in(
        dir.path(),
        &["predict", run, "--idx", "small.idx"],
    ));
    assert!(
        err.contains("small.idx: images have shape [1, 5, 5]; the model was trained on [1, 6, 6]"),
        "{err}"
    );
}
