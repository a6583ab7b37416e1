//! `anneal bench sampler`: simple regret on standard test functions and suggestion times.

use anneal_bench::sampler::{CONDITIONS, Condition, Quartiles, StudyRun, run_study, suggestion_ms};
use anneal_tune::{SYNTHETIC_FUNCTIONS, SamplerConfig, Synthetic};
use anyhow::{Context, Result};
use clap::Args;
use rayon::prelude::*;
use serde::Serialize;

#[derive(Debug, Args)]
pub struct SamplerBenchArgs {
    /// Study seeds 0..N per sampler and function.
    #[arg(long, default_value_t = 20)]
    seeds: u64,
    /// A sampler to compare (repeat for more): a kind (`random`, `tpe`, `gp`, `cmaes`) or a
    /// TOML table such as '{ kind = "tpe", multivariate = false }'.
    #[arg(long = "sampler", default_values = ["random", "tpe", "gp", "cmaes"])]
    samplers: Vec<String>,
    /// Test functions (default: the five of the published comparison; `styblinski_tang4` and
    /// `levy4` are two more multimodal ones).
    #[arg(long, value_delimiter = ',')]
    functions: Vec<String>,
    /// Conditions of real studies to run each function under (default: clean): clean, noisy,
    /// parallel, failures, pruned, or all. docs/samplers.md describes each.
    #[arg(long, value_delimiter = ',')]
    conditions: Vec<String>,
    /// Regret is reported after these evaluations; the largest is each study's length.
    #[arg(long, value_delimiter = ',', default_value = "25,50,100")]
    at: Vec<usize>,
    /// Study sizes at which one suggestion is timed (Hartmann-6, random history).
    #[arg(long, value_delimiter = ',', default_value = "100,300")]
    timing_trials: Vec<usize>,
    /// Print the figures as JSON instead of tables.
    #[arg(long)]
    json: bool,
}

/// Optuna 5.0's median simple regret after 100 evaluations with default settings (20 seeds,
/// same functions and bounds), as published with the comparison: random, TPE, GP, CMA-ES.
const OPTUNA_AT_100: [(&str, [f64; 4]); 5] = [
    ("branin", [0.38, 0.0188, 1.4e-5, 0.0135]),
    ("hartmann6", [1.2, 0.094, 1.5e-4, 0.275]),
    ("rosenbrock5", [3420.0, 89.9, 170.0, 93.0]),
    ("ackley5", [17.1, 6.95, 6.38, 6.44]),
    ("mixed_branin", [1.61, 0.90, 0.0425, 1.22]),
];

fn optuna_at_100(function: &str, sampler: &str) -> Option<f64> {
    let column = ["random", "tpe", "gp", "cmaes"]
        .iter()
        .position(|s| *s == sampler)?;
    OPTUNA_AT_100
        .iter()
        .find(|(f, _)| *f == function)
        .map(|(_, row)| row[column])
}

#[derive(Debug, Serialize)]
struct Row {
    function: &'static str,
    condition: Condition,
    sampler: String,
    /// Regret quartiles after each of `at` evaluations.
    regret: Vec<(usize, Quartiles)>,
    /// Each seed's regret after the last evaluation.
    final_by_seed: Vec<f64>,
    /// Optuna's published median after 100 evaluations, where there is one.
    optuna_median_at_100: Option<f64>,
    /// Each seed's pairs of trials at the same point (10⁻⁶ of the range in every coordinate).
    repeated_points_by_seed: Vec<usize>,
    /// Each seed's failed and pruned trials.
    failed_by_seed: Vec<usize>,
    pruned_by_seed: Vec<usize>,
    /// Suggestions drawn at random because the sampler's model could not be used, all seeds.
    fallbacks: usize,
}

#[derive(Debug, Serialize)]
struct Timing {
    sampler: String,
    trials: usize,
    milliseconds: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    seeds: u64,
    rows: Vec<Row>,
    suggestion: Vec<Timing>,
}

pub(super) fn sampler_config(text: &str) -> Result<(String, SamplerConfig)> {
    let table = if text.trim_start().starts_with('{') {
        format!("sampler = {text}")
    } else {
        format!("sampler = {{ kind = \"{text}\" }}")
    };
    #[derive(serde::Deserialize)]
    struct Wrapper {
        sampler: SamplerConfig,
    }
    let wrapper: Wrapper =
        toml::from_str(&table).with_context(|| format!("--sampler: cannot read '{text}'"))?;
    let label = if text.contains('{') {
        text.to_string()
    } else {
        wrapper.sampler.name().to_string()
    };
    Ok((label, wrapper.sampler))
}

fn conditions(names: &[String]) -> Result<Vec<Condition>> {
    if names.is_empty() {
        return Ok(vec![Condition::Clean]);
    }
    if names.iter().any(|n| n == "all") {
        return Ok(CONDITIONS.to_vec());
    }
    by_name(
        "--conditions",
        "condition",
        ", all",
        names,
        &CONDITIONS,
        Condition::name,
    )
}

fn functions(names: &[String]) -> Result<Vec<Synthetic>> {
    if names.is_empty() {
        return Ok(SYNTHETIC_FUNCTIONS
            .into_iter()
            .filter(|f| {
                !matches!(
                    f,
                    Synthetic::Mixed | Synthetic::StyblinskiTang4 | Synthetic::Levy4
                )
            })
            .collect());
    }
    by_name(
        "--functions",
        "test function",
        "",
        names,
        &SYNTHETIC_FUNCTIONS,
        Synthetic::name,
    )
}

/// Each of `names` looked up among `known` by `name`; an unknown one is an error naming the
/// flag and listing the known names (and `also`).
fn by_name<T: Copy>(
    flag: &str,
    what: &str,
    also: &str,
    names: &[String],
    known: &[T],
    name: fn(T) -> &'static str,
) -> Result<Vec<T>> {
    names
        .iter()
        .map(|wanted| {
            known
                .iter()
                .copied()
                .find(|k| name(*k) == wanted)
                .with_context(|| {
                    let list: Vec<&str> = known.iter().map(|k| name(*k)).collect();
                    format!(
                        "{flag}: no {what} '{wanted}' (known: {}{also})",
                        list.join(", ")
                    )
                })
        })
        .collect()
}

pub fn run(args: &SamplerBenchArgs) -> Result<()> {
    let seeds = args.seeds.max(1);
    let samplers: Vec<(String, SamplerConfig)> = args
        .samplers
        .iter()
        .map(|s| sampler_config(s))
        .collect::<Result<_>>()?;
    let functions = functions(&args.functions)?;
    let evaluations = args.at.iter().copied().max().unwrap_or(100).max(1);
    let conditions = conditions(&args.conditions)?;
    let mut rows = Vec::new();
    for condition in &conditions {
        for function in &functions {
            for (label, config) in &samplers {
                // Seeds run in parallel; each study is single-threaded and independent.
                let runs: Vec<StudyRun> = (0..seeds)
                    .into_par_iter()
                    .map(|seed| run_study(*function, config, *condition, evaluations, seed))
                    .collect::<std::result::Result<_, _>>()?;
                let row = row(
                    function,
                    *condition,
                    label,
                    config,
                    &runs,
                    args,
                    evaluations,
                );
                if !args.json {
                    print_row(&row);
                }
                rows.push(row);
            }
        }
    }
    let mut suggestion = Vec::new();
    for (label, config) in &samplers {
        for &trials in &args.timing_trials {
            let rounds = if trials >= 300 { 5 } else { 10 };
            let ms = suggestion_ms(config, trials, rounds)?;
            if !args.json {
                outln!(
                    "suggestion time, {label}, {trials} trials in the study (Hartmann-6): {ms:.2} ms (mean of {rounds})"
                );
            }
            suggestion.push(Timing {
                sampler: label.clone(),
                trials,
                milliseconds: ms,
            });
        }
    }
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&Report {
                seeds,
                rows,
                suggestion
            })?
        );
    }
    Ok(())
}

fn row(
    function: &Synthetic,
    condition: Condition,
    label: &str,
    config: &SamplerConfig,
    runs: &[StudyRun],
    args: &SamplerBenchArgs,
    evaluations: usize,
) -> Row {
    let at = |n: usize| -> Vec<f64> {
        runs.iter()
            .map(|r| r.regret[n.clamp(1, r.regret.len()) - 1])
            .collect()
    };
    Row {
        function: function.name(),
        condition,
        sampler: label.to_string(),
        regret: args
            .at
            .iter()
            .map(|&n| (n, Quartiles::of(&at(n))))
            .collect(),
        final_by_seed: at(evaluations),
        optuna_median_at_100: optuna_at_100(function.name(), config.name())
            .filter(|_| !label.contains('{') && condition == Condition::Clean),
        repeated_points_by_seed: runs.iter().map(|r| r.repeated_points).collect(),
        failed_by_seed: runs.iter().map(|r| r.failed).collect(),
        pruned_by_seed: runs.iter().map(|r| r.pruned).collect(),
        fallbacks: runs.iter().map(|r| r.fallbacks).sum(),
    }
}

/// `@N: median [q1, q3]` for each evaluation count.
pub(super) fn quartile_cells(at: &[(usize, Quartiles)]) -> Vec<String> {
    at.iter()
        .map(|(n, q)| {
            format!(
                "@{n}: {} [{}, {}]",
                short(q.median),
                short(q.q1),
                short(q.q3)
            )
        })
        .collect()
}

fn print_row(row: &Row) {
    let cells = quartile_cells(&row.regret);
    let optuna = row
        .optuna_median_at_100
        .map_or(String::new(), |v| format!(" | Optuna @100: {}", short(v)));
    let repeats: usize = row.repeated_points_by_seed.iter().sum();
    let mut notes = format!(" | repeated pairs: {repeats}");
    if row.fallbacks > 0 {
        notes += &format!(" | random fallbacks: {}", row.fallbacks);
    }
    outln!(
        "{} | {} | {} | {}{optuna}{notes}",
        row.function,
        row.condition.name(),
        row.sampler,
        cells.join(" | ")
    );
}

/// Four significant figures, in scientific notation when small.
pub(super) fn short(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() < 1e-3 {
        format!("{v:.2e}")
    } else {
        format!("{:.4}", v)
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}
