//! A command trial's processes: its own process group, stopped (SIGTERM, then SIGKILL) when
//! the trial ends however it ends, when anneal is ended by a signal ([`crate::signals`]), and when
//! anneal dies outright, SIGKILL included ([`Watchdog`]): no process of a trial stays behind.

use std::process::Child;
use std::time::{Duration, Instant};

/// A trial's process group, stopped (SIGTERM, then SIGKILL after the grace period, to every
/// process left in it) when the evaluation leaves, however it leaves: no process of a trial
/// stays behind. While it runs, anneal's own end by a signal stops it too ([`cleanup`]).
pub(super) struct ProcessGroup<'c> {
    pub(super) child: &'c mut Child,
    grace: Duration,
    ended: bool,
    /// Dropped after `stop` (fields drop after `Drop::drop`), so it never outlives the group.
    _watchdog: Option<Watchdog>,
}

impl<'c> ProcessGroup<'c> {
    pub(super) fn new(child: &'c mut Child, grace: Duration) -> Self {
        let pid = child.id() as i32;
        crate::signals::register(pid);
        let watchdog = Watchdog::start(pid)
            .map_err(|e| tracing::warn!("no watchdog for trial process group {pid}: {e}"))
            .ok();
        Self {
            child,
            grace,
            ended: false,
            _watchdog: watchdog,
        }
    }

    pub(super) fn stop(&mut self) {
        if self.ended {
            return;
        }
        self.ended = true;
        let pid = self.child.id() as i32;
        let leader_running = !matches!(self.child.try_wait(), Ok(Some(_)));
        if leader_running || group_alive(pid) {
            signal_group(pid, Signal::Terminate);
            let deadline = Instant::now() + self.grace;
            while Instant::now() < deadline {
                if matches!(self.child.try_wait(), Ok(Some(_))) && !group_alive(pid) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            signal_group(pid, Signal::Kill);
            let _ = self.child.wait();
        }
        crate::signals::unregister(pid);
    }
}

impl Drop for ProcessGroup<'_> {
    fn drop(&mut self) {
        self.stop();
    }
}

pub(crate) enum Signal {
    Terminate,
    Kill,
}

#[cfg(unix)]
pub(crate) fn signal_group(pid: i32, signal: Signal) {
    let signal = match signal {
        Signal::Terminate => libc::SIGTERM,
        Signal::Kill => libc::SIGKILL,
    };
    // SAFETY: kill(2) with a negative pid signals that process group; no memory is involved.
    unsafe {
        libc::kill(-pid, signal);
    }
}

#[cfg(unix)]
fn group_alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the group exists.
    unsafe { libc::kill(-pid, 0) == 0 }
}

#[cfg(not(unix))]
pub(crate) fn signal_group(_pid: i32, _signal: Signal) {}

#[cfg(not(unix))]
fn group_alive(_pid: i32) -> bool {
    false
}

/// A process forked from anneal that kills a trial's process group when anneal dies, however
/// it dies. The trial's group leader also gets SIGKILL then (`PR_SET_PDEATHSIG`), but what the
/// leader started would live on, re-parented to init. The watchdog blocks reading a pipe whose
/// only writer is anneal: end of file with no word first means anneal is gone, and the group
/// goes. Dropping the watchdog (the trial is over) writes the word and reaps it. Hand-written:
/// no crate ties a process group to its parent's life, and a fork that only reads, kills and
/// exits is a few async-signal-safe calls.
#[cfg(target_os = "linux")]
pub(super) struct Watchdog {
    writer: libc::c_int,
    pid: libc::pid_t,
}

#[cfg(target_os = "linux")]
impl Watchdog {
    pub(super) fn start(group: i32) -> std::io::Result<Self> {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: pipe2 writes two descriptors into the array it is given.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let [reader, writer] = fds;
        // SAFETY: the child of a multithreaded process may only make async-signal-safe calls
        // before it exits; it makes only signal, close, read, kill and _exit, and touches no
        // memory but a byte on its own stack.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            unsafe {
                // The terminal's Ctrl-C is anneal's to handle; anneal's handlers (inherited
                // across the fork) are not this process's.
                libc::signal(libc::SIGINT, libc::SIG_IGN);
                libc::signal(libc::SIGTERM, libc::SIG_DFL);
                libc::signal(libc::SIGHUP, libc::SIG_DFL);
                libc::close(writer);
                let mut word = 0u8;
                let read = loop {
                    let n = libc::read(reader, (&raw mut word).cast(), 1);
                    if n >= 0 || *libc::__errno_location() != libc::EINTR {
                        break n;
                    }
                };
                if read == 0 {
                    libc::kill(-group, libc::SIGKILL);
                }
                libc::_exit(0);
            }
        }
        // SAFETY: closing this process's copy of the reading end.
        unsafe { libc::close(reader) };
        if pid < 0 {
            let error = std::io::Error::last_os_error();
            unsafe { libc::close(writer) };
            return Err(error);
        }
        Ok(Self { writer, pid })
    }
}

#[cfg(target_os = "linux")]
impl Drop for Watchdog {
    fn drop(&mut self) {
        // SAFETY: the descriptor and the child are this handle's; waitpid reaps only that child.
        unsafe {
            libc::write(self.writer, b"x".as_ptr().cast(), 1);
            libc::close(self.writer);
            libc::waitpid(self.pid, std::ptr::null_mut(), 0);
        }
    }
}

/// Elsewhere the group leader's own end is all there is.
#[cfg(not(target_os = "linux"))]
pub(super) struct Watchdog;

#[cfg(not(target_os = "linux"))]
impl Watchdog {
    pub(super) fn start(_group: i32) -> std::io::Result<Self> {
        Ok(Self)
    }
}
