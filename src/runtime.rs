//! Options of the commands that load data or compute: where the bundled datasets are and how
//! many CPU threads the backends use. Only those commands take them.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

/// `--data-dir`.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Folder of bundled datasets (default: $ANNEAL_DATA_DIR, ./datasets, or the source tree's).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// `--threads`.
#[derive(Debug, Clone, Args)]
pub struct ThreadArgs {
    /// CPU threads for the CPU backends' compute (default: all cores). With parallel trials or
    /// several runs on one machine, 1 thread each avoids oversubscription.
    #[arg(long, global = true, value_name = "N")]
    pub threads: Option<usize>,
}

impl ThreadArgs {
    /// Sizes the thread pool Burn's CPU backends run their parallel loops on.
    pub fn apply(&self) -> Result<()> {
        if let Some(threads) = self.threads {
            anyhow::ensure!(threads > 0, "--threads must be at least 1");
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build_global()
                .map_err(|e| anyhow::anyhow!("cannot set up {threads} threads: {e}"))?;
        }
        Ok(())
    }
}
