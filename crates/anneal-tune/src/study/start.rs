//! How a claimed trial gets its parameters: a retried trial's, or the sampler's joint draw,
//! recorded at once so other workers see the point as taken.

use super::{Study, history};
use crate::error::Result;
use crate::sampler::{Observation, SampleContext, SampleMemo};
use crate::storage::{ChosenParam, TrialId, TrialRecord};
use crate::trial::Trial;

impl Study {
    /// Samples trial `id`'s joint parameters from the snapshot `trials` (or takes a dead
    /// trial's, to retry it); `None` (and the claim released) when the sampler is exhausted.
    pub(crate) fn start(&self, id: TrialId, trials: &[TrialRecord]) -> Result<Option<Trial<'_>>> {
        let history = history::observations(trials, id.number, self.directions());
        let memo = SampleMemo::default();
        let mut rng = self.sampler_rng(id.number);
        // What is recorded now, not when the objective asks, so that another worker sampling
        // meanwhile sees this trial's point and does not propose it again: a retried trial's
        // parameters, and the joint draw from a declared space (every trial sets its
        // unconditional parameters). A space inferred from earlier trials may hold parameters
        // this trial will not ask for (define-by-run), so those wait for the objective.
        let (relative, distributions) = match self.take_retry(id, trials)? {
            Some(retried) => retried,
            None => {
                let space = match &self.space {
                    Some(declared) => declared.clone(),
                    None => history::relative_space(trials),
                };
                let context = self.sample_context(&history, id.number, &memo);
                let Some(relative) = self.sampler.sample_relative(&context, &space, &mut rng)?
                else {
                    self.storage.release(id)?;
                    return Ok(None);
                };
                let declared = match self.space {
                    Some(_) => space.params.iter(),
                    None => [].iter(),
                };
                let distributions = declared
                    .map(|p| (p.name.clone(), p.distribution.clone()))
                    .collect();
                (relative, distributions)
            }
        };
        let recorded: Vec<ChosenParam> = relative
            .iter()
            .filter_map(|(name, value)| {
                let (_, distribution) = distributions.iter().find(|(n, _)| n == name)?;
                distribution.contains(value).then(|| ChosenParam {
                    name: name.clone(),
                    value: value.clone(),
                    distribution: distribution.clone(),
                })
            })
            .collect();
        if !recorded.is_empty() {
            self.storage.set_params(id, &recorded)?;
        }
        Ok(Some(Trial::new(
            self, id, rng, history, memo, relative, recorded,
        )))
    }

    /// What the sampler is told when it samples trial `number` with `history`.
    pub(crate) fn sample_context<'h>(
        &self,
        history: &'h [Observation],
        number: usize,
        memo: &'h SampleMemo,
    ) -> SampleContext<'h> {
        SampleContext {
            history,
            number,
            seed: self.seed(),
            rungs: self.pruner.has_rungs(),
            memo,
        }
    }
}
