//! The learning rate at each epoch boundary is what the per-epoch setting asks for.

use anneal_train::{LrSchedule, ScheduleKind};

const PER_EPOCH: usize = 7;
const EPOCHS: usize = 10;

fn at_epoch(schedule: &LrSchedule, epoch: usize) -> f64 {
    schedule.lr_at(epoch * PER_EPOCH, PER_EPOCH, EPOCHS)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12 * b.abs().max(1.0)
}

#[test]
fn step_decay_changes_only_every_k_epochs() {
    let s = LrSchedule {
        lr: 0.1,
        schedule: ScheduleKind::StepDecay {
            every: 3,
            gamma: 0.5,
        },
        warmup_epochs: 0.0,
    };
    let expected = [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125];
    for (epoch, &lr) in expected.iter().enumerate() {
        assert!(
            close(at_epoch(&s, epoch), lr),
            "epoch {epoch}: {}",
            at_epoch(&s, epoch)
        );
        // Constant within the epoch.
        assert!(close(
            s.lr_at(epoch * PER_EPOCH + PER_EPOCH - 1, PER_EPOCH, EPOCHS),
            lr
        ));
    }
}

#[test]
fn exponential_decays_once_per_epoch() {
    let s = LrSchedule {
        lr: 0.01,
        schedule: ScheduleKind::Exponential { gamma: 0.9 },
        warmup_epochs: 0.0,
    };
    for epoch in 0..EPOCHS {
        assert!(close(at_epoch(&s, epoch), 0.01 * 0.9f64.powi(epoch as i32)));
    }
}

#[test]
fn cosine_matches_the_per_epoch_formula_at_boundaries() {
    let s = LrSchedule {
        lr: 0.1,
        schedule: ScheduleKind::Cosine { min_lr: 0.001 },
        warmup_epochs: 0.0,
    };
    for epoch in 0..=EPOCHS {
        let expected = 0.001
            + (0.1 - 0.001)
                * 0.5
                * (1.0 + (std::f64::consts::PI * epoch as f64 / EPOCHS as f64).cos());
        assert!(close(at_epoch(&s, epoch), expected), "epoch {epoch}");
    }
    // Strictly decreasing inside an epoch, too.
    assert!(s.lr_at(3, PER_EPOCH, EPOCHS) < s.lr_at(2, PER_EPOCH, EPOCHS));
}

#[test]
fn warmup_ramps_linearly_then_hands_over() {
    let s = LrSchedule {
        lr: 0.2,
        schedule: ScheduleKind::Constant,
        warmup_epochs: 2.0,
    };
    let warm = 2 * PER_EPOCH;
    for i in 0..warm {
        assert!(
            close(
                s.lr_at(i, PER_EPOCH, EPOCHS),
                0.2 * (i + 1) as f64 / warm as f64
            ),
            "iteration {i}"
        );
    }
    assert!(close(s.lr_at(warm, PER_EPOCH, EPOCHS), 0.2));
    assert!(close(
        at_epoch(&s, 1),
        0.2 * (PER_EPOCH + 1) as f64 / warm as f64
    ));
}

#[test]
fn schedules_parse_from_toml_and_bad_values_name_the_field() {
    let s: LrSchedule = toml::from_str(
        "lr = 0.05\nwarmup_epochs = 1\n[schedule]\nkind = \"step_decay\"\nevery = 5\ngamma = 0.1",
    )
    .unwrap();
    assert_eq!(
        s.schedule,
        ScheduleKind::StepDecay {
            every: 5,
            gamma: 0.1
        }
    );
    let defaults: LrSchedule = toml::from_str("lr = 0.05").unwrap();
    assert_eq!(defaults.schedule, ScheduleKind::Constant);
    let cases = [
        ("lr = 0.0", "train.lr"),
        ("lr = 0.1\nwarmup_epochs = -1", "train.warmup_epochs"),
        (
            "lr = 0.1\n[schedule]\nkind = \"step_decay\"\nevery = 0\ngamma = 0.5",
            "train.schedule.every",
        ),
        (
            "lr = 0.1\n[schedule]\nkind = \"exponential\"\ngamma = 1.5",
            "train.schedule.gamma",
        ),
        (
            "lr = 0.1\n[schedule]\nkind = \"cosine\"\nmin_lr = 0.2",
            "train.schedule.min_lr",
        ),
    ];
    for (text, field) in cases {
        let error = toml::from_str::<LrSchedule>(text)
            .unwrap()
            .validate()
            .unwrap_err();
        assert_eq!(error.field, field, "{text}");
    }
    let unknown = toml::from_str::<LrSchedule>("lr = 0.1\n[schedule]\nkind = \"cyclic\"")
        .unwrap_err()
        .to_string();
    assert!(
        unknown.contains("cyclic") && unknown.contains("cosine"),
        "{unknown}"
    );
}

#[test]
fn best_tracker_counts_patience_from_the_last_real_improvement() {
    use anneal_train::{BestTracker, EarlyStoppingConfig, Monitor};
    use anneal_tune::Direction;
    let mut tracker = BestTracker::new(&EarlyStoppingConfig {
        monitor: Monitor::ValLoss,
        mode: None,
        patience: Some(2),
        min_delta: 0.01,
        restore_best: true,
    });
    let verdicts: Vec<(bool, bool)> = [1.0, 0.995, 0.9, 0.895, 0.899]
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let verdict = tracker.observe(i + 1, v);
            (verdict.improved, verdict.stop)
        })
        .collect();
    // 0.995 and 0.895 improve by less than min_delta: no improvement; the second miss stops.
    assert_eq!(
        verdicts,
        [
            (true, false),
            (false, false),
            (true, false),
            (false, false),
            (false, true)
        ]
    );
    assert_eq!(tracker.best(), Some((3, 0.9)));

    let mut max = BestTracker::new(&EarlyStoppingConfig {
        monitor: Monitor::ValAccuracy,
        mode: None,
        patience: None,
        min_delta: 0.0,
        restore_best: true,
    });
    assert_eq!(
        Monitor::ValAccuracy.natural_direction(),
        Direction::Maximize
    );
    max.observe(1, 0.5);
    assert!(max.observe(2, 0.7).improved);
    assert!(!max.observe(3, 0.6).improved);
    assert!(!max.observe(4, 0.1).stop, "no patience: never stops");
    assert_eq!(max.best(), Some((2, 0.7)));
}

#[test]
fn warmup_reaches_the_base_rate_and_the_schedule_starts_after_it() {
    let s = LrSchedule {
        lr: 0.1,
        schedule: ScheduleKind::Cosine { min_lr: 0.0 },
        warmup_epochs: 2.0,
    };
    let warm = 2 * PER_EPOCH;
    // The last warm-up iteration is at the base rate, and cosine starts there.
    assert!(close(s.lr_at(warm - 1, PER_EPOCH, EPOCHS), 0.1));
    assert!(close(s.lr_at(warm, PER_EPOCH, EPOCHS), 0.1));
    // Cosine spans the 8 epochs after warm-up: halfway through them it is at half the rate.
    assert!(close(
        s.lr_at(warm + 4 * PER_EPOCH, PER_EPOCH, EPOCHS),
        0.05
    ));
    assert!(s.lr_at(EPOCHS * PER_EPOCH - 1, PER_EPOCH, EPOCHS) < 0.001);

    // Step decay counts its epochs from the end of warm-up.
    let step = LrSchedule {
        lr: 1.0,
        schedule: ScheduleKind::StepDecay {
            every: 2,
            gamma: 0.5,
        },
        warmup_epochs: 1.0,
    };
    let lrs: Vec<f64> = (1..6).map(|e| at_epoch(&step, e)).collect();
    assert_eq!(lrs, [1.0, 1.0, 0.5, 0.5, 0.25]);

    // A warm-up shorter than one iteration still lasts one.
    let tiny = LrSchedule {
        lr: 1.0,
        schedule: ScheduleKind::Constant,
        warmup_epochs: 0.01,
    };
    assert!(close(tiny.lr_at(0, PER_EPOCH, EPOCHS), 1.0));
}
