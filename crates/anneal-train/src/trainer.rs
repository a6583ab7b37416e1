//! The training loop: one pass over shuffled, augmented batches per epoch, then validation,
//! with every epoch reported to an [`Observer`] that may also stop the run (the tuner prunes
//! trials this way).

use std::path::Path;
use std::time::Instant;

use anneal_data::{BatchTargets, Loader, Targets};
use anneal_model::{DataShape, Model, predict_classes};
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::clip::clip_global_norm;
use crate::config::{GradClip, RunConfig};
use crate::early_stopping::BestTracker;
use crate::error::Result;
use crate::evaluate::{Evaluation, evaluate};
use crate::optimizer::build_optimizer;
use crate::prepare::PreparedData;
use crate::resume::{self, PausedState};

/// One epoch's figures: a row of `metrics.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based.
    pub epoch: usize,
    /// Learning rate at the start of the epoch (the epoch-boundary value a per-epoch schedule
    /// names; within the epoch it may move, e.g. cosine or warm-up).
    pub lr: f64,
    /// Mean data loss over the epoch's batches (without L1/L2 penalties; training mode, so with
    /// dropout and augmentation).
    pub train_loss: f64,
    /// Accuracy of the training forward passes (classification only).
    pub train_accuracy: Option<f64>,
    /// The validation set's loss and metrics after the epoch.
    pub validation: Evaluation,
    /// Wall time of the training pass (not validation).
    pub seconds: f64,
    /// Training samples per second during the training pass.
    pub samples_per_sec: f64,
}

/// Whether an observer lets the run go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Go on to the next epoch.
    Continue,
    /// End the run after this epoch.
    Stop,
    /// Stop, keeping what is needed to continue later from this epoch (the tuner's
    /// successive-halving rungs). Only runs given a state folder can pause; others stop.
    Pause,
}

/// Receives progress as training goes; the defaults ignore everything.
pub trait Observer {
    /// Called as an epoch begins: its number (1-based), the run's total epochs and the epoch's
    /// batch count.
    fn epoch_started(&mut self, _epoch: usize, _epochs: usize, _batches: usize) {}
    /// Called after each training batch with its 1-based index, its data loss and the epoch's
    /// training samples per second so far.
    fn batch_finished(&mut self, _batch: usize, _loss: f64, _samples_per_sec: f64) {}
    /// Called after validation. `new_best` is the evaluation-mode model when this epoch is the
    /// best so far (a recorder checkpoints it). Returning `Control::Stop` ends the run.
    fn epoch_finished(
        &mut self,
        _record: &EpochRecord,
        _new_best: Option<&Model>,
    ) -> Result<Control> {
        Ok(Control::Continue)
    }
    /// Called when a paused run is about to continue after `epoch`. Returning `Control::Stop`
    /// ends it there without training further, as if stopped after that epoch (the tuner does
    /// this to paused trials it prunes, so they end like any other pruned run).
    fn resuming(&mut self, _epoch: usize) -> Control {
        Control::Continue
    }
}

/// The observer that watches nothing is the tuner's [`anneal_tune::Quiet`], for studies and runs
/// alike.
impl Observer for anneal_tune::Quiet {}

/// How a run ended (or paused), as `summary.json` records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RunStatus {
    /// Every epoch ran.
    Completed,
    /// Early stopping ended the run after `epoch`.
    EarlyStopped {
        /// The last epoch trained (1-based).
        epoch: usize,
    },
    /// An observer stopped the run after `epoch` (a pruned trial, an interrupt).
    Stopped {
        /// The last epoch trained (1-based).
        epoch: usize,
    },
    /// An observer paused the run after `epoch`; its state folder lets it continue.
    Paused {
        /// The last epoch trained (1-based).
        epoch: usize,
    },
    /// Something outside training failed after the run folder was created (disk full, a
    /// checkpoint that could not be written); the run's results up to then are kept.
    Failed {
        /// The error, in words.
        error: String,
    },
    /// The loss became NaN or infinite, or grew past [`DIVERGENCE_FACTOR`] times the first
    /// batch's.
    Diverged {
        /// The epoch it diverged in (1-based).
        epoch: usize,
        /// The batch it diverged at (1-based, within the epoch).
        batch: usize,
        /// The learning rate of the last update before the divergence (the batch's own if there was
        /// none).
        lr: f64,
        /// The batch's loss: NaN or ±inf (JSON has no such numbers, so they are written as
        /// strings), or a finite loss past the divergence bound.
        #[serde(with = "non_finite")]
        loss: f64,
    },
}

/// Serialises any f64, writing NaN and infinities as the strings "NaN", "inf" and "-inf".
mod non_finite {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        if value.is_finite() {
            serializer.serialize_f64(*value)
        } else {
            serializer.serialize_str(&value.to_string())
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Number(f64),
            Text(String),
        }
        match Either::deserialize(deserializer)? {
            Either::Number(v) => Ok(v),
            Either::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

impl RunStatus {
    /// The run finished training (a paused run has not).
    pub fn is_success(&self) -> bool {
        !matches!(
            self,
            RunStatus::Diverged { .. } | RunStatus::Failed { .. } | RunStatus::Paused { .. }
        )
    }

    /// The status's name as `summary.json` writes it.
    pub fn name(&self) -> &'static str {
        match self {
            RunStatus::Completed => "completed",
            RunStatus::EarlyStopped { .. } => "early_stopped",
            RunStatus::Stopped { .. } => "stopped",
            RunStatus::Paused { .. } => "paused",
            RunStatus::Failed { .. } => "failed",
            RunStatus::Diverged { .. } => "diverged",
        }
    }

    /// The status in words for people, e.g. "early stopped after epoch 12".
    pub fn describe(&self) -> String {
        match self {
            RunStatus::Completed => "completed".into(),
            RunStatus::EarlyStopped { epoch } => format!("early stopped after epoch {epoch}"),
            RunStatus::Stopped { epoch } => format!("stopped after epoch {epoch}"),
            RunStatus::Paused { epoch } => format!("paused after epoch {epoch}"),
            RunStatus::Failed { error } => format!("failed: {error}"),
            RunStatus::Diverged {
                epoch,
                batch,
                lr,
                loss,
            } => format!(
                "diverged: the training loss became {loss} at epoch {epoch}, batch {batch} (learning rate {lr:.3e}); lower the learning rate or clip gradients"
            ),
        }
    }
}

/// What training returns: how it ended, its history, the best epoch and the final model.
pub struct TrainOutcome {
    /// How training ended.
    pub status: RunStatus,
    /// Every epoch trained, in order (a continued run's earlier ones included).
    pub history: Vec<EpochRecord>,
    /// `(epoch, monitored value)` of the best epoch.
    pub best: Option<(usize, f64)>,
    /// The final model in evaluation mode: the best epoch's weights when `restore_best` is on.
    pub model: Model,
    /// The model's number of trainable values.
    pub parameter_count: usize,
    /// Seconds spent in training passes over all epochs (validation excluded).
    pub train_seconds: f64,
    /// Training samples per second over all epochs (training passes only).
    pub samples_per_sec: f64,
}

static RNG_OWNER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Exclusive use of Burn's process-wide random generator (see `train`); anything that
/// initialises a model draws from it and takes this first.
pub(crate) fn rng_owner() -> std::sync::MutexGuard<'static, ()> {
    RNG_OWNER
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// How many times the run's first batch loss a batch loss may reach before the run counts as
/// diverged: a loss that grows this much is an optimiser blowing up (a learning rate far too
/// large), not learning, whatever its absolute size.
pub const DIVERGENCE_FACTOR: f64 = 1e4;

/// Whether a batch loss has exploded relative to the run's first one (the floor keeps a near-zero
/// first loss from making every later wobble an explosion).
fn exploded(loss: f64, first: f64) -> bool {
    loss > DIVERGENCE_FACTOR * first.abs().max(1.0)
}

/// One training step's figures, read from the device in one transfer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepReading {
    /// The minimised loss (data loss plus penalties).
    pub loss: f64,
    /// The data loss alone.
    pub data_loss: f64,
    /// Correct predictions in the batch (0 for regression).
    pub correct: u64,
}

/// One training step, as every epoch takes it: forward, loss with the config's L1/L2
/// penalties, one host read, backward, gradient clipping, the optimizer's update at `lr`. A
/// non-finite loss returns the model unchanged (no update), for the caller to stop on.
pub fn train_step(
    model: Model,
    optimizer: &mut burn::optim::ModuleOptimizer,
    batch: &anneal_data::Batch,
    loss_config: &anneal_model::LossConfig,
    t: &crate::config::TrainConfig,
    lr: f64,
) -> (Model, StepReading) {
    let logits = model.forward(batch.inputs.clone());
    let data_loss = loss_config.compute(logits.clone(), &batch.targets);
    let loss = match penalty(&model, t.l1, t.l2) {
        Some(p) => data_loss.clone() + p,
        None => data_loss.clone(),
    };
    // One host read per batch: total loss, data loss and correct predictions together.
    let hits = match &batch.targets {
        BatchTargets::Classes(targets) => predict_classes(logits.detach())
            .equal(targets.clone())
            .int()
            .sum()
            .float(),
        BatchTargets::Values(_) => Tensor::zeros([1], &logits.device()),
    };
    let read = Tensor::cat(vec![loss.clone().detach(), data_loss.detach(), hits], 0)
        .into_data()
        .convert::<f64>()
        .try_into_vec::<f64>()
        .expect("three floats");
    let reading = StepReading {
        loss: read[0],
        data_loss: read[1],
        correct: read[2] as u64,
    };
    if !reading.loss.is_finite() {
        return (model, reading);
    }
    let mut grads = GradientsParams::from_grads(loss.backward(), &model);
    if let Some(GradClip::Norm(max_norm)) = t.grad_clip {
        grads = clip_global_norm(&model, grads, max_norm);
    }
    (optimizer.step(lr, model, grads), reading)
}

/// Trains the model a config describes on prepared data. `device` is the plain device
/// (validation runs there); training uses its autodiff wrapper.
pub fn train(
    config: &RunConfig,
    data: &PreparedData,
    device: &Device,
    observer: &mut dyn Observer,
) -> Result<TrainOutcome> {
    train_resumable(config, data, device, observer, None)
}

/// [`train`] that can pause and continue: with `state_dir`, a run paused by its observer
/// ([`Control::Pause`]) saves its state there (see [`crate::resume`]), and a run started with
/// a state there continues from it: same weights, optimizer state, early-stopping tracker and
/// history, at the next epoch. Without `state_dir`, a pause is a stop.
pub fn train_resumable(
    config: &RunConfig,
    data: &PreparedData,
    device: &Device,
    observer: &mut dyn Observer,
    state_dir: Option<&Path>,
) -> Result<TrainOutcome> {
    let t = &config.train;
    // Burn's backends keep one random generator per process, seeded by `device.seed`; weight
    // initialisation and dropout draw from it. Two runs sharing it at once would interleave
    // their draws and neither would be reproducible, so one run trains at a time per process
    // (parallel trials use separate processes).
    let _rng_guard = RNG_OWNER
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    device.seed(t.seed);
    let train_device = device.clone().autodiff();
    let shape = DataShape {
        input: data.info.shape.clone(),
        outputs: data.num_outputs(),
    };
    let mut model = config.model.init(&train_device, &shape)?;
    let parameter_count = model.parameter_count();
    let mut optimizer = build_optimizer(t);
    let schedule = t.lr_schedule();
    let loader = Loader::shuffled(&data.train, t.batch_size, t.seed, data.augmenter.clone());
    let per_epoch = loader.num_batches();
    let mut tracker = BestTracker::new(&t.early_stopping);
    let monitor = t.early_stopping.monitor;
    let mut best_model: Option<Model> = None;
    let mut history = Vec::new();
    let mut train_seconds = 0.0;
    let mut status = RunStatus::Completed;
    let mut last_applied_lr: Option<f64> = None;
    let mut first_loss: Option<f64> = None;
    let mut first_epoch = 1;
    let paused_epoch = match state_dir {
        Some(dir) => resume::read_state(dir)?.map(|state| state.epoch),
        None => None,
    };
    if let (Some(paused_epoch), Some(dir)) = (paused_epoch, state_dir) {
        let skeleton = config.model.init(device, &shape)?;
        let stop = observer.resuming(paused_epoch) == Control::Stop;
        // A run ended where it paused never steps again: its optimizer state stays on disk.
        let paused = resume::load(dir, model, (!stop).then_some(optimizer), skeleton)?;
        model = paused.model;
        optimizer = match paused.optimizer {
            Some(restored) => restored,
            None => build_optimizer(t),
        };
        best_model = paused.best_model;
        tracker = paused.state.tracker;
        history = paused.state.history;
        train_seconds = paused.state.train_seconds;
        last_applied_lr = paused.state.last_applied_lr;
        first_loss = paused.state.first_loss;
        first_epoch = paused_epoch + 1;
        // Dropout draws continue from a generator seeded for this epoch: the weights,
        // optimizer and data order are exactly those of an unpaused run, dropout masks not.
        device.seed(t.seed.wrapping_add(paused_epoch as u64));
        if stop {
            status = RunStatus::Stopped {
                epoch: paused_epoch,
            };
            first_epoch = t.epochs + 1; // nothing more to train
        }
    }

    'epochs: for epoch in first_epoch..=t.epochs {
        observer.epoch_started(epoch, t.epochs, per_epoch);
        let started = Instant::now();
        let (mut loss_sum, mut correct, mut seen) = (0.0f64, 0u64, 0usize);
        let epoch_lr = schedule.lr_at((epoch - 1) * per_epoch, per_epoch, t.epochs);
        for (index, host) in loader.epoch(epoch as u64 - 1).enumerate() {
            let lr = schedule.lr_at((epoch - 1) * per_epoch + index, per_epoch, t.epochs);
            let batch = host.to_device(&train_device);
            let (next, reading) = train_step(model, &mut optimizer, &batch, data.loss(), t, lr);
            model = next;
            let StepReading {
                loss: value,
                data_loss: data_value,
                correct: hits,
            } = reading;
            let reference = *first_loss.get_or_insert(value);
            if !value.is_finite() || exploded(value, reference) {
                status = RunStatus::Diverged {
                    epoch,
                    batch: index + 1,
                    // The weights that produced this loss came from the previous step.
                    lr: last_applied_lr.unwrap_or(lr),
                    loss: value,
                };
                break 'epochs;
            }
            correct += hits;
            last_applied_lr = Some(lr);
            loss_sum += data_value * host.len() as f64;
            seen += host.len();
            let elapsed = started.elapsed().as_secs_f64();
            observer.batch_finished(index + 1, data_value, seen as f64 / elapsed.max(1e-9));
        }
        let seconds = started.elapsed().as_secs_f64();
        train_seconds += seconds;

        let eval_model = model.valid();
        let validation = evaluate(
            &eval_model,
            &data.validation,
            &data.scoring(),
            t.batch_size.max(256),
            device,
        );
        let value = validation
            .monitored(monitor)
            .expect("the monitor was checked against the task");
        let verdict = tracker.observe(epoch, value);
        let record = EpochRecord {
            epoch,
            lr: epoch_lr,
            train_loss: loss_sum / seen.max(1) as f64,
            train_accuracy: matches!(data.train.targets, Targets::Classes(_))
                .then(|| correct as f64 / seen.max(1) as f64),
            validation,
            seconds,
            samples_per_sec: seen as f64 / seconds.max(1e-9),
        };
        let control = observer.epoch_finished(&record, verdict.improved.then_some(&eval_model))?;
        history.push(record);
        if verdict.improved {
            best_model = Some(eval_model);
        }
        // An observer's stop comes first, then early stopping; a pause only when the run would
        // otherwise go on (after the last epoch there is nothing to pause).
        match (control, state_dir) {
            (Control::Stop, _) => {
                status = RunStatus::Stopped { epoch };
                break;
            }
            _ if verdict.stop && epoch < t.epochs => {
                status = RunStatus::EarlyStopped { epoch };
                break;
            }
            (Control::Continue, _) => {}
            (Control::Pause, _) if epoch == t.epochs => {}
            (Control::Pause, Some(dir)) => {
                let state = PausedState {
                    epoch,
                    history: history.clone(),
                    tracker: tracker.clone(),
                    train_seconds,
                    last_applied_lr,
                    has_best_model: best_model.is_some(),
                    first_loss,
                };
                resume::save(dir, &state, &model, &optimizer, best_model.as_ref())?;
                status = RunStatus::Paused { epoch };
                break;
            }
            (Control::Pause, None) => {
                status = RunStatus::Stopped { epoch };
                break;
            }
        }
    }

    let last = model.valid();
    let model = match best_model {
        Some(best) if t.early_stopping.restore_best => best,
        _ => last,
    };
    let trained: usize = history.len() * data.train.len();
    Ok(TrainOutcome {
        status,
        best: tracker.best(),
        history,
        model,
        parameter_count,
        train_seconds,
        samples_per_sec: trained as f64 / train_seconds.max(1e-9),
    })
}

/// `l1 · Σ|w| + l2 · Σw²` over weight matrices and kernels (parameters of rank ≥ 2), or `None`
/// when both are zero.
fn penalty(model: &Model, l1: f64, l2: f64) -> Option<Tensor<1>> {
    if l1 == 0.0 && l2 == 0.0 {
        return None;
    }
    let mut visitor = PenaltyVisitor {
        l1,
        l2,
        total: None,
    };
    model.visit(&mut visitor);
    visitor.total
}

struct PenaltyVisitor {
    l1: f64,
    l2: f64,
    total: Option<Tensor<1>>,
}

impl ModuleVisitor for PenaltyVisitor {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if D < 2 {
            return;
        }
        let weights = param.val();
        let mut term = None::<Tensor<1>>;
        if self.l1 > 0.0 {
            term = Some(weights.clone().abs().sum() * self.l1);
        }
        if self.l2 > 0.0 {
            let l2 = weights.square().sum() * self.l2;
            term = Some(match term {
                Some(t) => t + l2,
                None => l2,
            });
        }
        if let Some(term) = term {
            self.total = Some(match self.total.take() {
                Some(total) => total + term,
                None => term,
            });
        }
    }
}
