//! Standard output that a closed pipe ends quietly. `anneal study show | head -1` closes the
//! pipe after one line; like other Unix tools, anneal then stops writing and exits without an
//! error, and a running sweep stops claiming trials (the trial that was running is recorded
//! first, so the study stays consistent).

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);
static FAILED: AtomicBool = AtomicBool::new(false);

/// Writes `args` (and a newline when `newline`) to standard output; after a write fails
/// (the reader went away) it writes nothing more.
pub fn write(args: std::fmt::Arguments, newline: bool) {
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    let written = if newline {
        writeln!(out, "{args}")
    } else {
        write!(out, "{args}")
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            CLOSED.store(true, Ordering::Relaxed)
        }
        // Another failure (a full disk) is not a reader going away: say so once, go on.
        Err(e) => {
            if !FAILED.swap(true, Ordering::Relaxed) {
                eprintln!("warning: cannot write to standard output: {e}");
            }
        }
    }
}

/// Whether standard output has closed.
pub fn closed() -> bool {
    CLOSED.load(Ordering::Relaxed)
}

/// `println!` that a closed pipe does not panic.
#[macro_export]
macro_rules! outln {
    () => {
        $crate::output::write(format_args!(""), true)
    };
    ($($arg:tt)*) => {
        $crate::output::write(format_args!($($arg)*), true)
    };
}

/// `print!` that a closed pipe does not panic.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::write(format_args!($($arg)*), false)
    };
}
