//! Minimise the Branin function with TPE, keeping the study in a SQLite file: a process that
//! opens the same file and study name resumes it (`cargo run -p anneal-tune --example branin`).

use anneal_tune::{Direction, SqliteStorage, Study, TpeSampler, branin};

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
