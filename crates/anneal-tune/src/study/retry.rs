//! Retrying a trial whose process died: a new trial takes its parameters, once per failed trial
//! (marked atomically in the storage) and up to the study's limit along one chain.

use super::Study;
use crate::distribution::Distribution;
use crate::error::Result;
use crate::space::Assignment;
use crate::storage::{TrialId, TrialRecord};

impl Study {
    /// Whether `trial` failed because its process died and may still be retried.
    pub(super) fn awaits_retry(&self, trial: &TrialRecord) -> bool {
        // A trial that died before any parameter was chosen has nothing to retry.
        self.retry_failed > 0
            && !trial.params.is_empty()
            && trial.process_died()
            && trial.retried_as.is_none()
    }

    /// For new trial `id`: the parameters of the oldest trial whose process died and whose
    /// chain of retries is shorter than the limit, once this process has marked it retried.
    pub(super) fn take_retry(
        &self,
        id: TrialId,
        trials: &[TrialRecord],
    ) -> Result<Option<(Assignment, Vec<(String, Distribution)>)>> {
        for candidate in trials.iter().filter(|t| self.awaits_retry(t)) {
            if retries_before(candidate.number, trials) >= self.retry_failed {
                continue;
            }
            let failed = TrialId {
                study: self.id(),
                number: candidate.number,
            };
            if self.storage.mark_retried(failed, id.number)? {
                return Ok(Some((
                    candidate.params.clone(),
                    candidate.distributions.clone(),
                )));
            }
        }
        Ok(None)
    }
}

/// How many retries led to trial `number`: the length of the chain of failed trials each
/// retried as the next one.
fn retries_before(number: usize, trials: &[TrialRecord]) -> usize {
    let mut count = 0;
    let mut current = number;
    while let Some(parent) = trials.iter().find(|t| t.retried_as == Some(current)) {
        count += 1;
        current = parent.number;
        if count > trials.len() {
            break;
        }
    }
    count
}
