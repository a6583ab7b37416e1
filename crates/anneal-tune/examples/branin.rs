//! Minimise the Branin function with TPE, keeping the study in a SQLite file: a process that
//! opens the same file and study name resumes it (`cargo run -p anneal-tune --example branin`).

use std::f64::consts::PI;

use anneal_tune::{Direction, SqliteStorage, Study, TpeSampler};

/// The Branin function, whose minimum 0.397887 is at three points of the box.
fn branin(x1: f64, x2: f64) -> f64 {
    let b = 5.1 / (4.0 * PI * PI);
    let c = 5.0 / PI;
    let t = 1.0 / (8.0 * PI);
    (x2 - b * x1 * x1 + c * x1 - 6.0).powi(2) + 10.0 * (1.0 - t) * x1.cos() + 10.0
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::temp_dir().join(format!("anneal-branin-{}.db", std::process::id()));
    let study = Study::builder()
        .name("branin")
        .storage(SqliteStorage::open(&path)?)
        .direction(Direction::Minimize)
        .sampler(TpeSampler::default())
        .seed(1)
        .build()?;
    study.optimize(60, |trial| {
        let x1 = trial.suggest_float("x1", -5.0, 10.0)?;
        let x2 = trial.suggest_float("x2", 0.0, 15.0)?;
        Ok(branin(x1, x2))
    })?;
    let best = study.best_trial()?.ok_or("no trial completed")?;
    let value = best.value.unwrap_or(f64::NAN);
    println!(
        "best of {} trials: {value:.4} (the minimum is 0.3979) at {:?}",
        study.trials()?.len(),
        best.params
    );
    // Close the database before removing it with its write-ahead log.
    drop(study);
    for suffix in ["", "-wal", "-shm"] {
        std::fs::remove_file(format!("{}{suffix}", path.display())).ok();
    }
    if value > 2.0 {
        return Err(format!("TPE should get near the minimum in 60 trials, got {value}").into());
    }
    Ok(())
}

#[cfg(test)]
mod run {
    #[test]
    fn the_example_runs() {
        super::main().unwrap();
    }
}
