//! The time a file or in-process storage measures leases by. PostgreSQL uses its server's
//! clock; the others ask a [`Clock`], the system's unless another is given, so tests of the
//! lease rules move time on instead of sleeping through it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Seconds since the Unix epoch, as a storage reads them.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now.
    fn now(&self) -> f64;
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> f64 {
        super::now()
    }
}

/// A clock that moves only when told to; clones share one time.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<Mutex<f64>>);

impl ManualClock {
    /// A clock standing at `seconds` since the epoch.
    pub fn at(seconds: f64) -> Self {
        Self(Arc::new(Mutex::new(seconds)))
    }

    /// Moves the clock on by `by`.
    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) += by.as_secs_f64();
    }
}

impl Clock for ManualClock {
    fn now(&self) -> f64 {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}
