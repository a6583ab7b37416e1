//! What `anneal datasets` prints: the catalog table and one dataset's summary (text or JSON).

use anneal_data::split::holdout_size;
use anneal_data::{Catalog, LoadedDataset, Manifest, SplitConfig, Task};
use anyhow::Result;
use serde_json::json;

fn train_test_counts(manifest: &Manifest) -> (usize, usize, &'static str) {
    match manifest.samples.test {
        Some(test) => (manifest.samples.train, test, "official"),
        None => {
            let fraction = SplitConfig::default().test;
            let held: usize = if manifest.samples.train_class_counts.is_empty() {
                holdout_size(manifest.samples.train, fraction)
            } else {
                manifest
                    .samples
                    .train_class_counts
                    .iter()
                    .map(|&c| holdout_size(c, fraction))
                    .sum()
            };
            (manifest.samples.train - held, held, "held out")
        }
    }
}

pub(super) fn shape_text(shape: &[usize]) -> String {
    match shape {
        [c, h, w] => format!("{c}×{h}×{w}"),
        [n] => format!("{n} features"),
        other => format!("{other:?}"),
    }
}

pub(super) fn print_table(catalog: &Catalog) {
    outln!(
        "{:<14} {:<15} {:<12} {:>7} {:>8} {:>7} {:>7}  {:<10} licence",
        "dataset",
        "task",
        "shape",
        "classes",
        "samples",
        "train",
        "test",
        "test split"
    );
    for m in catalog.manifests() {
        let (train, test, kind) = train_test_counts(m);
        let classes = if m.task == Task::Classification {
            m.class_names.len().to_string()
        } else {
            "-".into()
        };
        outln!(
            "{:<14} {:<15} {:<12} {:>7} {:>8} {:>7} {:>7}  {:<10} {}",
            m.name,
            m.task.to_string(),
            shape_text(&m.shape),
            classes,
            train + test,
            train,
            test,
            kind,
            m.licence
        );
    }
    outln!(
        "\n{} datasets in {}. Held-out test splits are stratified, {}% by default (split.test).",
        catalog.manifests().len(),
        catalog.root().display(),
        (SplitConfig::default().test * 100.0).round()
    );
}

pub(super) fn summary_json(m: &Manifest) -> serde_json::Value {
    let (train, test, kind) = train_test_counts(m);
    json!({
        "name": m.name,
        "description": m.description,
        "task": m.task,
        "shape": m.shape,
        "classes": m.class_names,
        "samples": m.samples.train + m.samples.test.unwrap_or(0),
        "train": train,
        "test": test,
        "test_split": kind,
        "licence": m.licence,
        "attribution": m.attribution,
    })
}

pub(super) fn show(
    manifest: &Manifest,
    dataset: &LoadedDataset,
    load_seconds: f64,
    as_json: bool,
) -> Result<()> {
    let stats = |name: &str, samples: &anneal_data::Samples| {
        let (min, max) = value_range(samples);
        json!({
            "split": name,
            "samples": samples.len(),
            "class_counts": samples.class_counts(dataset.info.num_classes()),
            "feature_min": min,
            "feature_max": max,
        })
    };
    let mut splits = vec![stats("train", &dataset.train)];
    if let Some(test) = &dataset.test {
        splits.push(stats("test", test));
    }
    let value = json!({
        "dataset": summary_json(manifest),
        "files": manifest.files,
        "splits": splits,
        "load_seconds": load_seconds,
    });
    if as_json {
        outln!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    outln!("{} — {}", manifest.name, manifest.description);
    outln!("task        {}", manifest.task);
    outln!("shape       {}", shape_text(&manifest.shape));
    if !manifest.class_names.is_empty() {
        outln!("classes     {}", manifest.class_names.join(", "));
    }
    outln!("licence     {}", manifest.licence);
    outln!("attribution {}", manifest.attribution);
    let sets = [
        ("train", Some(&dataset.train)),
        ("test", dataset.test.as_ref()),
    ];
    for (name, samples) in sets.into_iter().filter_map(|(n, s)| s.map(|s| (n, s))) {
        let (min, max) = value_range(samples);
        out!("{name:<11} {} samples", samples.len());
        if manifest.task == Task::Classification {
            out!(
                ", class counts {:?}",
                samples.class_counts(dataset.info.num_classes())
            );
        }
        outln!(", feature range [{min}, {max}]");
    }
    for file in &manifest.files {
        outln!(
            "file        {} ({} bytes, sha256 {}) verified",
            file.path,
            file.bytes,
            file.sha256
        );
    }
    outln!("loaded and verified in {load_seconds:.3} s");
    Ok(())
}

fn value_range(samples: &anneal_data::Samples) -> (f32, f32) {
    samples
        .features
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
}
