//! Learning curves as an SVG: loss on the left, the task's headline metric on the right.

use std::path::Path;

use plotters::prelude::*;

use crate::error::{Result, TrainError};
use crate::evaluate::TaskMetrics;
use crate::trainer::EpochRecord;

/// Draws `history` into `path`. A run with no finished epoch draws nothing.
pub fn plot_curves(history: &[EpochRecord], title: &str, path: &Path) -> Result<()> {
    if history.is_empty() {
        return Ok(());
    }
    draw(history, title, path).map_err(|e| TrainError::Checkpoint {
        path: path.to_path_buf(),
        message: format!("cannot draw the learning curves: {e}"),
    })
}

type Series = Vec<(f64, f64)>;

fn draw(
    history: &[EpochRecord],
    title: &str,
    path: &Path,
) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let epochs = |f: &dyn Fn(&EpochRecord) -> Option<f64>| -> Series {
        history
            .iter()
            .filter_map(|r| f(r).filter(|v| v.is_finite()).map(|v| (r.epoch as f64, v)))
            .collect()
    };
    let train_loss = epochs(&|r| Some(r.train_loss));
    let val_loss = epochs(&|r| Some(r.validation.loss));
    let classification = matches!(
        history[0].validation.metrics,
        TaskMetrics::Classification(_)
    );
    let (metric_name, train_metric, val_metric) = if classification {
        (
            "accuracy",
            epochs(&|r| r.train_accuracy),
            epochs(&|r| r.validation.accuracy()),
        )
    } else {
        (
            "R²",
            Vec::new(),
            epochs(&|r| match &r.validation.metrics {
                TaskMetrics::Regression(m) => Some(m.r2),
                TaskMetrics::Classification(_) => None,
            }),
        )
    };

    let root = SVGBackend::new(path, (1000, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 20))?;
    let panels = root.split_evenly((1, 2));
    panel(&panels[0], "loss", &train_loss, &val_loss)?;
    panel(&panels[1], metric_name, &train_metric, &val_metric)?;
    root.present()?;
    Ok(())
}

fn panel(
    area: &DrawingArea<SVGBackend, plotters::coord::Shift>,
    name: &str,
    train: &Series,
    validation: &Series,
) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let all: Vec<&(f64, f64)> = train.iter().chain(validation).collect();
    if all.is_empty() {
        return Ok(());
    }
    let max_epoch = all.iter().map(|p| p.0).fold(1.0, f64::max);
    let (lo, hi) = all
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
            (lo.min(p.1), hi.max(p.1))
        });
    let pad = ((hi - lo) * 0.05).max(1e-6);
    let mut chart = ChartBuilder::on(area)
        .caption(name, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(1.0..max_epoch.max(2.0), (lo - pad)..(hi + pad))?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(name)
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    for (series, label, color) in [(train, "train", BLUE), (validation, "validation", RED)] {
        if series.is_empty() {
            continue;
        }
        chart
            .draw_series(LineSeries::new(
                series.iter().copied(),
                color.stroke_width(2),
            ))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}
