//! Any program as the objective. Each trial runs the sweep's command in its own process group,
//! with the trial's parameters in its arguments (`--lr={train.lr}`), in environment variables
//! (`ANNEAL_PARAM_TRAIN_LR`) and in a JSON file (`$ANNEAL_PARAMS`), and reads what it prints:
//!
//! - `anneal: report STEP VALUE`: an intermediate value, which may prune the trial;
//! - `anneal: value VALUE`: the trial's value (the last one printed counts);
//! - `anneal: values A B …`: one value per objective, for a study with several;
//! - `anneal: metric NAME VALUE`: a named figure the sweep's constraints may refer to.
//!
//! A pruned trial's process group gets SIGTERM, then SIGKILL after the grace period; so does a
//! trial past its timeout (recorded failed). A non-zero exit or no value fails the trial with
//! the tail of its standard error. Its output is kept in `stdout.log` and `stderr.log` in the
//! trial's folder, which is also where the parameter file lies.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anneal_tune::{Assignment, BoxError, Objective, SearchSpace, Trial, Value, Values};

use crate::metrics::Constraint;

mod output;
pub(crate) mod process;

use output::{StderrTail, forward_lines};
use process::ProcessGroup;

/// How a sweep runs its command.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandSpec {
    /// The program and its arguments, with `{name}` placeholders for parameters.
    pub argv: Vec<String>,
    /// The working directory (the sweep file's folder unless the file says otherwise).
    pub workdir: PathBuf,
    /// Longest a trial may run.
    pub timeout: Option<Duration>,
    /// Time between SIGTERM and SIGKILL when a trial is stopped.
    pub grace: Duration,
}

/// A piece of an argument: literal text or a parameter's value.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Param(String),
}

/// Splits an argument at its `{name}` placeholders (`{{` and `}}` are literal braces).
fn pieces(arg: &str) -> Result<Vec<Piece>, String> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut chars = arg.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                text.push('}');
            }
            '{' => {
                let mut name = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == '}' {
                        closed = true;
                        break;
                    }
                    name.push(c);
                }
                if name.is_empty() || !closed {
                    return Err(format!(
                        "argument '{arg}' has an empty or unclosed placeholder"
                    ));
                }
                out.push(Piece::Text(std::mem::take(&mut text)));
                out.push(Piece::Param(name));
            }
            '}' => {
                return Err(format!(
                    "argument '{arg}' has a '}}' without '{{' (write '}}}}')"
                ));
            }
            c => text.push(c),
        }
    }
    out.push(Piece::Text(text));
    Ok(out)
}

impl CommandSpec {
    /// Checks the command against the search space: it is not empty and every placeholder
    /// names a searched parameter.
    pub fn check(&self, space: &SearchSpace) -> Result<(), String> {
        if self.argv.first().is_none_or(|p| p.is_empty()) {
            return Err("needs a program to run, e.g. [\"python3\", \"train.py\"]".into());
        }
        for arg in &self.argv {
            for piece in pieces(arg)? {
                if let Piece::Param(name) = piece {
                    if !space.params.iter().any(|p| p.name == name) {
                        let names: Vec<&str> =
                            space.params.iter().map(|p| p.name.as_str()).collect();
                        return Err(format!(
                            "placeholder {{{name}}} names no [[search]] parameter (searched: {})",
                            names.join(", ")
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// The arguments with the trial's values in place (an inactive conditional parameter
    /// gives an empty string).
    fn arguments(&self, params: &Assignment) -> Result<Vec<String>, String> {
        self.argv
            .iter()
            .map(|arg| {
                Ok(pieces(arg)?
                    .into_iter()
                    .map(|piece| match piece {
                        Piece::Text(text) => text,
                        Piece::Param(name) => params
                            .iter()
                            .find(|(n, _)| *n == name)
                            .map_or(String::new(), |(_, v)| plain(v)),
                    })
                    .collect())
            })
            .collect()
    }
}

/// A value as a program reads it: strings bare, everything else as JSON.
fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The environment variable for parameter `name`: `ANNEAL_PARAM_` and the name in capitals,
/// other characters as `_` (`train.lr` → `ANNEAL_PARAM_TRAIN_LR`).
pub fn env_name(name: &str) -> String {
    let mut out = String::from("ANNEAL_PARAM_");
    out.extend(name.chars().map(|c| {
        if c.is_ascii_alphanumeric() {
            c.to_ascii_uppercase()
        } else {
            '_'
        }
    }));
    out
}

/// What one line of the program's output says.
#[derive(Debug, Clone, PartialEq)]
enum Line {
    Report(usize, f64),
    /// The trial's value, or one per objective of a study with several.
    Values(Vec<f64>),
    /// A named figure constraints may refer to.
    Metric(String, f64),
    Other,
}

fn parse_line(line: &str) -> Result<Line, String> {
    let Some(rest) = line.trim().strip_prefix("anneal:") else {
        return Ok(Line::Other);
    };
    let words: Vec<&str> = rest.split_whitespace().collect();
    let number = |w: &str| {
        w.parse::<f64>()
            .map_err(|_| format!("'{line}': '{w}' is not a number"))
    };
    match words.as_slice() {
        ["value", v] => Ok(Line::Values(vec![number(v)?])),
        ["values", values @ ..] if !values.is_empty() => Ok(Line::Values(
            values.iter().map(|v| number(v)).collect::<Result<_, _>>()?,
        )),
        ["metric", name, v] => Ok(Line::Metric(name.to_string(), number(v)?)),
        ["report", step, v] => {
            let step = step
                .parse::<usize>()
                .map_err(|_| format!("'{line}': the step '{step}' is not a whole number"))?;
            Ok(Line::Report(step, number(v)?))
        }
        ["value" | "values" | "report" | "metric", ..] => Err(format!(
            "'{line}' is not 'anneal: value VALUE', 'anneal: values VALUE VALUE …', 'anneal: report STEP VALUE' or 'anneal: metric NAME VALUE'"
        )),
        // Other `anneal:` lines are the program's own words.
        _ => Ok(Line::Other),
    }
}

/// Runs the sweep's command per trial.
pub struct CommandObjective<'a> {
    spec: &'a CommandSpec,
    space: &'a SearchSpace,
    /// Where trial folders go: `<runs>/trial-<n>`.
    runs: PathBuf,
    /// Limits on the metrics the program prints.
    constraints: &'a [Constraint],
}

impl<'a> CommandObjective<'a> {
    /// The objective of a command sweep, keeping trial folders under `runs`.
    pub fn new(spec: &'a CommandSpec, space: &'a SearchSpace, runs: PathBuf) -> Self {
        Self {
            spec,
            space,
            runs,
            constraints: &[],
        }
    }

    /// The same objective, with each trial's constraint values computed from the metrics its
    /// program prints (`anneal: metric NAME VALUE`).
    pub fn with_constraints(mut self, constraints: &'a [Constraint]) -> Self {
        self.constraints = constraints;
        self
    }
}

impl Objective for CommandObjective<'_> {
    fn evaluate(&mut self, trial: &mut Trial) -> Result<Values, BoxError> {
        let params = trial.suggest_space(self.space)?;
        let folder = std::path::absolute(self.runs.join(anneal_train::free_run_name(
            &self.runs,
            &format!("trial-{}", trial.number()),
        )))?;
        std::fs::create_dir_all(&folder)?;
        trial.set_run_dir(Some(&folder.to_string_lossy()))?;
        let params_file = folder.join("params.json");
        let object: serde_json::Map<String, Value> = params.iter().cloned().collect();
        std::fs::write(&params_file, serde_json::to_string_pretty(&object)?)?;

        let argv = self.spec.arguments(&params)?;
        let mut command = Command::new(&argv[0]);
        command
            .args(&argv[1..])
            .current_dir(&self.spec.workdir)
            .env("ANNEAL_PARAMS", &params_file)
            .env("ANNEAL_TRIAL_DIR", &folder)
            .env("ANNEAL_TRIAL_NUMBER", trial.number().to_string())
            .env("ANNEAL_TRIAL_SEED", trial.seed().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in &params {
            command.env(env_name(name), plain(value));
        }
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            command.process_group(0);
            #[cfg(target_os = "linux")]
            // SAFETY: prctl is async-signal-safe, as a function run between fork and exec must be.
            unsafe {
                // A trial's program dies with anneal even when anneal is killed outright.
                command.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
        }
        crate::signals::install();
        let mut child = command.spawn().map_err(|e| {
            format!(
                "cannot start {:?} in {}: {e}",
                argv[0],
                self.spec.workdir.display()
            )
        })?;
        let mut group = ProcessGroup::new(&mut child, self.spec.grace);
        let stderr = group.child.stderr.take().expect("piped");
        let stderr_tail = StderrTail::start(stderr, &folder.join("stderr.log"));
        let (lines, incoming) = mpsc::channel();
        let stdout = group.child.stdout.take().expect("piped");
        let stdout_log = folder.join("stdout.log");
        std::thread::spawn(move || forward_lines(stdout, &stdout_log, lines));

        let deadline = self.spec.timeout.map(|t| Instant::now() + t);
        let timed_out = || -> BoxError {
            anneal_tune::TuneError::TimedOut {
                seconds: self.spec.timeout.unwrap_or_default().as_secs_f64(),
            }
            .into()
        };
        let mut value = None;
        let mut metrics = std::collections::HashMap::new();
        let mut exited = false;
        let stopped: Option<BoxError> = loop {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break Some(timed_out());
            }
            // Ctrl-C: the program is stopped (SIGTERM, then SIGKILL after the grace period).
            if crate::signals::interrupted() {
                break Some(anneal_tune::TuneError::Interrupted.into());
            }
            let wait = deadline.map_or(POLL, |d| {
                d.saturating_duration_since(Instant::now()).min(POLL)
            });
            match incoming.recv_timeout(wait) {
                Ok(line) => match parse_line(&line) {
                    Ok(Line::Report(step, v)) => {
                        if let Err(e) = trial.report(step, v) {
                            break Some(e.into());
                        }
                    }
                    Ok(Line::Values(v)) => value = Some(v),
                    Ok(Line::Metric(name, v)) => {
                        metrics.insert(name, v);
                    }
                    Ok(Line::Other) => {}
                    Err(message) => break Some(message.into()),
                },
                // The program's own exit decides the trial, not the end of its output: once it
                // has exited, the rest of its group is stopped, and after a quiet look at the
                // output (what it printed last is read by now) the trial is over, even while
                // a process it started in a session of its own still holds the pipe.
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if exited {
                        break None;
                    }
                    if group.child.try_wait()?.is_some() {
                        exited = true;
                        group.stop();
                    }
                }
                // Standard output closed: wait for the exit, still within the deadline.
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    match exited || wait_until(group.child, deadline)? {
                        true => break None,
                        false => break Some(timed_out()),
                    }
                }
            }
        };
        if let Some(error) = stopped {
            group.stop();
            return Err(error);
        }
        let status = group.child.wait()?;
        // Whatever the program left behind in its group ends with it.
        group.stop();
        let tail = stderr_tail.take(POLL);
        if !status.success() {
            return Err(format!("{} {status}{}", argv[0], tail_suffix(&tail)).into());
        }
        let value = value.ok_or_else(|| {
            format!(
                "{} printed no 'anneal: value VALUE' (or 'anneal: values …') line{}",
                argv[0],
                tail_suffix(&tail)
            )
        })?;
        let constraints =
            Constraint::values_of(self.constraints, |name| metrics.get(name).copied())
                .map_err(|e| format!("{e} (print 'anneal: metric NAME VALUE')"))?;
        if !constraints.is_empty() {
            trial.set_constraints(&constraints)?;
        }
        Ok(Values::from(value))
    }
}

/// How often the loop looks at the program while it prints nothing.
const POLL: Duration = Duration::from_millis(100);

/// Waits for the child to exit until `deadline`; whether it did.
fn wait_until(child: &mut Child, deadline: Option<Instant>) -> std::io::Result<bool> {
    let Some(deadline) = deadline else {
        child.wait()?;
        return Ok(true);
    };
    while Instant::now() < deadline {
        if child.try_wait()?.is_some() {
            return Ok(true);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(child.try_wait()?.is_some())
}

pub(crate) fn tail_suffix(tail: &str) -> String {
    if tail.trim().is_empty() {
        String::new()
    } else {
        format!("; stderr ends:\n{}", tail.trim_end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_protocol_lines_parse() {
        assert_eq!(
            pieces("--lr={train.lr}").unwrap(),
            vec![
                Piece::Text("--lr=".into()),
                Piece::Param("train.lr".into()),
                Piece::Text(String::new())
            ]
        );
        assert_eq!(pieces("{{x}}").unwrap(), vec![Piece::Text("{x}".into())]);
        assert!(pieces("{").is_err() && pieces("a}b").is_err() && pieces("--lr={lr").is_err());
        assert_eq!(
            parse_line("anneal: value 0.93"),
            Ok(Line::Values(vec![0.93]))
        );
        assert_eq!(
            parse_line("anneal: values 0.93 120000"),
            Ok(Line::Values(vec![0.93, 120000.0]))
        );
        assert!(parse_line("anneal: values").is_err(), "at least one value");
        assert_eq!(
            parse_line("  anneal: report 3 0.91 "),
            Ok(Line::Report(3, 0.91))
        );
        assert_eq!(
            parse_line("anneal: metric size 1200"),
            Ok(Line::Metric("size".into(), 1200.0))
        );
        assert!(parse_line("anneal: metric size").is_err());
        assert_eq!(parse_line("epoch 3 loss 0.2"), Ok(Line::Other));
        assert_eq!(parse_line("anneal: loading data"), Ok(Line::Other));
        let err = parse_line("anneal: value high").unwrap_err();
        assert!(err.contains("'high' is not a number"), "{err}");
        assert!(
            parse_line("anneal: report x 1")
                .unwrap_err()
                .contains("whole number")
        );
        assert_eq!(env_name("train.lr"), "ANNEAL_PARAM_TRAIN_LR");
        assert_eq!(env_name("model.units[0]"), "ANNEAL_PARAM_MODEL_UNITS_0_");
    }
}
