//! A run report reads its folder through the training crate's types: the summary's task and
//! test figures, and the metrics rows by column.

use anneal_report::RunReport;
use anneal_train::{Evaluation, RegressionMetrics, RunStatus, Summary, TaskMetrics};

fn regression_summary(task_recorded: bool) -> Summary {
    Summary {
        name: "houses".into(),
        status: RunStatus::EarlyStopped { epoch: 2 },
        message: "early stopped after epoch 2".into(),
        dataset: "california".into(),
        task: task_recorded.then_some(anneal_data::Task::Regression),
        class_names: Vec::new(),
        backend: "ndarray".into(),
        epochs_run: 2,
        best_epoch: Some(2),
        monitor: "val_loss (min)".into(),
        best_value: Some(0.3),
        restored_best: true,
        wall_seconds: 1.0,
        train_seconds: 0.5,
        train_samples_per_sec: 100.0,
        parameter_count: 321,
        train_samples: 70,
        validation_samples: 15,
        test_samples: 15,
        official_test: false,
        validation: None,
        test: Some(Evaluation {
            loss: 0.4,
            metrics: TaskMetrics::Regression(RegressionMetrics {
                mse: 0.5,
                mae: 0.6,
                r2: 0.7,
            }),
        }),
        inference: None,
    }
}

#[test]
fn a_regression_run_reads_as_regression_with_its_own_figures() {
    for task_recorded in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.toml"), "").unwrap();
        let summary = serde_json::to_string(&regression_summary(task_recorded)).unwrap();
        std::fs::write(dir.path().join("summary.json"), summary).unwrap();
        std::fs::write(
            dir.path().join("metrics.csv"),
            "epoch,lr,train_loss,val_loss,val_mse,val_mae,val_r2,seconds,samples_per_sec\n\
             1,0.01,1.5,1.25,0.9,0.8,0.1,0.2,100.0\n\
             2,0.01,0.75,0.5,0.4,0.5,0.6,0.2,100.0\n",
        )
        .unwrap();
        let report = RunReport::from_folder(dir.path()).unwrap();
        assert_eq!(report.run.task, "regression", "recorded: {task_recorded}");
        assert_eq!(report.run.status, "early_stopped");
        assert_eq!(report.run.model, "321 parameters, ndarray backend");
        assert_eq!(report.classes, None);
        assert_eq!(report.metric.as_deref(), Some("mse"));
        let last = report.epochs.last().unwrap();
        assert_eq!(
            (last.epoch, last.val_metric, last.val_loss),
            (2, Some(0.4), Some(0.5))
        );
        let figures: Vec<(&str, f64)> = report
            .run
            .test
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_f64().unwrap()))
            .collect();
        assert_eq!(
            figures,
            [("loss", 0.4), ("mae", 0.6), ("mse", 0.5), ("r2", 0.7)],
            "sorted by name, as the page shows them"
        );
    }
}

#[test]
fn a_folder_without_a_summary_is_not_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let err = RunReport::from_folder(dir.path()).unwrap_err().to_string();
    assert!(err.contains("not a run folder"), "{err}");
}
