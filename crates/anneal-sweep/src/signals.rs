//! How a sweep answers signals. The first Ctrl-C (SIGINT) asks for a graceful stop: no trial
//! starts after it, the running ones end as interrupted by the user ([`interrupted`] tells
//! them), and the summary is printed. A second Ctrl-C, SIGTERM or SIGHUP ends anneal at once,
//! killing the process groups of its command trials first: a trial's program is in its own
//! process group, so the terminal's signals do not reach it by themselves.

use std::sync::Once;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

use crate::command::process::{Signal, signal_group};

/// One slot per trial running at once in this process (one, in practice).
static GROUPS: [AtomicI32; 16] = [const { AtomicI32::new(0) }; 16];

/// Ctrl-Cs received.
static INTERRUPTS: AtomicUsize = AtomicUsize::new(0);

pub(crate) fn register(pid: i32) {
    for slot in &GROUPS {
        if slot
            .compare_exchange(0, pid, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            return;
        }
    }
}

pub(crate) fn unregister(pid: i32) {
    for slot in &GROUPS {
        let _ = slot.compare_exchange(pid, 0, Ordering::SeqCst, Ordering::SeqCst);
    }
}

/// Kills every registered group at once (no grace: anneal is going away).
pub fn stop_all() {
    for slot in &GROUPS {
        let pid = slot.swap(0, Ordering::SeqCst);
        if pid > 0 {
            signal_group(pid, Signal::Kill);
        }
    }
}

/// Whether the user asked for a graceful stop (the first Ctrl-C).
pub fn interrupted() -> bool {
    INTERRUPTS.load(Ordering::SeqCst) > 0
}

/// Installs, once, the handlers for SIGINT, SIGTERM and SIGHUP.
pub fn install() {
    #[cfg(unix)]
    {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            for (signal, handler) in [
                (libc::SIGINT, on_interrupt as extern "C" fn(libc::c_int)),
                (libc::SIGTERM, on_signal),
                (libc::SIGHUP, on_signal),
            ] {
                // SAFETY: sigaction with a null new action only reads the current one; the
                // handlers only touch atomics and call kill, signal and raise, which are
                // async-signal-safe.
                unsafe {
                    let mut current: libc::sigaction = std::mem::zeroed();
                    libc::sigaction(signal, std::ptr::null(), &mut current);
                    // A signal someone chose to ignore (`nohup`) stays ignored, and one with
                    // its own handler keeps it.
                    if current.sa_sigaction == libc::SIG_DFL {
                        libc::signal(signal, handler as *const () as libc::sighandler_t);
                    }
                }
            }
        });
    }
    #[cfg(not(unix))]
    let _ = Once::new;
}

#[cfg(unix)]
extern "C" fn on_interrupt(signal: libc::c_int) {
    if INTERRUPTS.fetch_add(1, Ordering::SeqCst) == 0 {
        return; // the first: the sweep stops gracefully
    }
    on_signal(signal);
}

#[cfg(unix)]
extern "C" fn on_signal(signal: libc::c_int) {
    stop_all();
    // SAFETY: restoring the default action and re-raising are async-signal-safe.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
    }
}
