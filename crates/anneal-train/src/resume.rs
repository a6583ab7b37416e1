//! A paused run's state on disk, so training can continue from where it stopped instead of
//! starting over: the tuner pauses trials at successive-halving rungs and promotes some later.
//!
//! The folder holds the training-mode weights, the optimizer state (Adam's moments and step
//! count, momentum buffers), the best epoch's weights when early stopping restores them, and
//! `state.json` with the epoch counters, history and early-stopping tracker. It is written
//! beside the old one and swapped in by renames, so a kill mid-save leaves a complete state.

use std::path::{Path, PathBuf};

use anneal_model::Model;
use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use serde::{Deserialize, Serialize};

use crate::early_stopping::BestTracker;
use crate::error::{Result, TrainError};
use crate::trainer::EpochRecord;

/// The folder, inside a run folder, where a paused run keeps its state.
pub const RESUME_DIR: &str = "resume";
const MODEL_FILE: &str = "model.bpk";
const OPTIMIZER_FILE: &str = "optimizer.bpk";
const BEST_FILE: &str = "best.bpk";
pub(crate) const STATE_FILE: &str = "state.json";

/// Everything of a paused run but its tensors.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PausedState {
    /// The last epoch trained (1-based); training continues at the next.
    pub epoch: usize,
    /// The figures of every epoch trained so far.
    pub history: Vec<EpochRecord>,
    /// The early-stopping tracker as it stood.
    pub tracker: BestTracker,
    /// Seconds spent in training passes so far (validation excluded).
    pub train_seconds: f64,
    /// The learning rate of the last optimizer step taken (reported if the next one diverges).
    pub last_applied_lr: Option<f64>,
    /// Whether the best epoch's weights were saved with the state.
    pub has_best_model: bool,
    /// The run's first batch loss, the reference its divergence rule compares against.
    #[serde(default)]
    pub first_loss: Option<f64>,
}

/// A paused run's tensors and counters, as the trainer continues from them.
pub struct Paused {
    /// The counters, history and early-stopping tracker.
    pub state: PausedState,
    /// The training-mode weights.
    pub model: Model,
    /// `None` when the load was asked not to restore it.
    pub optimizer: Option<ModuleOptimizer>,
    /// The best epoch's weights (evaluation mode), when they were saved.
    pub best_model: Option<Model>,
}

fn checkpoint_error(path: &Path, what: &str, e: impl std::fmt::Display) -> TrainError {
    TrainError::Checkpoint {
        path: path.to_path_buf(),
        message: format!("cannot {what}: {e}"),
    }
}

/// Writes the state into `dir` (replacing what was there).
pub fn save(
    dir: &Path,
    state: &PausedState,
    model: &Model,
    optimizer: &ModuleOptimizer,
    best_model: Option<&Model>,
) -> Result<()> {
    let partial = dir.with_extension("partial");
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(|e| TrainError::io(&partial, e))?;
    }
    std::fs::create_dir_all(&partial).map_err(|e| TrainError::io(&partial, e))?;
    let file = |name: &str| partial.join(name);
    model
        .clone()
        .save_file(file(MODEL_FILE))
        .map_err(|e| checkpoint_error(&file(MODEL_FILE), "save the model", e))?;
    optimizer
        .save(file(OPTIMIZER_FILE))
        .map_err(|e| checkpoint_error(&file(OPTIMIZER_FILE), "save the optimizer state", e))?;
    if let Some(best) = best_model {
        best.clone()
            .save_file(file(BEST_FILE))
            .map_err(|e| checkpoint_error(&file(BEST_FILE), "save the best model", e))?;
    }
    let text = serde_json::to_string(state).expect("paused states serialise");
    std::fs::write(file(STATE_FILE), text).map_err(|e| TrainError::io(&file(STATE_FILE), e))?;
    // Swap in the new state so that at every instant one complete state exists: `dir`, or
    // (between the two renames) the previous one at `dir.old`, which `current` falls back to.
    let previous = dir.with_extension("old");
    if previous.exists() {
        std::fs::remove_dir_all(&previous).map_err(|e| TrainError::io(&previous, e))?;
    }
    if dir.exists() {
        std::fs::rename(dir, &previous).map_err(|e| TrainError::io(dir, e))?;
    }
    std::fs::rename(&partial, dir).map_err(|e| TrainError::io(dir, e))?;
    discard(&previous)
}

/// Where the complete paused state is: `dir`, or its predecessor when a save was killed
/// between its two renames.
fn current(dir: &Path) -> Option<PathBuf> {
    [dir.to_path_buf(), dir.with_extension("old")]
        .into_iter()
        .find(|candidate| candidate.join(STATE_FILE).is_file())
}

/// The counters of the paused run in `dir`, or `None` when there is none.
pub fn read_state(dir: &Path) -> Result<Option<PausedState>> {
    let Some(dir) = current(dir) else {
        return Ok(None);
    };
    let path = dir.join(STATE_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| TrainError::io(&path, e))?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| checkpoint_error(&path, "read the paused state", e))
}

/// Reads a whole checkpoint file into memory. Burn's file loads read tensors lazily, by path, on
/// first use: a state folder swapped or deleted before then would hand over another file's
/// tensors or fail on a background thread.
fn read_whole(path: &Path) -> Result<Bytes> {
    std::fs::read(path)
        .map(Bytes::from_bytes_vec)
        .map_err(|e| TrainError::io(path, e))
}

/// Loads the paused run in `dir` into freshly built skeletons: `model` on the training device,
/// `best_model` (evaluation mode) on the plain device, `optimizer` (when given, i.e. when
/// training goes on) as the config builds it.
pub fn load(
    dir: &Path,
    model: Model,
    optimizer: Option<ModuleOptimizer>,
    best_model: Model,
) -> Result<Paused> {
    let state = read_state(dir)?.ok_or_else(|| {
        checkpoint_error(
            &dir.join(STATE_FILE),
            "resume",
            "the paused state is missing",
        )
    })?;
    let dir = &current(dir).expect("read_state found it");
    let file = |name: &str| -> PathBuf { dir.join(name) };
    let load_model = |model: Model, name: &str, what: &str| -> Result<Model> {
        let path = file(name);
        ModuleRecord::from_bytes(read_whole(&path)?)
            .and_then(|record| model.try_load_record(record))
            .map_err(|e| checkpoint_error(&path, what, e))
    };
    let model = load_model(model, MODEL_FILE, "load the model")?;
    let optimizer = match optimizer {
        Some(optimizer) => {
            let path = file(OPTIMIZER_FILE);
            Some(
                optimizer
                    .from_bytes(read_whole(&path)?)
                    .map_err(|e| checkpoint_error(&path, "load the optimizer state", e))?,
            )
        }
        None => None,
    };
    let best_model = if state.has_best_model {
        Some(load_model(best_model, BEST_FILE, "load the best model")?)
    } else {
        None
    };
    Ok(Paused {
        state,
        model,
        optimizer,
        best_model,
    })
}

/// Burn restores an optimizer state on its default device rather than a given one (the state
/// stays there until its first step moves it beside its parameter), and with wgpu compiled in
/// that default is the GPU: a CPU run continuing from a pause would start a GPU driver (or
/// Mesa's software one), or fail where neither exists. This pins Burn's default device to the
/// run's CPU backend, once per process, unless the user set `BURN_DEVICE`. Continuing a paused
/// run calls it; programs that choose their device once at start may call it then.
pub fn pin_default_device(backend: &str) {
    static PINNED: std::sync::Once = std::sync::Once::new();
    if !matches!(backend, "flex" | "ndarray") {
        return;
    }
    PINNED.call_once(|| {
        if std::env::var_os("BURN_DEVICE").is_none() {
            // SAFETY: setting a variable races only with another thread reading the
            // environment at the same moment. Burn reads BURN_DEVICE only when it builds a
            // default device, which a CPU run does on the thread that restores its state (this
            // one); the other threads of a CPU run (rayon's workers) do not read it.
            unsafe { std::env::set_var("BURN_DEVICE", backend) };
        }
    });
}

/// Removes a paused state that is no longer needed (the run finished).
pub fn discard(dir: &Path) -> Result<()> {
    for path in [
        dir.to_path_buf(),
        dir.with_extension("old"),
        dir.with_extension("partial"),
    ] {
        if path.exists() {
            // Renamed first, in one step, then removed: a kill part-way through removing never
            // leaves a state folder with some of its files gone (say the model without the
            // optimizer), which would read as a paused run that cannot continue.
            let doomed = path.with_extension("discarded");
            if doomed.exists() {
                std::fs::remove_dir_all(&doomed).map_err(|e| TrainError::io(&doomed, e))?;
            }
            std::fs::rename(&path, &doomed).map_err(|e| TrainError::io(&path, e))?;
            std::fs::remove_dir_all(&doomed).map_err(|e| TrainError::io(&doomed, e))?;
        }
    }
    Ok(())
}
