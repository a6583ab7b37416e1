//! A study's heartbeat: a thread that renews the leases of the trials its handle runs, so
//! other processes on the same study never take them over.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use crate::storage::LeasedStorage;

/// Renews this handle's leases every quarter lease until dropped.
pub(super) struct Heartbeat {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Heartbeat {
    pub(super) fn start(storage: Arc<LeasedStorage>) -> Self {
        let (stop, stopped) = mpsc::channel::<()>();
        let interval = (storage.lease() / 4).max(Duration::from_millis(10));
        let thread = std::thread::Builder::new()
            .name("anneal-heartbeat".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                    if let Err(e) = storage.heartbeat() {
                        tracing::warn!("cannot renew trial leases: {e}");
                    }
                }
            })
            .ok();
        Self {
            stop: Some(stop),
            thread,
        }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
