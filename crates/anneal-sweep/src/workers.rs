//! Child processes of this program working beside it (the workers of `anneal tune --jobs N`,
//! the sweeps of `anneal bench pruning --jobs N`). Each child's standard input is a pipe this
//! process holds open, its lifeline: the child calls [`exit_with_parent`] and exits as soon as
//! the pipe closes, which happens however this process ends (even `kill -9`), so no worker
//! outlives the process that started it.

use std::collections::VecDeque;
use std::io;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

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

/// In a child started by a [`ProcessPool`]: exit (status 130) when the parent's end of standard
/// input closes, that is when the parent ends, stopping the programs of its command trials
/// first.
pub fn exit_with_parent() {
    std::thread::spawn(|| {
        let _ = io::copy(&mut io::stdin(), &mut io::sink());
        crate::command::cleanup::stop_all();
        std::process::exit(130);
    });
}
