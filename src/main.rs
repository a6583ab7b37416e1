//! The `anneal` command line: argument parsing and dispatch only; the work lives in the crates.

#[macro_use]
mod output;
mod backend;
mod commands;
mod runtime;

use anyhow::Result;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "anneal",
    version,
    about = "Train neural networks and tune their hyperparameters"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the bundled datasets, show one, or check your own CSV / IDX files.
    Datasets(commands::datasets::DatasetsArgs),
    /// Train a model from a run config into a new run folder.
    Train(commands::train::TrainArgs),
    /// Reload a finished run's checkpoint and recompute its test metrics.
    Eval(commands::train::EvalArgs),
    /// Predict new rows (CSV) or images (IDX) with a finished run, writing one row per input.
    Predict(commands::train::PredictArgs),
    /// Run (or resume) a hyperparameter sweep into its study database.
    Tune(commands::tune::TuneArgs),
    /// Join a sweep's study from any host (one PostgreSQL database for all) and run its trials
    /// in this process until the budget is spent.
    Worker(commands::tune::WorkerArgs),
    /// Inspect studies: list, show, best, export, delete.
    Study(commands::study::StudyArgs),
    /// Start a trial of a study and print its number and parameters as JSON (for any program).
    Ask(commands::ask::AskArgs),
    /// Record how a trial from `anneal ask` ended.
    Tell(commands::ask::TellArgs),
    /// Write a self-contained HTML report of a study or of a training run.
    Report(commands::report::ReportArgs),
    /// Print a shell completion script (`anneal completions bash > ~/.local/share/bash-completion/completions/anneal`).
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Measure speed figures (data loading, training throughput).
    Bench(commands::bench::BenchArgs),
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ANNEAL_LOG")
                // cubecl and wgpu log their own (already handled) failures as warnings.
                .unwrap_or_else(|_| "warn,cubecl=error,cubecl_common=error,wgpu=error,wgpu_core=error,wgpu_hal=error".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(colour(
            std::io::IsTerminal::is_terminal(&std::io::stderr()),
            std::env::var_os("NO_COLOR"),
        ))
        .init();
    let cli = parse_cli();
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) if error.is::<commands::tune::Interrupted>() => {
            eprintln!("{error}");
            std::process::ExitCode::from(130)
        }
        Err(error) => {
            // Each message is bounded where it is made; this bounds a chain of them, and any
            // error that quotes foreign text without bounding it.
            let text = error_text(&error);
            eprintln!(
                "error: {}",
                anneal_text::clip(&text, 4 * anneal_text::MESSAGE_LIMIT)
            );
            std::process::ExitCode::FAILURE
        }
    }
}

/// Whether warnings are coloured: only on a terminal (not in a file or a pipe), and not when
/// NO_COLOR is set to anything (https://no-color.org).
fn colour(stderr_is_terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|v| v.is_empty())
}

/// The command line, every argument that takes a value accepting a negative number
/// (`--value -1.5`), which clap otherwise reads as an unknown flag `-1`.
fn cli_command() -> clap::Command {
    fn allow_negative(command: clap::Command) -> clap::Command {
        command
            .mut_args(|arg| match arg.get_action().takes_values() {
                true => arg.allow_negative_numbers(true),
                false => arg,
            })
            .mut_subcommands(allow_negative)
    }
    allow_negative(Cli::command())
}

/// The arguments of this process (exiting with clap's message and status when they are wrong).
fn parse_cli() -> Cli {
    let mut command = cli_command();
    let mut matches = command.get_matches_mut();
    Cli::from_arg_matches_mut(&mut matches).unwrap_or_else(|e| e.format(&mut command).exit())
}

/// The error and its causes joined by ": ", each cause left out when the text so far already
/// says it (errors that print their source would otherwise say it twice).
fn error_text(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let cause = cause.to_string();
        if text.contains(&cause) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&cause);
    }
    text
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Datasets(args) => commands::datasets::run(args),
        Command::Train(args) => commands::train::train(args),
        Command::Eval(args) => commands::train::eval(args),
        Command::Predict(args) => commands::train::predict(args),
        Command::Tune(args) => commands::tune::tune(args),
        Command::Worker(args) => commands::tune::worker(args),
        Command::Study(args) => commands::study::study(args),
        Command::Ask(args) => commands::ask::ask(args),
        Command::Tell(args) => commands::ask::tell(args),
        Command::Report(args) => commands::report::report(args),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut cli_command(), "anneal", &mut std::io::stdout());
            Ok(())
        }
        Command::Bench(args) => commands::bench::run(args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_chain_never_repeats_a_cause() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory");
        let inner = anyhow::Error::new(io).context("a.toml: No such file or directory");
        let error = inner.context("cannot use run config a.toml");
        assert_eq!(
            error_text(&error),
            "cannot use run config a.toml: a.toml: No such file or directory"
        );
    }

    /// Every command and argument explains itself in `--help`.
    #[test]
    fn every_command_and_argument_has_help_text() {
        fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            let path = format!("{path} {}", command.get_name());
            if command.get_about().is_none() && path != " anneal" {
                missing.push(format!("{path} (command)"));
            }
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
                if id == "help" || id == "version" || arg.is_hide_set() {
                    continue;
                }
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in command.get_subcommands() {
                if sub.get_name() != "help" {
                    walk(sub, &path, missing);
                }
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "", &mut missing);
        assert!(missing.is_empty(), "without help text: {missing:#?}");
    }

    /// `--value -1.5` is a value, not an unknown flag `-1`, on every argument that takes one.
    #[test]
    fn every_value_argument_takes_a_negative_number() {
        let command = cli_command();
        command.clone().debug_assert();
        let matches = cli_command()
            .try_get_matches_from([
                "anneal", "tell", "--study", "s", "--trial", "2", "--value", "-1.5",
            ])
            .unwrap_or_else(|e| panic!("{e}"));
        let tell = matches.subcommand_matches("tell").unwrap();
        assert_eq!(tell.get_one::<f64>("value"), Some(&-1.5));
        assert!(Cli::from_arg_matches(&matches).is_ok());
        // Unsigned ones then say why the value is wrong, not that the flag is unknown.
        let err = cli_command()
            .try_get_matches_from([
                "anneal", "tell", "--study", "s", "--trial", "-2", "--value", "1",
            ])
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid value '-2' for '--trial"), "{err}");
        fn walk(command: &clap::Command, path: &str, refused: &mut Vec<String>) {
            let path = format!("{path} {}", command.get_name());
            for arg in command.get_arguments() {
                if arg.get_action().takes_values() && !arg.is_allow_negative_numbers_set() {
                    refused.push(format!("{path} {}", arg.get_id()));
                }
            }
            for sub in command.get_subcommands() {
                walk(sub, &path, refused);
            }
        }
        let mut refused = Vec::new();
        walk(&command, "", &mut refused);
        assert!(refused.is_empty(), "negative numbers refused: {refused:#?}");
    }

    #[test]
    fn warnings_are_coloured_only_on_a_terminal_without_no_color() {
        assert!(colour(true, None));
        assert!(colour(true, Some("".into())), "an empty NO_COLOR is unset");
        assert!(!colour(true, Some("1".into())));
        assert!(
            !colour(false, None),
            "a file or a pipe gets no escape codes"
        );
    }
}
