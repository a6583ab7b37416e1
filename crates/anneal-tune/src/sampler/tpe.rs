//! TPE, tree-structured Parzen estimators (Bergstra et al., 2011), as Optuna 5 runs it: the
//! best γ(n) trials form a "good" density l(x) and the rest a "bad" one g(x); each suggestion
//! is the candidate drawn from l with the highest l(x)/g(x). By default the parameters every
//! trial has are modelled jointly (one product kernel per trial), so interactions are learnt.
//!
//! Under a multi-fidelity pruner (ASHA, Hyperband) most trials stop early, and ranking every
//! complete trial above every stopped one compares results at different budgets. There TPE
//! does what BOHB (Falkner et al., 2018) does: it models the trials' values at one rung, the
//! highest that enough trials reached. Under other pruners (median) a stopped trial was
//! stopped for losing, so complete trials rank first, as in Optuna.
//!
//! Failed and diverged trials are in the bad group and do not count in n: they say where not
//! to look, not how many good points there are.

use anneal_rng::SeededRng;

#[cfg(test)]
use super::SampleMemo;
use super::parzen::{ParzenEstimator, Point, assignment_of, coordinate, value_of};
use super::{Observation, SampleContext, Sampler, Seen, joint_params, random_value, sobol_point};
use crate::distribution::{Distribution, Value};
use crate::error::Result;
use crate::pareto::{hypervolume, nondominated_ranks};
use crate::space::{Assignment, Param, SearchSpace, lookup};

/// The TPE sampler; [`super::SamplerConfig::Tpe`] documents the settings.
#[derive(Debug, Clone, PartialEq)]
pub struct TpeSampler {
    /// Random trials before the densities are used.
    pub startup_trials: usize,
    /// Candidates drawn from l(x) per suggestion.
    pub candidates: usize,
    /// Weight of the broad prior kernel in each density.
    pub prior_weight: f64,
    /// Model the parameters every finished trial has jointly.
    pub multivariate: bool,
}

impl Default for TpeSampler {
    fn default() -> Self {
        Self {
            startup_trials: 10,
            candidates: 24,
            prior_weight: 1.0,
            multivariate: true,
        }
    }
}

/// γ(n) = min(⌈0.1·n⌉, 25): how many of the best trials form the "good" density.
pub fn gamma(n: usize) -> usize {
    n.div_ceil(10).min(25)
}

/// The step whose values TPE models when trials stopped early at a multi-fidelity pruner's
/// rungs: the highest step at least `needed` finished trials reached. `None` when no trial
/// stopped early (every finished trial ran its full budget, so final values compare fairly) or
/// no step has enough trials.
pub fn modelled_rung(history: &[Observation], needed: usize) -> Option<usize> {
    let finished = || {
        history
            .iter()
            .filter(|o| matches!(o.seen, Seen::Complete | Seen::Stopped | Seen::Paused))
    };
    if !finished().any(|o| matches!(o.seen, Seen::Stopped | Seen::Paused)) {
        return None;
    }
    let mut reached: Vec<usize> = finished()
        .filter_map(|o| o.curve.last().map(|&(step, _)| step))
        .collect();
    reached.sort_unstable_by(|a, b| b.cmp(a));
    // The k-th highest last step is reached by at least k trials.
    reached.get(needed.max(1) - 1).copied()
}

/// The history split into the good and the bad group, each in trial order (which the age
/// weights rely on). Trials still running elsewhere are bad and not counted in n, as Optuna's
/// constant liar does: they spread parallel suggestions without posing as good results; so are
/// failed ones. `rungs`: the pruner stops trials at rungs, so BOHB's per-rung model applies.
fn split<'h>(
    context: &SampleContext<'h>,
    dims: usize,
) -> (Vec<&'h Observation>, Vec<&'h Observation>) {
    let (history, rungs) = (context.history, context.rungs);
    let mut good = vec![false; history.len()];
    let ranked = |o: &Observation| matches!(o.seen, Seen::Complete | Seen::Stopped | Seen::Paused);
    // BOHB's model needs d + 1 points, plus two, at a budget before it is trusted.
    match modelled_rung(history, dims + 3).filter(|_| rungs) {
        Some(step) => {
            let mut at_rung: Vec<(usize, f64)> = history
                .iter()
                .enumerate()
                .filter(|(_, o)| ranked(o))
                .filter_map(|(i, o)| o.loss_at(step).map(|loss| (i, loss)))
                .collect();
            at_rung.sort_by(|a, b| a.1.total_cmp(&b.1));
            for &(i, _) in at_rung.iter().take(gamma(at_rung.len()).max(1)) {
                good[i] = true;
            }
        }
        None if history.iter().any(|o| !o.losses.is_empty()) => {
            let chosen = context
                .memo
                .good
                .get_or_init(|| several_objectives_good(history));
            for &i in chosen {
                good[i] = true;
            }
        }
        None => {
            // Complete trials by value, then stopped ones by how far they got and their value
            // there (Optuna's order).
            let mut order: Vec<usize> = (0..history.len())
                .filter(|&i| ranked(&history[i]))
                .collect();
            let key = |o: &Observation| match (o.seen, o.curve.last()) {
                (Seen::Complete, _) => (0, 0, o.loss),
                (_, Some(&(step, loss))) => (1, usize::MAX - step, loss),
                (_, None) => (2, 0, o.loss),
            };
            order.sort_by(|&a, &b| {
                let (x, y) = (key(&history[a]), key(&history[b]));
                x.0.cmp(&y.0).then(x.1.cmp(&y.1)).then(x.2.total_cmp(&y.2))
            });
            for &i in order.iter().take(gamma(order.len()).max(1)) {
                good[i] = true;
            }
        }
    }
    // A trial whose process died says nothing about its point: in neither group.
    let group = |want: bool| -> Vec<&Observation> {
        history
            .iter()
            .zip(&good)
            .filter(|(o, g)| **g == want && o.seen != Seen::Died)
            .map(|(o, _)| o)
            .collect()
    };
    (group(true), group(false))
}

/// The good group of a study with several objectives (Optuna's multi-objective TPE, Ozaki et
/// al. 2020/2022): ⌈0.1·n⌉ of the n finished trials, the complete ones taken front by front
/// (constraint-domination: trials that meet their constraints first, then the nearer misses),
/// and of the front that does not fit whole, the subset whose hypervolume is greatest (greedy
/// hypervolume subset selection, within 1 − 1/e of the best).
fn several_objectives_good(history: &[Observation]) -> Vec<usize> {
    let finished = history
        .iter()
        .filter(|o| matches!(o.seen, Seen::Complete | Seen::Stopped | Seen::Paused))
        .count();
    let wanted = finished.div_ceil(10).max(1);
    let complete: Vec<usize> = (0..history.len())
        .filter(|&i| history[i].seen == Seen::Complete && !history[i].losses.is_empty())
        .collect();
    let losses: Vec<Vec<f64>> = complete
        .iter()
        .map(|&i| history[i].losses.clone())
        .collect();
    let violations: Vec<f64> = complete.iter().map(|&i| history[i].violation).collect();
    let constrained = violations.iter().any(|&v| v > 0.0);
    let ranks = nondominated_ranks(&losses, constrained.then_some(&violations[..]));
    let mut good = Vec::with_capacity(wanted);
    let deepest = ranks.iter().copied().max().unwrap_or(0);
    for rank in 0..=deepest {
        let front: Vec<usize> = (0..complete.len()).filter(|&k| ranks[k] == rank).collect();
        if good.len() + front.len() <= wanted {
            good.extend(front.iter().map(|&k| complete[k]));
            continue;
        }
        let room = wanted - good.len();
        // Infeasible trials of one rank missed by the same amount: taken in trial order.
        let chosen = match front.iter().all(|&k| violations[k] <= 0.0) {
            true => hypervolume_subset(
                &front.iter().map(|&k| &losses[k][..]).collect::<Vec<_>>(),
                room,
            ),
            false => (0..room).collect(),
        };
        good.extend(chosen.into_iter().map(|j| complete[front[j]]));
        break;
    }
    good
}

/// `k` of `points` whose hypervolume is greatest, chosen greedily (each pick adds the most
/// volume to those before), against Optuna's reference point: 1.1 times each objective's
/// worst value among the points (0.9 times where that is negative; 10⁻¹² where it is 0).
/// Lazily (Minoux 1978): what a point adds only shrinks as picks accumulate, so a point's last
/// computed gain bounds its gain now, and only the point with the highest bound is recomputed
/// until it stays highest.
fn hypervolume_subset(points: &[&[f64]], k: usize) -> Vec<usize> {
    let Some(objectives) = points.first().map(|p| p.len()) else {
        return Vec::new();
    };
    let reference: Vec<f64> = (0..objectives)
        .map(|m| {
            let worst = points
                .iter()
                .map(|p| p[m])
                .fold(f64::NEG_INFINITY, f64::max);
            match (1.1 * worst).max(0.9 * worst) {
                0.0 => 1e-12,
                r => r,
            }
        })
        .collect();
    let own = |p: &[f64]| -> f64 {
        p.iter()
            .zip(&reference)
            .map(|(x, r)| (r - x).max(0.0))
            .product()
    };
    // What `p` adds to `kept`: its own box less what the kept points cover of it.
    let gain = |p: &[f64], kept: &[Vec<f64>]| -> f64 {
        let limited: Vec<Vec<f64>> = kept
            .iter()
            .map(|q| q.iter().zip(p).map(|(a, b)| a.max(*b)).collect())
            .collect();
        own(p) - hypervolume(&limited, &reference)
    };
    let mut bound: Vec<f64> = points.iter().map(|p| own(p)).collect();
    let mut fresh = vec![true; points.len()];
    let mut chosen: Vec<usize> = Vec::with_capacity(k);
    let mut kept: Vec<Vec<f64>> = Vec::with_capacity(k);
    while chosen.len() < k.min(points.len()) {
        loop {
            // The highest bound; ties go to the older trial.
            let top = (0..points.len())
                .filter(|j| !chosen.contains(j))
                .fold(None, |best: Option<usize>, j| match best {
                    Some(b) if bound[b] >= bound[j] => Some(b),
                    _ => Some(j),
                })
                .expect("a point is left");
            if fresh[top] {
                chosen.push(top);
                kept.push(points[top].to_vec());
                fresh.iter_mut().for_each(|f| *f = false);
                break;
            }
            bound[top] = gain(points[top], &kept);
            fresh[top] = true;
        }
    }
    chosen
}

impl TpeSampler {
    fn warming_up(&self, context: &SampleContext) -> bool {
        context.finished() < self.startup_trials.max(1)
    }

    /// The candidate drawn from l with the highest l(x)/g(x), over `params` jointly.
    fn best_candidate(
        &self,
        params: &[&Param],
        context: &SampleContext,
        rng: &mut SeededRng,
    ) -> Point {
        let (good, bad) = split(context, params.len());
        // A trial enters a density when it has a value for every modelled parameter.
        let points = |group: &[&Observation]| -> Vec<Point> {
            group
                .iter()
                .filter_map(|o| {
                    params
                        .iter()
                        .map(|p| coordinate(p, lookup(&o.assignment, &p.name)?))
                        .collect()
                })
                .collect()
        };
        let l = ParzenEstimator::fit(params, &points(&good), self.prior_weight);
        let g = ParzenEstimator::fit(params, &points(&bad), self.prior_weight);
        let mut best = (f64::NEG_INFINITY, Vec::new());
        for _ in 0..self.candidates.max(1) {
            let x = l.sample(params, rng);
            let score = l.log_pdf(&x) - g.log_pdf(&x);
            if score > best.0 || best.1.is_empty() {
                best = (score, x);
            }
        }
        best.1
    }
}

impl Sampler for TpeSampler {
    fn name(&self) -> &str {
        "tpe"
    }

    fn serves_several_objectives(&self) -> bool {
        true
    }

    fn sample_relative(
        &self,
        context: &SampleContext,
        space: &SearchSpace,
        rng: &mut SeededRng,
    ) -> Result<Option<Assignment>> {
        let params = joint_params(space);
        if params.is_empty() {
            return Ok(Some(Vec::new()));
        }
        if self.warming_up(context) {
            return Ok(Some(sobol_point(&params, context.seed, context.number)));
        }
        if !self.multivariate {
            return Ok(Some(Vec::new()));
        }
        let x = self.best_candidate(&params, context, rng);
        Ok(Some(assignment_of(&params, &x)))
    }

    fn sample_independent(
        &self,
        context: &SampleContext,
        param: &Param,
        rng: &mut SeededRng,
    ) -> Result<Value> {
        if let Distribution::Fixed(v) = &param.distribution {
            return Ok(v.clone());
        }
        if self.warming_up(context) {
            return Ok(random_value(&param.distribution, rng));
        }
        let x = self.best_candidate(&[param], context, rng);
        Ok(value_of(param, x[0]))
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_good_group_is_a_tenth_of_the_trials_up_to_25() {
        assert_eq!(
            [gamma(1), gamma(10), gamma(11), gamma(100), gamma(500)],
            [1, 1, 2, 10, 25]
        );
    }

    use super::*;

    fn context<'h>(
        history: &'h [Observation],
        rungs: bool,
        memo: &'h SampleMemo,
    ) -> SampleContext<'h> {
        SampleContext {
            history,
            number: history.len(),
            seed: 0,
            rungs,
            memo,
        }
    }

    fn observation(x: f64, curve: &[(usize, f64)], stopped: bool) -> Observation {
        Observation {
            assignment: vec![("x".into(), Value::from(x))],
            loss: curve.last().map_or(0.0, |c| c.1),
            seen: if stopped {
                Seen::Stopped
            } else {
                Seen::Complete
            },
            curve: curve.to_vec(),
            ..Observation::complete(Vec::new(), 0.0)
        }
    }

    #[test]
    fn the_modelled_rung_is_the_highest_enough_trials_reached() {
        let mut history: Vec<Observation> = (0..6)
            .map(|i| observation(i as f64, &[(1, 1.0), (2, 0.9), (3, 0.8)], true))
            .collect();
        history.extend(
            (0..3).map(|i| observation(i as f64, &[(1, 1.0), (3, 0.8), (6, 0.5), (9, 0.4)], false)),
        );
        assert_eq!(modelled_rung(&history, 4), Some(3));
        assert_eq!(modelled_rung(&history, 3), Some(9));
        assert_eq!(modelled_rung(&history, 10), None);
        // Without a stopped trial, final values are compared.
        history.retain(|o| o.seen != Seen::Stopped);
        assert_eq!(modelled_rung(&history, 1), None);
    }

    #[test]
    fn at_a_rung_the_good_group_is_the_best_there_not_the_longest_run() {
        // Nine trials stopped at step 3; the best of them (x = 4) beats the one that ran on.
        let mut history: Vec<Observation> = (0..9)
            .map(|i| observation(i as f64, &[(3, (i as f64 - 4.0).abs())], true))
            .collect();
        history.push(observation(8.0, &[(3, 3.5), (9, 0.1)], false));
        let memo = SampleMemo::default();
        let (good, _) = split(&context(&history, true, &memo), 1);
        assert_eq!(good.len(), 1);
        assert_eq!(good[0].assignment[0].1, Value::from(4.0));
        // Under a pruner without rungs (median) the stopped trials lost: the one that ran its
        // full budget is the good one, whatever the others' values at step 3.
        let (good, _) = split(&context(&history, false, &memo), 1);
        assert_eq!(good.len(), 1);
        assert_eq!(good[0].assignment[0].1, Value::from(8.0));
    }

    #[test]
    fn failed_and_running_trials_are_bad_and_do_not_count_in_n() {
        let mut history: Vec<Observation> = (0..10)
            .map(|i| observation(i as f64, &[(9, i as f64)], false))
            .collect();
        for (x, seen) in [
            (20.0, Seen::Failed),
            (21.0, Seen::Failed),
            (22.0, Seen::Pending),
        ] {
            history.push(Observation {
                seen,
                loss: -1.0, // whatever it says, it is never good
                ..observation(x, &[], false)
            });
        }
        let memo = SampleMemo::default();
        let (good, bad) = split(&context(&history, false, &memo), 1);
        // γ(10) = 1 of the ten ranked trials is good: the failures do not make it 2.
        assert_eq!(good.len(), 1);
        assert_eq!(good[0].assignment[0].1, Value::from(0.0));
        assert_eq!(bad.len(), 12);
    }

    #[test]
    fn with_several_objectives_the_good_group_is_the_front_then_the_most_volume() {
        let points: [&[f64]; 4] = [&[0.0, 4.0], &[1.0, 1.0], &[4.0, 0.0], &[2.0, 2.0]];
        // Against (4.4, 4.4): (1, 1) covers 11.56 alone, more than any other point.
        assert_eq!(hypervolume_subset(&points, 1), vec![1]);
        // Twenty trials want two good ones: the front {0, 1, 2} is too big, so the greedy
        // subset of it; the dominated (2, 2) never enters.
        let mut history: Vec<Observation> = points
            .iter()
            .map(|p| Observation {
                losses: p.to_vec(),
                ..Observation::complete(Vec::new(), p[0])
            })
            .collect();
        history.extend((0..16).map(|_| Observation {
            losses: vec![9.0, 9.0],
            ..Observation::complete(Vec::new(), 9.0)
        }));
        let good = several_objectives_good(&history);
        assert_eq!(good.len(), 2);
        assert!(good.contains(&1) && !good.contains(&3), "{good:?}");
    }
}
