//! `cargo bench -p anneal-data --bench load`: wall time to load MNIST's training set
//! (read, verify sha256, gunzip, parse IDX, convert to f32), median of several runs.

use std::path::Path;
use std::time::Instant;

use anneal_data::Catalog;
use anneal_data::formats::{idx, maybe_gunzip, read_file, verify_sha256};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets");
    let catalog = Catalog::open(&root).expect("bundled datasets");
    let manifest = catalog.manifest("mnist").expect("mnist is bundled");
    let dir = root.join("mnist");
    let rounds = 7;
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let started = Instant::now();
        let mut parts = Vec::new();
        for file in ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"] {
            let path = dir.join(file);
            let bytes = read_file(&path).unwrap();
            verify_sha256(&path, &bytes, &manifest.file_entry(file).unwrap().sha256).unwrap();
            parts.push((
                path.clone(),
                idx::parse_idx(&path, &maybe_gunzip(&path, bytes).unwrap()).unwrap(),
            ));
        }
        let (labels_path, labels) = parts.pop().unwrap();
        let (images_path, images) = parts.pop().unwrap();
        let (_, pixels, labels) =
            idx::images_and_labels(&images_path, images, &labels_path, labels).unwrap();
        times.push(started.elapsed().as_secs_f64());
        assert_eq!((pixels.len(), labels.len()), (60_000 * 784, 60_000));
    }
    times.sort_by(f64::total_cmp);
    println!(
        "load mnist train (60000×1×28×28 → f32, sha256 verified): median {:.3} s, min {:.3} s, max {:.3} s over {rounds} runs",
        times[rounds / 2],
        times[0],
        times[rounds - 1]
    );
    let started = Instant::now();
    let full = catalog.load("mnist").unwrap();
    println!(
        "Catalog::load(\"mnist\") (train + test, all checks): {:.3} s for {} + {} samples",
        started.elapsed().as_secs_f64(),
        full.train.len(),
        full.test.map_or(0, |t| t.len())
    );
}
