//! Sweep files: a study's name and storage, what a trial evaluates (a run config to train or a
//! built-in test function), the search space, sampler, pruner and budget.

use std::path::{Path, PathBuf};

use anneal_train::config::Monitor;
use anneal_tune::{
    Direction, NewStudy, ParamSpec, PrunerConfig, SamplerConfig, SearchSpace, Synthetic,
};
use serde::{Deserialize, Serialize};

use crate::command::CommandSpec;
use crate::error::{Result, SweepError};
use crate::metrics::{Constraint, TrialMetric};

/// A sweep file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepFile {
    /// The study's name in the database; rerunning the sweep resumes it.
    pub study: String,
    /// The study storage: a SQLite file (relative to the working directory) or a PostgreSQL
    /// URL (`postgresql://user@host:port/db`) that workers on many hosts share.
    #[serde(default = "default_storage")]
    pub storage: String,
    /// The run config every trial starts from (relative to the sweep file).
    #[serde(default)]
    pub base: Option<PathBuf>,
    /// A built-in test function instead of training.
    #[serde(default)]
    pub synthetic: Option<Synthetic>,
    /// Any program instead of training: its arguments, with `{name}` placeholders for
    /// parameters (`["python3", "train.py", "--lr={lr}"]`).
    // Fields added after the first studies: left out of a study's stored definition when unset,
    // so studies created before them still reopen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// The command's working directory (relative to the sweep file; default its folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workdir: Option<PathBuf>,
    /// Longest a command trial may run, in seconds (then it is stopped and failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<f64>,
    /// Seconds between SIGTERM and SIGKILL when a command trial is stopped.
    #[serde(default = "default_grace", skip_serializing_if = "is_default_grace")]
    pub grace_seconds: f64,
    /// What a trial's value is: this validation metric at the epoch whose weights the trial
    /// keeps (the config's best epoch when it restores the best weights, else its last).
    #[serde(default)]
    pub metric: Option<Monitor>,
    /// `minimize` (or `min`) or `maximize` (`max`); defaults to the metric's natural
    /// direction, and to `minimize` for other objectives.
    #[serde(default, serialize_with = "direction_as_first_written")]
    pub direction: Option<Direction>,
    /// Several objectives, each `minimize` or `maximize`, in the order a command objective
    /// prints them (`anneal: values A B`); instead of `direction`. The sampler defaults to
    /// NSGA-II.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub directions: Vec<Direction>,
    /// A training sweep's objectives, instead of `metric`: validation metrics and what anneal
    /// measures of the trained model (`parameters`, `model_bytes`, `latency_ms`,
    /// `batch_latency_ms`, `train_seconds`); each improves in its natural direction unless
    /// `directions` says otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<TrialMetric>,
    /// Limits a trial must keep to count (`"parameters <= 200000"`, `"val_accuracy >= 0.9"`):
    /// on a training sweep's metrics, or on what a command prints as `anneal: metric NAME
    /// VALUE`. A trial past one is kept and shown but never best.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<String>,
    /// Total trials of the study (finished ones of earlier runs count).
    #[serde(default = "default_trials")]
    pub trials: usize,
    /// The study seed.
    #[serde(default)]
    pub seed: u64,
    /// How parameters are chosen.
    #[serde(default)]
    pub sampler: SamplerConfig,
    /// Stop unpromising training trials early (`{ kind = "median" }`).
    #[serde(default)]
    pub pruner: PrunerConfig,
    /// Stop, rather than burn the budget, when the study's first this-many trials all fail.
    #[serde(default = "default_max_failures")]
    pub max_failures: usize,
    /// Retry a trial whose worker died (stale, interrupted, killed by a signal) as a new trial
    /// with the same parameters, up to this many times per chain (default 0: never).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retry_failed: usize,
    /// Where trials' run folders go: `<runs_dir>/<study>/trial-<n>`.
    #[serde(default = "default_runs_dir")]
    pub runs_dir: PathBuf,
    /// The search space.
    #[serde(default)]
    pub search: Vec<ParamSpec>,
}

/// A study keeps its sweep's settings to refuse a changed definition; the first sweeps wrote
/// the direction as `min`/`max`, and their studies must still reopen.
fn direction_as_first_written<S: serde::Serializer>(
    direction: &Option<Direction>,
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    match direction {
        None => serializer.serialize_none(),
        Some(Direction::Minimize) => serializer.serialize_some("min"),
        Some(Direction::Maximize) => serializer.serialize_some("max"),
    }
}

fn default_storage() -> String {
    "studies/anneal.db".into()
}
fn default_trials() -> usize {
    20
}
fn default_max_failures() -> usize {
    5
}
fn default_grace() -> f64 {
    5.0
}
fn is_default_grace(seconds: &f64) -> bool {
    *seconds == default_grace()
}
fn is_zero(n: &usize) -> bool {
    *n == 0
}
fn default_runs_dir() -> PathBuf {
    PathBuf::from("runs")
}

/// What a sweep's trials evaluate.
#[derive(Debug, Clone)]
pub enum SweepObjective {
    /// A built-in test function of the parameters.
    Synthetic(Synthetic),
    /// A program run per trial.
    Command(CommandSpec),
    /// Training the base run config with the trial's parameters set.
    Training {
        /// The base config's file (its folder anchors relative paths in it).
        base_path: PathBuf,
        /// The base config's table.
        base: toml::Table,
        /// The trial's objectives, in order (one for a single-objective sweep).
        metrics: Vec<TrialMetric>,
    },
}

/// A parsed, checked sweep file.
#[derive(Debug, Clone)]
pub struct Sweep {
    /// The file's settings.
    pub file: SweepFile,
    /// Where it was read from.
    pub path: PathBuf,
    /// Its search space.
    pub space: SearchSpace,
    /// What trials evaluate.
    pub objective: SweepObjective,
    /// Minimise or maximise (the first objective, with several).
    pub direction: Direction,
    /// Every objective's direction, in order: one for a single-objective sweep.
    pub directions: Vec<Direction>,
    /// The limits a trial must keep to be feasible.
    pub constraints: Vec<Constraint>,
    /// The file's text.
    pub text: String,
}

/// What a command line says instead of a sweep file ([`Sweep::with_overrides`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SweepOverrides {
    /// The total number of trials instead of the file's `trials`.
    pub trials: Option<usize>,
    /// The study storage (a SQLite file or a PostgreSQL URL) instead of the file's `storage`.
    pub storage: Option<String>,
    /// The folder run folders go in instead of the file's `runs_dir` (a shared mount that
    /// workers on many hosts name).
    pub runs_dir: Option<PathBuf>,
}

impl Sweep {
    /// Reads and checks a sweep file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| SweepError::io(path, e))?;
        Self::parse(path, &text)
    }

    /// Checks a sweep file's text (`path` anchors its relative paths).
    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        let mut file: SweepFile = toml::from_str(text).map_err(|e| SweepError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        anneal_tune::check_study_name(&file.study)?;
        if file.trials == 0 {
            return Err(SweepError::config("trials", "must be at least 1"));
        }
        let given = [
            file.base.is_some(),
            file.synthetic.is_some(),
            file.command.is_some(),
        ];
        if given.iter().filter(|&&g| g).count() != 1 {
            return Err(SweepError::config(
                "base",
                "set exactly one of `base` (a run config to tune), `synthetic` (a test function) and `command` (a program to run per trial)",
            ));
        }
        if file.command.is_none() && (file.workdir.is_some() || file.timeout_seconds.is_some()) {
            return Err(SweepError::config(
                "workdir",
                "`workdir` and `timeout_seconds` apply to a `command` objective only",
            ));
        }
        let folder = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if file.base.is_none() && !file.metrics.is_empty() {
            return Err(SweepError::config(
                "metrics",
                "`metrics` name a training sweep's objectives; a command prints its values ('anneal: values A B')",
            ));
        }
        let (objective, natural, specs) = if let Some(f) = &file.synthetic {
            if file.metric.is_some() {
                return Err(SweepError::config(
                    "metric",
                    "a synthetic objective has no metric",
                ));
            }
            let specs = if file.search.is_empty() {
                f.space()
            } else {
                file.search.clone()
            };
            (
                SweepObjective::Synthetic(*f),
                vec![Direction::Minimize],
                specs,
            )
        } else if let Some(argv) = &file.command {
            if file.metric.is_some() {
                return Err(SweepError::config(
                    "metric",
                    "a command's value is what it prints ('anneal: value X'); set `direction` instead of `metric`",
                ));
            }
            if file.search.is_empty() {
                return Err(SweepError::config(
                    "search",
                    "a command sweep needs at least one [[search]] parameter",
                ));
            }
            let seconds = |field: &str, s: f64| {
                if s.is_finite() && s >= 0.0 {
                    Ok(std::time::Duration::from_secs_f64(s))
                } else {
                    Err(SweepError::config(
                        field,
                        format!("{s} is not a number of seconds ≥ 0"),
                    ))
                }
            };
            let spec = CommandSpec {
                argv: argv.clone(),
                workdir: folder.join(file.workdir.clone().unwrap_or_default()),
                timeout: file
                    .timeout_seconds
                    .map(|s| seconds("timeout_seconds", s))
                    .transpose()?,
                grace: seconds("grace_seconds", file.grace_seconds)?,
            };
            (
                SweepObjective::Command(spec),
                vec![Direction::Minimize],
                file.search.clone(),
            )
        } else {
            let base = file.base.as_ref().expect("one objective is set");
            let base_path = folder.join(base);
            let base_text =
                std::fs::read_to_string(&base_path).map_err(|e| SweepError::io(&base_path, e))?;
            let table: toml::Table = toml::from_str(&base_text).map_err(|e| SweepError::Parse {
                path: base_path.clone(),
                message: e.to_string(),
            })?;
            let metrics = match (file.metric, file.metrics.as_slice()) {
                (None, []) => vec![TrialMetric::Validation(Monitor::ValLoss)],
                (Some(metric), []) => vec![TrialMetric::Validation(metric)],
                (None, metrics) => metrics.to_vec(),
                (Some(_), _) => {
                    return Err(SweepError::config(
                        "metrics",
                        "give `metric` for one objective or `metrics` for several, not both",
                    ));
                }
            };
            if file.search.is_empty() {
                return Err(SweepError::config(
                    "search",
                    "a training sweep needs at least one [[search]] parameter",
                ));
            }
            let natural = metrics.iter().map(|m| m.natural_direction()).collect();
            (
                SweepObjective::Training {
                    base_path,
                    base: table,
                    metrics,
                },
                natural,
                file.search.clone(),
            )
        };
        let directions = objective_directions(&file, &objective, natural)?;
        if directions.len() > 1 && !names_key(text, "sampler") {
            // NSGA-II, as Optuna's default for several objectives.
            file.sampler = toml::from_str("kind = \"nsga2\"").expect("a valid sampler table");
        }
        let constraints = parse_constraints(&file.constraints, &objective)?;
        let space = SearchSpace::from_specs(&specs)?;
        // Built once here so a bad sampler or pruner setting fails on load, before any storage
        // is opened or study created.
        file.sampler.init(Some(&space))?;
        file.pruner.init()?;
        match &objective {
            SweepObjective::Command(spec) => spec
                .check(&space)
                .map_err(|message| SweepError::config("command", message))?,
            SweepObjective::Training {
                base_path, base, ..
            } => crate::check::check_keys(base_path, base, &space)?,
            SweepObjective::Synthetic(_) => {}
        }
        Ok(Self {
            path: path.to_path_buf(),
            text: text.to_string(),
            space,
            objective,
            direction: directions[0],
            directions,
            constraints,
            file,
        })
    }

    /// The same sweep with what a command line says instead of the file: the budget, the
    /// storage, the folder the run folders go in. None of them is part of the study's
    /// definition, so an overridden sweep resumes the same study.
    pub fn with_overrides(mut self, overrides: &SweepOverrides) -> Result<Self> {
        if let Some(trials) = overrides.trials {
            if trials == 0 {
                return Err(SweepError::config("trials", "must be at least 1"));
            }
            self.file.trials = trials;
        }
        if let Some(storage) = &overrides.storage {
            self.file.storage = storage.clone();
        }
        if let Some(runs_dir) = &overrides.runs_dir {
            self.file.runs_dir = runs_dir.clone();
        }
        Ok(self)
    }

    /// The folder this sweep's trials keep their run folders in: `<runs_dir>/<study>`.
    pub fn runs_root(&self) -> PathBuf {
        self.file.runs_dir.join(&self.file.study)
    }

    /// Whether trials train models (and need a device and datasets).
    pub fn trains(&self) -> bool {
        matches!(self.objective, SweepObjective::Training { .. })
    }

    /// What trials evaluate, in words: `val_accuracy of configs/x.toml`, `synthetic:branin`.
    pub fn describe_objective(&self) -> String {
        match &self.objective {
            SweepObjective::Synthetic(f) => format!("synthetic:{}", f.name()),
            SweepObjective::Command(spec) => format!("command: {}", spec.argv.join(" ")),
            SweepObjective::Training {
                base_path, metrics, ..
            } => {
                let names: Vec<&str> = metrics.iter().map(|m| m.name()).collect();
                format!("{} of {}", names.join(", "), base_path.display())
            }
        }
    }

    /// What the study seeks, in words: `maximize val_accuracy, minimize latency_ms`,
    /// `minimize branin`, `minimize the value `python3 train.py` prints`.
    pub fn describe_goal(&self) -> String {
        match &self.objective {
            SweepObjective::Synthetic(f) => format!("{} {}", self.direction, f.name()),
            SweepObjective::Training { metrics, .. } => metrics
                .iter()
                .zip(&self.directions)
                .map(|(metric, direction)| format!("{direction} {}", metric.name()))
                .collect::<Vec<_>>()
                .join(", "),
            SweepObjective::Command(spec) if self.directions.len() == 1 => format!(
                "{} the value `{}` prints",
                self.direction,
                spec.argv.join(" ")
            ),
            SweepObjective::Command(spec) => format!(
                "{} the values `{}` prints",
                self.directions
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                spec.argv.join(" ")
            ),
        }
    }

    /// The study as stored: identified by the parsed sweep without its budget and file
    /// locations, so raising `trials` or editing comments resumes the same study.
    pub fn new_study(&self) -> NewStudy {
        let mut file = self.file.clone();
        file.trials = 0;
        file.storage = String::new();
        file.runs_dir = PathBuf::new();
        NewStudy {
            name: self.file.study.clone(),
            direction: self.direction,
            directions: match self.directions.len() {
                1 => Vec::new(),
                _ => self.directions.clone(),
            },
            objective: self.describe_objective(),
            sampler: serde_json::to_string(&self.file.sampler).expect("sampler serialises"),
            definition: serde_json::to_string(&file).expect("sweep files serialise"),
            seed: self.file.seed,
        }
    }
}

/// The objectives' directions: `direction` for one, `directions` for several (a command prints
/// as many values, a training sweep names as many `metrics`), else each objective's natural one.
fn objective_directions(
    file: &SweepFile,
    objective: &SweepObjective,
    natural: Vec<Direction>,
) -> Result<Vec<Direction>> {
    match (file.direction, file.directions.as_slice()) {
        (None, []) => Ok(natural),
        (Some(direction), []) if natural.len() == 1 => Ok(vec![direction]),
        (Some(_), []) => Err(SweepError::config(
            "direction",
            format!(
                "one `direction` for {} metrics; give `directions`, one per metric, or leave it out for each metric's natural direction",
                natural.len()
            ),
        )),
        (Some(_), _) => Err(SweepError::config(
            "directions",
            "give `direction` for one objective or `directions` for several, not both",
        )),
        (None, several) => match objective {
            SweepObjective::Command(_) => Ok(several.to_vec()),
            SweepObjective::Training { metrics, .. } if metrics.len() == several.len() => {
                Ok(several.to_vec())
            }
            SweepObjective::Training { metrics, .. } => Err(SweepError::config(
                "directions",
                format!(
                    "{} directions for {} metrics ({}); give one per metric",
                    several.len(),
                    metrics.len(),
                    metrics
                        .iter()
                        .map(|m| m.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
            SweepObjective::Synthetic(_) if several.len() == 1 => Ok(several.to_vec()),
            SweepObjective::Synthetic(_) => Err(SweepError::config(
                "directions",
                "a synthetic objective gives one value; several objectives need a command that prints 'anneal: values A B …' or a training sweep's `metrics`",
            )),
        },
    }
}

/// The sweep's constraints, read; a training sweep's must name its metrics.
fn parse_constraints(texts: &[String], objective: &SweepObjective) -> Result<Vec<Constraint>> {
    texts
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let field = format!("constraints[{i}]");
            let constraint: Constraint = text
                .parse()
                .map_err(|message: String| SweepError::config(&field, message))?;
            match objective {
                SweepObjective::Training { .. } => {
                    constraint
                        .name
                        .parse::<TrialMetric>()
                        .map_err(|message| SweepError::config(&field, message))?;
                }
                SweepObjective::Synthetic(_) => {
                    return Err(SweepError::config(
                        &field,
                        "a synthetic objective has no metrics to constrain",
                    ));
                }
                SweepObjective::Command(_) => {}
            }
            Ok(constraint)
        })
        .collect()
}

/// Whether the TOML `text` sets the top-level key `key` (a default applies otherwise).
fn names_key(text: &str, key: &str) -> bool {
    text.parse::<toml::Table>()
        .is_ok_and(|table| table.contains_key(key))
}
