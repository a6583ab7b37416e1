//! The bug report's reproduction: a command sweep on a grid whose command fails (or is killed,
//! as the out-of-memory killer does) on one point runs every other point before retrying it
//! once, instead of spending the budget on it.

use std::path::Path;

use anneal_sweep::{Sweep, SweepOutcome, open_study, run_sweep};
use anneal_tune::{Quiet, SqliteStorage, TrialState};

fn run(dir: &Path, failure: &str) -> SweepOutcome {
    let script = format!(
        "import os, sys\nc = int(sys.argv[1])\nif c == 2:\n    {failure}\nprint(f'anneal: value {{c}}')"
    );
    let text = format!(
        "study = \"grid\"\ncommand = [\"python3\", \"-c\", {script:?}, \"{{c}}\"]\n\
         trials = 6\nsampler = {{ kind = \"grid\" }}\nruns_dir = {runs:?}\n\
         [[search]]\nname = \"c\"\nchoices = [1, 2, 3, 4]\n",
        runs = dir.join("runs").display().to_string(),
    );
    let sweep = Sweep::parse(&dir.join("grid.sweep.toml"), &text).unwrap();
    let storage = SqliteStorage::open(dir.join("grid.db")).unwrap();
    let study = open_study(&sweep, storage, None).unwrap();
    run_sweep(&study, &sweep, None, &mut Quiet).unwrap()
}

#[test]
fn a_failing_grid_point_is_retried_once_after_the_others() {
    for failure in ["sys.exit(1)", "os.kill(os.getpid(), 9)"] {
        let dir = tempfile::tempdir().unwrap();
        let outcome = run(dir.path(), failure);
        let ran: Vec<(i64, TrialState)> = outcome
            .trials
            .iter()
            .map(|t| (t.params[0].1.as_i64().unwrap(), t.state))
            .collect();
        use TrialState::{Complete, Failed};
        assert_eq!(
            ran,
            [
                (1, Complete),
                (2, Failed),
                (3, Complete),
                (4, Complete),
                (2, Failed)
            ],
            "{failure}"
        );
        assert!(
            outcome.grid_exhausted,
            "{failure}: 5 trials of a budget of 6"
        );
    }
}
