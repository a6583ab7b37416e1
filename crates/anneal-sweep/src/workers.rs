//! Child processes of this program working beside it (the workers of `anneal tune --jobs N`,
//! the sweeps of `anneal bench pruning --jobs N`). Each child's standard input is a pipe this
//! process holds open, its lifeline: the child calls [`exit_with_parent`] and exits as soon as
//! the pipe closes, which happens however this process ends (even `kill -9`), so no worker
//! outlives the process that started it.

use std::collections::VecDeque;
use std::io::{self, BufRead, Write};
use std::process::{ChildStderr, Command, Output, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use anneal_tune::WORKER_TAG_VARIABLE;

/// Called as each child ends, with its index and outcome; `false` stops handing out the
/// commands not started yet.
pub type OnFinish = Box<dyn Fn(usize, &io::Result<Output>) -> bool + Send + Sync>;

/// Commands run over a fixed number of slots, one child per slot at a time, in the background.
pub struct ProcessPool {
    slots: Vec<JoinHandle<()>>,
    results: Arc<Mutex<Vec<Option<io::Result<Output>>>>>,
}

impl ProcessPool {
    /// Starts running `commands` over `slots` slots. A command's standard output and error are
    /// captured if it pipes them (`Stdio::piped()`), inherited otherwise; its standard input is
    /// the lifeline.
    pub fn start(commands: Vec<Command>, slots: usize, on_finish: OnFinish) -> Self {
        let count = commands.len();
        let queue = Arc::new(Mutex::new(
            commands.into_iter().enumerate().collect::<VecDeque<_>>(),
        ));
        let results = Arc::new(Mutex::new((0..count).map(|_| None).collect::<Vec<_>>()));
        let on_finish = Arc::new(on_finish);
        let slots = (0..slots.max(1).min(count.max(1)))
            .map(|_| {
                let (queue, results, on_finish) =
                    (queue.clone(), results.clone(), on_finish.clone());
                std::thread::spawn(move || {
                    loop {
                        let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
                        let Some((index, mut command)) = next else {
                            break;
                        };
                        let outcome = command
                            .stdin(Stdio::piped())
                            .spawn()
                            .and_then(|child| child.wait_with_output_keeping_stdin());
                        if !on_finish(index, &outcome) {
                            queue.lock().unwrap_or_else(|p| p.into_inner()).clear();
                        }
                        results.lock().unwrap_or_else(|p| p.into_inner())[index] = Some(outcome);
                    }
                })
            })
            .collect();
        Self { slots, results }
    }

    /// Waits for every started child; the outcomes in command order (`None` for commands never
    /// started because `on_finish` stopped the pool).
    pub fn wait(self) -> Vec<Option<io::Result<Output>>> {
        for slot in self.slots {
            let _ = slot.join();
        }
        std::mem::take(&mut *self.results.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Waiting for a child while holding its stdin open until it exits (Rust's
/// `wait_with_output` closes stdin first, which would cut the lifeline).
trait WaitKeepingStdin {
    fn wait_with_output_keeping_stdin(self) -> io::Result<Output>;
}

impl WaitKeepingStdin for std::process::Child {
    fn wait_with_output_keeping_stdin(mut self) -> io::Result<Output> {
        let lifeline = self.stdin.take();
        let output = self.wait_with_output();
        drop(lifeline);
        output
    }
}

/// How a process that stopped at the user's Ctrl-C exits (128 + SIGINT, as shells report it).
pub const INTERRUPTED_EXIT: i32 = 130;

/// In a child started by a [`ProcessPool`]: exit (status 130) when the parent's end of standard
/// input closes, that is when the parent ends, stopping the programs of its command trials
/// first.
pub fn exit_with_parent() {
    std::thread::spawn(|| {
        let _ = io::copy(&mut io::stdin(), &mut io::sink());
        crate::signals::stop_all();
        std::process::exit(130);
    });
}

/// In a worker of a [`Supervisor`] started with a handshake: its first line (call before
/// [`exit_with_parent`], which reads the rest of standard input).
pub fn read_handshake() -> io::Result<String> {
    let mut line = String::new();
    io::stdin().read_line(&mut line)?;
    match line.strip_suffix('\n') {
        Some(line) => Ok(line.to_string()),
        None => Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "standard input closed before the handshake line",
        )),
    }
}

/// How a supervised worker ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerEnd {
    /// It found nothing more to do.
    Done,
    /// It exited with an error (its message went to its standard error).
    Failed(String),
    /// It stopped because it was interrupted ([`Supervisor::interrupt`]), its trial recorded
    /// interrupted.
    Interrupted,
    /// A signal ended it (an abort on a failed allocation, the kernel's out-of-memory killer):
    /// the trials its tag held died with it.
    Killed {
        /// The worker's tag.
        tag: String,
        /// The signal's number.
        signal: i32,
        /// The last lines of its standard error (an abort's `memory allocation of … failed`).
        stderr: String,
    },
}

struct Worker {
    child: std::process::Child,
    lifeline: Option<std::process::ChildStdin>,
    tag: String,
    stderr: StderrTail,
}

/// How many of a worker's last standard error lines are kept for the record of its end.
const STDERR_TAIL: usize = 20;

/// A worker's standard error as it comes: copied to this process's own unless quiet, its last
/// lines kept for the record of how it ended.
struct StderrTail {
    lines: Arc<Mutex<VecDeque<String>>>,
    closed: mpsc::Receiver<()>,
}

impl StderrTail {
    fn follow(source: ChildStderr, show: bool) -> Self {
        let lines = Arc::new(Mutex::new(VecDeque::with_capacity(STDERR_TAIL)));
        let (close, closed) = mpsc::channel();
        let kept = lines.clone();
        std::thread::spawn(move || {
            let mut source = io::BufReader::new(source);
            let mut line = Vec::new();
            while source.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
                if show {
                    let _ = io::stderr().lock().write_all(&line);
                }
                let text = String::from_utf8_lossy(&line).trim_end().to_string();
                line.clear();
                // A backtrace (RUST_BACKTRACE) would push the line saying what failed out.
                if is_backtrace(&text) {
                    continue;
                }
                let mut kept = kept.lock().unwrap_or_else(|p| p.into_inner());
                if kept.len() == STDERR_TAIL {
                    kept.pop_front();
                }
                kept.push_back(text);
            }
            let _ = close.send(());
        });
        Self { lines, closed }
    }

    /// The last lines, once the pipe has closed (or after a moment, should a process the worker
    /// started still hold it).
    fn finish(self) -> String {
        let _ = self.closed.recv_timeout(Duration::from_secs(2));
        let lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        lines.iter().cloned().collect::<Vec<_>>().join("\n")
    }
}

/// Whether `line` belongs to a Rust backtrace: its header, a frame (`  12: name`), a frame's
/// place (`      at src/x.rs:3`) or the note on omitted frames.
fn is_backtrace(line: &str) -> bool {
    let trimmed = line.trim_start();
    let frame = trimmed
        .split_once(": ")
        .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    line == "stack backtrace:"
        || (line.starts_with(' ') && (frame || trimmed.starts_with("at ")))
        || line.starts_with("note: Some details are omitted")
        || line.starts_with("note: run with `RUST_BACKTRACE=1`")
}

/// Worker processes that run a sweep's trials while this process watches: a worker a signal
/// ends (a trial that aborted its process) is reported with its tag and started again, up to
/// `respawns` times in all, so one trial's crash never ends the study. Their standard error
/// passes through this process, shown only when `show_stderr` (a quiet sweep prints no
/// worker's abort lines), and its end is kept for the record of how a worker ended.
pub struct Supervisor {
    make: Box<dyn FnMut(usize) -> Command>,
    handshake: Option<String>,
    workers: Vec<Option<Worker>>,
    respawns: usize,
    started: usize,
    show_stderr: bool,
}

impl Supervisor {
    /// Starts `jobs` workers; `make(slot)` builds slot `slot`'s command (its lifeline, tag and
    /// standard error are set here). `handshake`, when given, is the first line each worker
    /// reads from its lifeline ([`read_handshake`]): how a secret, such as a storage URL with
    /// its password, reaches a worker without standing on its command line, which every local
    /// user can read, or in its environment, which the programs of its trials inherit.
    pub fn start(
        jobs: usize,
        respawns: usize,
        show_stderr: bool,
        handshake: Option<String>,
        make: impl FnMut(usize) -> Command + 'static,
    ) -> io::Result<Self> {
        if handshake.as_ref().is_some_and(|line| line.contains('\n')) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a worker's handshake is one line",
            ));
        }
        let mut supervisor = Self {
            make: Box::new(make),
            handshake,
            workers: Vec::new(),
            respawns,
            started: 0,
            show_stderr,
        };
        for slot in 0..jobs.max(1) {
            let worker = supervisor.spawn(slot)?;
            supervisor.workers.push(Some(worker));
        }
        Ok(supervisor)
    }

    fn spawn(&mut self, slot: usize) -> io::Result<Worker> {
        self.started += 1;
        let tag = format!("w{}x{:08x}", self.started, rand_tag());
        let mut command = (self.make)(slot);
        command
            .env(WORKER_TAG_VARIABLE, &tag)
            .stdin(Stdio::piped())
            .stderr(Stdio::piped());
        // In a process group of its own, the terminal's Ctrl-C reaches only this process,
        // which passes the first one on ([`Supervisor::interrupt`]) and ends the workers
        // outright (their lifelines close) when a second one ends it.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command.spawn()?;
        let mut lifeline = child.stdin.take();
        if let (Some(line), Some(pipe)) = (&self.handshake, lifeline.as_mut()) {
            // A line is far below a pipe's buffer: this never waits on the worker.
            pipe.write_all(format!("{line}\n").as_bytes())?;
        }
        let stderr = child.stderr.take().expect("piped");
        Ok(Worker {
            lifeline,
            child,
            tag,
            stderr: StderrTail::follow(stderr, self.show_stderr),
        })
    }

    /// The workers that ended since the last look, each reported once; a killed one is started
    /// again in its slot while respawns remain.
    pub fn poll(&mut self) -> io::Result<Vec<WorkerEnd>> {
        let mut ends = Vec::new();
        for slot in 0..self.workers.len() {
            let Some(worker) = self.workers[slot].as_mut() else {
                continue;
            };
            let Some(status) = worker.child.try_wait()? else {
                continue;
            };
            let worker = self.workers[slot].take().expect("checked above");
            drop(worker.lifeline);
            let stderr = worker.stderr.finish();
            let end = match (status.success(), signal_of(&status)) {
                (true, _) => WorkerEnd::Done,
                (false, None) if status.code() == Some(INTERRUPTED_EXIT) => WorkerEnd::Interrupted,
                (false, Some(signal)) => WorkerEnd::Killed {
                    tag: worker.tag,
                    signal,
                    stderr,
                },
                // Its error message was not shown: say it here.
                (false, None) if !self.show_stderr && !stderr.is_empty() => WorkerEnd::Failed(
                    format!("a worker exited with {status}; its standard error ends:\n{stderr}"),
                ),
                (false, None) => WorkerEnd::Failed(format!("a worker exited with {status}")),
            };
            if matches!(end, WorkerEnd::Killed { .. }) && self.respawns > 0 {
                self.respawns -= 1;
                self.workers[slot] = Some(self.spawn(slot)?);
            }
            ends.push(end);
        }
        Ok(ends)
    }

    /// Asks every worker to stop gracefully, as a first Ctrl-C would: each ends its running
    /// trial as interrupted and exits.
    pub fn interrupt(&mut self) {
        for worker in self.workers.iter().flatten() {
            #[cfg(unix)]
            // SAFETY: kill(2) on a child of this process that has not been reaped yet.
            unsafe {
                libc::kill(worker.child.id() as i32, libc::SIGINT);
            }
            #[cfg(not(unix))]
            let _ = worker;
        }
    }

    /// Whether any worker still runs.
    pub fn running(&self) -> bool {
        self.workers.iter().any(Option::is_some)
    }

    /// Ends every worker now (their trials become stale; the next look recovers them).
    pub fn stop(&mut self) {
        for worker in self.workers.iter_mut().filter_map(Option::take) {
            let mut child = worker.child;
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.stop();
    }
}

fn rand_tag() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish() as u32
}

#[cfg(unix)]
fn signal_of(status: &std::process::ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    status.signal()
}

#[cfg(not(unix))]
fn signal_of(_status: &std::process::ExitStatus) -> Option<i32> {
    None
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// The ends of workers that print and die: one killed, one failing.
    fn ends(show_stderr: bool) -> Vec<WorkerEnd> {
        let scripts = [
            "echo 'memory allocation of 5 bytes failed' >&2; printf 'stack backtrace:\n   0: f\n             at ./src/f.rs:1:2\n   1: g\nnote: Some details are omitted\n' >&2; kill -9 $$",
            "echo 'error: no such sweep' >&2; exit 3",
        ];
        let mut workers = Supervisor::start(2, 0, show_stderr, None, move |slot| {
            let mut command = Command::new("sh");
            command.args(["-c", scripts[slot]]);
            command
        })
        .unwrap();
        let mut ends = Vec::new();
        while workers.running() {
            std::thread::sleep(Duration::from_millis(20));
            ends.extend(workers.poll().unwrap());
        }
        ends.sort_by_key(|end| matches!(end, WorkerEnd::Failed(_)));
        ends
    }

    #[test]
    fn a_workers_last_stderr_lines_come_with_its_end() {
        let [killed, failed] = <[WorkerEnd; 2]>::try_from(ends(false)).unwrap();
        let WorkerEnd::Killed { signal, stderr, .. } = killed else {
            panic!("{killed:?}");
        };
        assert_eq!(
            (signal, stderr.as_str()),
            (9, "memory allocation of 5 bytes failed")
        );
        assert_eq!(
            failed,
            WorkerEnd::Failed(
                "a worker exited with exit status: 3; its standard error ends:\nerror: no such sweep"
                    .into()
            )
        );
        // Shown as it came, the failure's message is not repeated.
        let shown = ends(true);
        assert_eq!(
            shown[1],
            WorkerEnd::Failed("a worker exited with exit status: 3".into())
        );
    }
}
