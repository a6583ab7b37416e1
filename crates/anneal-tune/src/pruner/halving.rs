//! Asynchronous successive halving (Li et al., 2020), the rule Hyperband's brackets share.

use super::{Decision, PruneQuery, Pruner, PrunerContext, Settlement, furthest_first, paused};
use crate::direction::Direction;
use crate::error::{Result, TuneError};
use crate::storage::{TrialRecord, TrialState};

/// Where a trial stands at a successive-halving rung.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RungVerdict {
    /// The step is not a rung: nothing to decide.
    NotARung,
    /// It ranks in the best ⌊n/η⌋ of the n trials at the rung: it goes on.
    Promote,
    /// Not (yet) promotable: it waits, paused, or stops where it cannot pause.
    Wait,
}

/// Successive-halving verdict at `step`. `others` are the values other trials reported at that
/// step. A trial is promotable when it ranks in the best ⌊n/η⌋ of the `n` trials at the rung,
/// itself included (ASHA's rule): the first η − 1 arrivals never are, so they wait (paused)
/// until later arrivals show whether they belong to the best third.
pub fn successive_halving(
    step: usize,
    value: f64,
    others: &[f64],
    first_rung: usize,
    eta: usize,
    direction: Direction,
) -> RungVerdict {
    let eta = eta.max(2);
    let mut rung = first_rung.max(1);
    while rung < step {
        // A step past every rung a usize holds is on none.
        let Some(next) = rung.checked_mul(eta) else {
            return RungVerdict::NotARung;
        };
        rung = next;
    }
    if rung != step {
        return RungVerdict::NotARung;
    }
    if !value.is_finite() {
        return RungVerdict::Wait;
    }
    let finite = || others.iter().filter(|v| v.is_finite());
    let better = finite().filter(|&&v| direction.better(v, value)).count();
    let reached = finite().count() + 1;
    match better >= reached / eta {
        true => RungVerdict::Wait,
        false => RungVerdict::Promote,
    }
}

/// Turns a rung verdict into a decision. A trial that cannot pause gets Optuna's rule for the
/// first arrivals instead: it goes on if nothing at the rung beats it, else it stops.
pub(crate) fn rung_decision(
    verdict: RungVerdict,
    query: &PruneQuery,
    others: &[f64],
    direction: Direction,
) -> Decision {
    match verdict {
        RungVerdict::NotARung | RungVerdict::Promote => Decision::Continue,
        RungVerdict::Wait if query.can_pause => Decision::Pause,
        RungVerdict::Wait => {
            let beaten = !query.value.is_finite()
                || others
                    .iter()
                    .any(|&v| v.is_finite() && direction.better(v, query.value));
            if beaten {
                Decision::Prune
            } else {
                Decision::Continue
            }
        }
    }
}

/// ASHA: one bracket, rungs at `min_resource · η^k` steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AshaPruner {
    /// Steps of the first rung.
    pub min_resource: usize,
    /// η: each rung keeps about 1/η of the trials.
    pub reduction_factor: usize,
}

impl Default for AshaPruner {
    fn default() -> Self {
        Self {
            min_resource: 1,
            reduction_factor: 3,
        }
    }
}

/// ASHA's and Hyperband's shared settings: a first rung of at least one step, and η ≥ 2 (the
/// rules clamp other values, which would run another pruner than the one asked for).
pub(crate) fn check_rungs(min_resource: usize, reduction_factor: usize) -> Result<()> {
    if min_resource == 0 {
        return Err(TuneError::config(
            "pruner.min_resource",
            "0 steps is no rung: the first rung needs at least 1 step",
        ));
    }
    if reduction_factor < 2 {
        return Err(TuneError::config(
            "pruner.reduction_factor",
            format!(
                "{reduction_factor} is no reduction factor η (each rung keeps about 1/η of the trials): give at least 2"
            ),
        ));
    }
    Ok(())
}

/// What ASHA and Hyperband share: a first rung and competitors per trial (a bracket).
pub(crate) trait Rungs {
    fn eta(&self) -> usize;
    /// The first rung of trial `number`'s bracket.
    fn first_rung(&self, seed: u64, number: usize) -> usize;
    /// The bracket trial `number` competes in.
    fn bracket(&self, seed: u64, number: usize) -> usize;
}

impl Rungs for AshaPruner {
    fn eta(&self) -> usize {
        self.reduction_factor
    }
    fn first_rung(&self, _: u64, _: usize) -> usize {
        self.min_resource
    }
    fn bracket(&self, _: u64, _: usize) -> usize {
        0
    }
}

/// Values at `step` of the other trials in trial `number`'s bracket.
fn competitors(
    rungs: &impl Rungs,
    step: usize,
    number: usize,
    context: &PrunerContext,
) -> Result<Vec<f64>> {
    let bracket = rungs.bracket(context.seed, number);
    Ok(context
        .others_at(step, number)?
        .into_iter()
        .filter(|v| rungs.bracket(context.seed, v.number) == bracket)
        .map(|v| v.value)
        .collect())
}

pub(crate) fn decide(
    rungs: &impl Rungs,
    query: &PruneQuery,
    context: &PrunerContext,
) -> Result<Decision> {
    let first = rungs.first_rung(context.seed, query.number);
    // Only steps on the rung grid need the others' values.
    if successive_halving(
        query.step,
        query.value,
        &[],
        first,
        rungs.eta(),
        context.direction,
    ) == RungVerdict::NotARung
    {
        return Ok(Decision::Continue);
    }
    let others = competitors(rungs, query.step, query.number, context)?;
    let verdict = successive_halving(
        query.step,
        query.value,
        &others,
        first,
        rungs.eta(),
        context.direction,
    );
    Ok(rung_decision(verdict, query, &others, context.direction))
}

/// The promotable paused trial from the highest rung, the best value breaking ties.
pub(crate) fn next_promotion(
    rungs: &impl Rungs,
    trials: &[TrialRecord],
    context: &PrunerContext,
) -> Option<usize> {
    let promotable = paused(trials).filter(|t| {
        t.last_step().is_some_and(|(step, value)| {
            let bracket = rungs.bracket(context.seed, t.number);
            let others: Vec<f64> = trials
                .iter()
                .filter(|o| o.number != t.number)
                .filter(|o| rungs.bracket(context.seed, o.number) == bracket)
                .filter_map(|o| o.intermediate.iter().find(|(s, _)| *s == step))
                .map(|(_, v)| *v)
                .collect();
            successive_halving(
                step,
                value,
                &others,
                rungs.first_rung(context.seed, t.number),
                rungs.eta(),
                context.direction,
            ) == RungVerdict::Promote
        })
    });
    furthest_first(context.direction, promotable).map(|t| t.number)
}

/// As in Hyperband's synchronous form, where every bracket's successive halving ends with a
/// trial trained to the end, a bracket (ASHA's only one) with no complete trial yet continues
/// its best paused trial of the highest rung; so a study or bracket too small for ⌊n/η⌋ ≥ 1 at
/// its top rungs still finishes its most promising trial. The other paused trials are pruned.
pub(crate) fn settle(
    rungs: &impl Rungs,
    trials: &[TrialRecord],
    context: &PrunerContext,
) -> Settlement {
    let bracket = |t: &TrialRecord| rungs.bracket(context.seed, t.number);
    let finished: std::collections::HashSet<usize> = trials
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .map(bracket)
        .collect();
    let unfinished = paused(trials).filter(|t| !finished.contains(&bracket(t)));
    match furthest_first(context.direction, unfinished) {
        Some(trial) => Settlement::Continue(trial.number),
        None => Settlement::Prune(paused(trials).map(|t| t.number).collect()),
    }
}

impl Pruner for AshaPruner {
    fn name(&self) -> &str {
        "asha"
    }

    fn decide(&self, query: &PruneQuery, context: &PrunerContext) -> Result<Decision> {
        decide(self, query, context)
    }

    fn next_promotion(&self, trials: &[TrialRecord], context: &PrunerContext) -> Option<usize> {
        next_promotion(self, trials, context)
    }

    fn settle(&self, trials: &[TrialRecord], context: &PrunerContext) -> Settlement {
        settle(self, trials, context)
    }

    fn has_rungs(&self) -> bool {
        true
    }

    fn validate(&self) -> Result<()> {
        check_rungs(self.min_resource, self.reduction_factor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn successive_halving_promotes_the_best_third_of_each_rung() {
        // η = 3, first rung at epoch 1: rungs at 1, 3, 9; other epochs decide nothing.
        assert_eq!(
            successive_halving(2, 0.5, &[], 1, 3, Direction::Maximize),
            RungVerdict::NotARung
        );
        assert_eq!(
            successive_halving(4, 0.5, &[], 1, 3, Direction::Maximize),
            RungVerdict::NotARung
        );
        // Trials reach rung 1 one after another (maximising). Promotable means in the best ⌊n/3⌋
        // of the n trials there so far, itself included: the first two never are (they pause),
        // the third is if it leads, and so on. `true` = not promotable (yet): it waits.
        let arrivals = [0.5, 0.4, 0.7, 0.6, 0.8, 0.3, 0.75];
        let expected = [true, true, false, true, false, true, false];
        for (k, (&value, &held)) in arrivals.iter().zip(&expected).enumerate() {
            let others = &arrivals[..k];
            assert_eq!(
                successive_halving(1, value, others, 1, 3, Direction::Maximize),
                if held {
                    RungVerdict::Wait
                } else {
                    RungVerdict::Promote
                },
                "arrival {k} ({value}) with {others:?}"
            );
        }
        // Re-checked once all seven are in, the paused ones stay paused: 0.5 and 0.6 are not in
        // the best two (0.8, 0.75)... but with two more weak arrivals (n = 9, best three) 0.7 is.
        let all = |except: f64| {
            arrivals
                .iter()
                .copied()
                .filter(|&v| v != except)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            successive_halving(1, 0.6, &all(0.6), 1, 3, Direction::Maximize),
            RungVerdict::Wait
        );
        let mut nine = all(0.7);
        nine.extend([0.1, 0.2]);
        assert_eq!(
            successive_halving(1, 0.7, &nine, 1, 3, Direction::Maximize),
            RungVerdict::Promote
        );
        // The same at rung 3 (and minimising flips the order).
        assert_eq!(
            successive_halving(3, 0.2, &[0.3, 0.4], 1, 3, Direction::Minimize),
            RungVerdict::Promote
        );
        assert_eq!(
            successive_halving(3, 0.35, &[0.3, 0.4], 1, 3, Direction::Minimize),
            RungVerdict::Wait
        );
    }
}
