//! Settling a study kills no state: a paused trial that is never promoted is claimed, recorded
//! pruned, and only then has its files ended. The process is "killed" (a panic that drops the
//! study and its storage handle, so its owner is gone, as a dead process's is) at each write
//! of that sequence, a new process runs the sweep again, and the database and the trial's
//! folder must agree: pruned in the study, stopped in the folder, no saved state left.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Mutex;

use anneal_sweep::{Sweep, TrainingContext, open_study, run_sweep};
use anneal_tune::{
    Cause, Change, Condition, Lease, LeaseState, NewStudy, Quiet, SqliteStorage, StepValue,
    Storage, StudyId, StudyRecord, TrialId, TrialRecord, TrialState,
};

/// Where the settling process dies.
#[derive(Debug, Clone, Copy, PartialEq)]
enum KillPoint {
    /// Once it has claimed the paused trial, before the study records it pruned.
    BeforeTheRecord,
    /// Once the study records it pruned, before its folder is ended.
    AfterTheRecord,
}

/// A SQLite storage that panics at `point` of settling a paused trial.
struct Dying {
    inner: SqliteStorage,
    point: KillPoint,
    /// Paused trials this handle claimed back (the settling claims them before it prunes).
    claimed: Mutex<Vec<usize>>,
}

impl Storage for Dying {
    fn update(
        &self,
        trial: TrialId,
        when: Condition<'_>,
        change: Change<'_>,
    ) -> anneal_tune::Result<bool> {
        let settling = matches!(change, Change::End(end) if end.state == TrialState::Pruned)
            && self.claimed.lock().unwrap().contains(&trial.number);
        if settling && self.point == KillPoint::BeforeTheRecord {
            panic!("killed before the record");
        }
        let changed = self.inner.update(trial, when, change)?;
        if settling && self.point == KillPoint::AfterTheRecord {
            panic!("killed after the record");
        }
        if changed && matches!(change, Change::Resume(_)) {
            self.claimed.lock().unwrap().push(trial.number);
        }
        Ok(changed)
    }
    fn location(&self) -> String {
        self.inner.location()
    }
    fn add_study(&self, new: &NewStudy) -> anneal_tune::Result<()> {
        self.inner.add_study(new)
    }
    fn study(&self, name: &str) -> anneal_tune::Result<Option<StudyRecord>> {
        self.inner.study(name)
    }
    fn studies(&self) -> anneal_tune::Result<Vec<StudyRecord>> {
        self.inner.studies()
    }
    fn delete_study(&self, study: StudyId) -> anneal_tune::Result<()> {
        self.inner.delete_study(study)
    }
    fn claim_new(
        &self,
        study: StudyId,
        budget: Option<usize>,
        lease: Option<Lease<'_>>,
    ) -> anneal_tune::Result<Option<TrialId>> {
        self.inner.claim_new(study, budget, lease)
    }
    fn renew(&self, lease: Lease<'_>) -> anneal_tune::Result<usize> {
        self.inner.renew(lease)
    }
    fn leases(&self, study: StudyId) -> anneal_tune::Result<Vec<LeaseState>> {
        self.inner.leases(study)
    }
    fn trials_except(
        &self,
        study: StudyId,
        known: &[usize],
    ) -> anneal_tune::Result<Vec<TrialRecord>> {
        self.inner.trials_except(study, known)
    }
    fn trial(&self, trial: TrialId) -> anneal_tune::Result<Option<TrialRecord>> {
        self.inner.trial(trial)
    }
    fn values_at(&self, study: StudyId, step: usize) -> anneal_tune::Result<Vec<StepValue>> {
        self.inner.values_at(study, step)
    }
}

/// The paused trial's folder as the study sees it: whether its saved state is whole (every
/// file there, or none of them), what its summary says, and any half-removed leftovers.
fn folder_state(trial: &TrialRecord) -> (bool, Option<anneal_train::RunStatus>, Vec<String>) {
    let folder = Path::new(trial.run_dir.as_deref().unwrap());
    let state = folder.join(anneal_train::resume::RESUME_DIR);
    let saved = anneal_train::resume::read_state(&state).unwrap().is_some();
    let summary = std::fs::read_to_string(folder.join("summary.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<anneal_train::Summary>(&text).ok())
        .map(|s| s.status);
    let leftovers = std::fs::read_dir(folder)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".partial") || n.ends_with(".discarded"))
        .collect();
    (saved, summary, leftovers)
}

#[test]
fn a_kill_at_each_write_of_the_settling_leaves_the_study_and_the_folder_agreeing() {
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let catalog = anneal_data::Catalog::open(&configs.join("../datasets")).unwrap();
    let device = burn::tensor::Device::flex();
    let context = TrainingContext {
        catalog: &catalog,
        device: &device,
        backend: "flex",
    };
    for point in [KillPoint::BeforeTheRecord, KillPoint::AfterTheRecord] {
        let dir = tempfile::tempdir().unwrap();
        // Two iris trials under ASHA (rungs at 1, 3, 9 epochs): one pauses at its first rung
        // and is never promoted, so settling prunes it.
        let text = format!(
            "study = \"s\"\nbase = \"{}\"\nmetric = \"val_loss\"\ntrials = 2\nseed = 2\n\
             runs_dir = \"{}\"\nsampler = {{ kind = \"random\" }}\n\
             pruner = {{ kind = \"asha\", min_resource = 1, reduction_factor = 3 }}\n\
             [[search]]\nname = \"train.lr\"\nfloat = [1e-4, 1e-1]\nlog = true\n\
             [[search]]\nname = \"train.epochs\"\nvalue = 9\n",
            configs.join("iris-mlp.toml").display(),
            dir.path().join("runs").display()
        );
        let sweep = Sweep::parse(&configs.join("s.sweep.toml"), &text).unwrap();
        let db = dir.path().join("s.db");
        let dying = Dying {
            inner: SqliteStorage::open(&db).unwrap(),
            point,
            claimed: Mutex::new(Vec::new()),
        };
        let killed = catch_unwind(AssertUnwindSafe(|| {
            let study = open_study(&sweep, dying, Some(&context)).unwrap();
            run_sweep(&study, &sweep, Some(&context), &mut Quiet)
        }));
        assert!(killed.is_err(), "{point:?}: the settling was not reached");

        // As the kill left it: the study never says pruned while the folder holds a state
        // that cannot continue; the saved state is whole wherever the study may continue it.
        let storage = SqliteStorage::open(&db).unwrap();
        let id = storage.study("s").unwrap().unwrap().id;
        let trials = storage.trials(id).unwrap();
        let paused = trials
            .iter()
            .find(|t| t.cause == Some(Cause::Paused { step: 1 }) || t.state != TrialState::Complete)
            .expect("the trial the settling took");
        let (saved, _, _) = folder_state(paused);
        match point {
            KillPoint::BeforeTheRecord => {
                assert_eq!(paused.state, TrialState::Running, "{paused:?}");
                assert!(
                    saved,
                    "{point:?}: its state is still there to continue from"
                );
            }
            KillPoint::AfterTheRecord => {
                assert_eq!(paused.state, TrialState::Pruned, "{paused:?}");
                assert!(saved, "{point:?}: its folder was not touched yet");
            }
        }
        drop(storage);

        // A new process runs the sweep again: it settles, and repairs what was cut short.
        let study = open_study(&sweep, SqliteStorage::open(&db).unwrap(), Some(&context)).unwrap();
        let outcome = run_sweep(&study, &sweep, Some(&context), &mut Quiet).unwrap();
        let trials = &outcome.trials;
        assert_eq!(trials.len(), 2, "{point:?}: no trial lost or added");
        let pruned = &trials[paused.number];
        assert_eq!(
            (pruned.state, pruned.cause),
            (TrialState::Pruned, Some(Cause::Pruned { step: Some(1) })),
            "{point:?}"
        );
        assert_eq!(
            folder_state(pruned),
            (
                false,
                Some(anneal_train::RunStatus::Stopped { epoch: 1 }),
                Vec::new()
            ),
            "{point:?}: the folder ends as the study says"
        );
        let complete = trials.iter().find(|t| t.number != paused.number).unwrap();
        assert_eq!(complete.state, TrialState::Complete, "{point:?}");
    }
}
