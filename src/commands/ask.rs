//! `anneal ask` and `anneal tell`: a study driven from any program, one trial at a time, as
//! Optuna's command line does. `ask` prints a trial's number and parameters as JSON; `tell`
//! records how it ended.

use anneal_tune::{
    Direction, ParamSpec, RandomSampler, SamplerConfig, SearchSpace, StorageOptions, Study,
    TrialResult, nest_layers, open_storage,
};
use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};

use crate::commands::study::{Access, open_database};

#[derive(Debug, Args)]
pub struct StudyRef {
    /// The study's name (created by the first `ask`).
    #[arg(long)]
    study: String,
    /// Study storage: a SQLite file, or a PostgreSQL URL (postgresql://user@host:port/db).
    #[arg(long, default_value = "studies/anneal.db", value_name = "FILE|URL")]
    storage: String,
}

#[derive(Debug, Args)]
pub struct AskArgs {
    #[command(flatten)]
    study: StudyRef,
    /// The parameters, as JSON: a list of sweep-file `[[search]]` entries
    /// (`[{"name": "lr", "float": [1e-5, 0.1], "log": true}, {"name": "k", "choices": ["a", "b"]}]`),
    /// or an object of name → entry (`{"lr": {"float": [1e-5, 0.1], "log": true}}`, names in
    /// alphabetical order; use the list for `when` conditions on earlier names).
    #[arg(long)]
    space: String,
    /// Minimise or maximise (fixed when the study is created).
    #[arg(long, value_enum, default_value_t = DirectionArg::Minimize)]
    direction: DirectionArg,
    /// Several objectives, each minimised or maximised, in the order `tell --values` gives
    /// them (`--directions maximize,minimize`); fixed when the study is created.
    #[arg(long, value_enum, value_delimiter = ',', conflicts_with = "direction")]
    directions: Vec<DirectionArg>,
    /// The sampler: a kind (`tpe`, `random`, `gp`, `cmaes`, `nsga2`) or a TOML table
    /// (`'{ kind = "tpe", multivariate = false }'`). Default: tpe, or nsga2 with several
    /// objectives.
    #[arg(long)]
    sampler: Option<String>,
    /// The study seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DirectionArg {
    Minimize,
    Maximize,
}

#[derive(Debug, Args)]
pub struct TellArgs {
    #[command(flatten)]
    study: StudyRef,
    /// The trial's number (what `ask` printed).
    #[arg(long)]
    trial: usize,
    /// Its value (the trial completed).
    #[arg(long, conflicts_with_all = ["state", "values"], required_unless_present_any = ["state", "values"])]
    value: Option<f64>,
    /// Its values, one per objective of a study with several, in the study's order.
    #[arg(long, num_args = 1.., conflicts_with = "state")]
    values: Vec<f64>,
    /// How it ended otherwise.
    #[arg(long, value_enum)]
    state: Option<EndState>,
    /// Why it failed (with `--state failed`).
    #[arg(long, requires = "state")]
    message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum EndState {
    Pruned,
    Failed,
}

/// The parameter list `--space` gives.
fn parse_space(text: &str) -> Result<SearchSpace> {
    let json: serde_json::Value =
        serde_json::from_str(text).context("--space is not valid JSON")?;
    let specs: Vec<ParamSpec> = match json {
        serde_json::Value::Array(_) => {
            serde_json::from_value(json).context("--space: a list of [[search]] entries")?
        }
        serde_json::Value::Object(entries) => entries
            .into_iter()
            .map(|(name, mut entry)| {
                if let Some(fields) = entry.as_object_mut() {
                    fields.insert("name".into(), name.clone().into());
                }
                serde_json::from_value(entry)
                    .with_context(|| format!("--space: parameter '{name}'"))
            })
            .collect::<Result<_>>()?,
        _ => bail!("--space must be a JSON list or object of parameters"),
    };
    if specs.is_empty() {
        bail!("--space names no parameter");
    }
    Ok(SearchSpace::from_specs(&specs)?)
}

fn parse_sampler(text: &str) -> Result<SamplerConfig> {
    let table = if text.trim_start().starts_with('{') {
        format!("sampler = {text}")
    } else {
        format!("sampler = {{ kind = \"{text}\" }}")
    };
    #[derive(serde::Deserialize)]
    struct Wrapper {
        sampler: SamplerConfig,
    }
    let wrapper: Wrapper = toml::from_str(&table)
        .with_context(|| format!("--sampler '{text}': a kind (tpe, random, gp) or a TOML table"))?;
    Ok(wrapper.sampler)
}

impl DirectionArg {
    fn direction(self) -> Direction {
        match self {
            DirectionArg::Minimize => Direction::Minimize,
            DirectionArg::Maximize => Direction::Maximize,
        }
    }
}

pub fn ask(args: AskArgs) -> Result<()> {
    let space = parse_space(&args.space)?;
    let directions: Vec<Direction> = match args.directions.is_empty() {
        true => vec![args.direction.direction()],
        false => args.directions.iter().map(|d| d.direction()).collect(),
    };
    let default_sampler = if directions.len() > 1 { "nsga2" } else { "tpe" };
    let sampler = parse_sampler(args.sampler.as_deref().unwrap_or(default_sampler))?;
    if matches!(sampler, SamplerConfig::Grid { .. }) {
        bail!("--sampler grid needs the whole space up front: run a sweep file with `anneal tune`");
    }
    let study = Study::builder()
        .name(&args.study.study)
        .storage(open_storage(
            &args.study.storage,
            &StorageOptions::default(),
        )?)
        .directions(&directions)
        .objective("asked from the command line")
        .sampler(sampler.init(Some(&space))?)
        .seed(args.seed)
        .build()?;
    let mut trial = study.ask()?;
    let params = nest_layers(&trial.suggest_space(&space)?);
    let object: serde_json::Map<String, serde_json::Value> = params.into_iter().collect();
    outln!(
        "{}",
        serde_json::json!({ "study": study.name(), "trial": trial.number(), "params": object })
    );
    Ok(())
}

pub fn tell(args: TellArgs) -> Result<()> {
    let storage = open_database(&args.study.storage, Access::Write)?;
    let existing = storage
        .study(&args.study.study)?
        .with_context(|| format!("no study '{}' in {}", args.study.study, storage.location()))?;
    // Telling draws nothing, so any sampler that serves the study's objectives will do.
    let study = Study::builder()
        .name(&existing.name)
        .storage(storage)
        .directions(&existing.directions)
        .sampler(RandomSampler)
        .build()?;
    let result = match (args.value, args.state) {
        _ if !args.values.is_empty() => TrialResult::Values(args.values),
        (Some(value), _) => TrialResult::Value(value),
        (None, Some(EndState::Pruned)) => TrialResult::Pruned,
        (None, Some(EndState::Failed)) => TrialResult::Failed(
            args.message
                .unwrap_or_else(|| "failed (told from the command line)".into()),
        ),
        (None, None) => bail!("give --value X, --values X Y … or --state pruned|failed"),
    };
    let told_values = matches!(result, TrialResult::Value(_) | TrialResult::Values(_));
    let record = study.tell_number(args.trial, result)?;
    let values = record.objective_values();
    let told = match values.len() {
        0 => String::new(),
        1 => format!(", value {}", values[0]),
        _ => format!(
            ", values {}",
            values
                .iter()
                .map(f64::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        ),
    };
    outln!(
        "trial {} of '{}': {}{told}",
        record.number,
        study.name(),
        record.state.as_str()
    );
    // Values the study could not take (too few, not numbers) failed the trial: say why.
    if let Some(message) = record.message.as_deref().filter(|_| told_values) {
        outln!("{message}");
    }
    Ok(())
}
