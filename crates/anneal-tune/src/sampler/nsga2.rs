//! NSGA-II (Deb, Pratap, Agarwal & Meyarivan 2002) with Optuna's defaults: a population of
//! 50, uniform crossover of two parents chosen by binary tournament (probability 0.9, each
//! parameter swapped with probability 0.5), and mutation by drawing a parameter afresh at
//! random (probability 1/n per parameter). Constraints rank by constraint-domination: a trial
//! that meets its constraints beats one that does not, and of two that miss, the nearer miss
//! wins.
//!
//! Generations are replayed from the study's history, so every worker on every host agrees on
//! them: the complete trials, in number order, fill generation after generation of
//! `population` trials; the parents of generation g are the elite (the best fronts, the last
//! one thinned by crowding distance) of generation g − 1 together with its own parents. The
//! first generation is drawn at random.

use anneal_rng::SeededRng;
use rand::RngExt;

#[cfg(test)]
use super::SampleMemo;
use super::{Observation, SampleContext, Sampler, Seen};
use crate::distribution::Value;
use crate::error::{Result, TuneError};
use crate::pareto::{crowding_distances, dominates, nondominated_ranks};
use crate::space::{Assignment, Param, SearchSpace, lookup};

/// NSGA-II: evolves a population by crossover and mutation, keeping the best fronts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Nsga2Sampler {
    /// Trials per generation, at least 2.
    pub population: usize,
    /// The chance a child is crossed from two parents rather than copied from one.
    pub crossover_prob: f64,
    /// The chance each parameter comes from the second parent in a crossover.
    pub swapping_prob: f64,
    /// The chance each parameter is drawn afresh at random; `None`: 1 / the number of
    /// parameters.
    pub mutation_prob: Option<f64>,
}

impl Default for Nsga2Sampler {
    fn default() -> Self {
        Self {
            population: 50,
            crossover_prob: 0.9,
            swapping_prob: 0.5,
            mutation_prob: None,
        }
    }
}

impl Nsga2Sampler {
    /// Refuses settings NSGA-II cannot work with, naming the field.
    pub fn validate(&self) -> Result<()> {
        if self.population < 2 {
            return Err(TuneError::config(
                "sampler.population",
                format!(
                    "{} is too small: a population needs at least 2 trials",
                    self.population
                ),
            ));
        }
        let probabilities = [
            ("sampler.crossover_prob", Some(self.crossover_prob)),
            ("sampler.swapping_prob", Some(self.swapping_prob)),
            ("sampler.mutation_prob", self.mutation_prob),
        ];
        for (field, p) in probabilities {
            if let Some(p) = p.filter(|p| !(0.0..=1.0).contains(p)) {
                return Err(TuneError::config(
                    field,
                    format!("{p} is not a probability; give a number in [0, 1]"),
                ));
            }
        }
        Ok(())
    }

    /// The parents the next child is bred from: the elite carried through every full
    /// generation of the complete trials so far (none in the first generation).
    fn parents<'h>(&self, history: &'h [Observation]) -> Vec<Member<'h>> {
        let complete: Vec<Member> = history
            .iter()
            .filter(|o| o.seen == Seen::Complete)
            .map(Member::of)
            .collect();
        let mut parents: Vec<Member> = Vec::new();
        for generation in complete.chunks_exact(self.population) {
            let mut pool = parents;
            pool.extend_from_slice(generation);
            parents = self.elite(pool);
        }
        parents
    }

    /// The `population` best of `pool`: whole fronts while they fit, then the least crowded
    /// of the front that does not.
    fn elite<'h>(&self, pool: Vec<Member<'h>>) -> Vec<Member<'h>> {
        let losses: Vec<Vec<f64>> = pool.iter().map(|m| m.losses.clone()).collect();
        let violations: Vec<f64> = pool.iter().map(|m| m.violation).collect();
        let constrained = violations.iter().any(|&v| v > 0.0);
        let ranks = nondominated_ranks(&losses, constrained.then_some(&violations[..]));
        let mut elite = Vec::with_capacity(self.population);
        let deepest = ranks.iter().copied().max().unwrap_or(0);
        for rank in 0..=deepest {
            let front: Vec<usize> = (0..pool.len()).filter(|&i| ranks[i] == rank).collect();
            if elite.len() + front.len() <= self.population {
                elite.extend(front.iter().map(|&i| pool[i].clone()));
                continue;
            }
            let points: Vec<&[f64]> = front.iter().map(|&i| &losses[i][..]).collect();
            let distance = crowding_distances(&points);
            let mut order: Vec<usize> = (0..front.len()).collect();
            // Least crowded first; ties keep trial order, so every worker picks the same.
            order.sort_by(|&a, &b| distance[b].total_cmp(&distance[a]));
            let room = self.population - elite.len();
            elite.extend(order.into_iter().take(room).map(|k| pool[front[k]].clone()));
            break;
        }
        elite
    }

    /// Binary tournament: of two members drawn at random, the one that constraint-dominates
    /// the other (the second when neither does, as Optuna).
    fn tournament<'p, 'h>(
        &self,
        candidates: &[&'p Member<'h>],
        rng: &mut SeededRng,
    ) -> &'p Member<'h> {
        let a = candidates[rng.random_range(0..candidates.len())];
        let b = candidates[rng.random_range(0..candidates.len())];
        if a.beats(b) { a } else { b }
    }
}

/// A complete trial as a member of a population.
#[derive(Debug, Clone)]
struct Member<'h> {
    assignment: &'h Assignment,
    losses: Vec<f64>,
    violation: f64,
}

impl<'h> Member<'h> {
    fn of(o: &'h Observation) -> Self {
        Self {
            assignment: &o.assignment,
            losses: match o.losses.is_empty() {
                true => vec![o.loss],
                false => o.losses.clone(),
            },
            violation: o.violation,
        }
    }

    /// Constraint-domination (Deb 2000): meeting the constraints beats missing them, the
    /// nearer of two misses wins, and between two that meet them Pareto domination decides.
    fn beats(&self, other: &Member) -> bool {
        match (self.violation > 0.0, other.violation > 0.0) {
            (false, false) => dominates(&self.losses, &other.losses),
            (false, true) => true,
            (true, false) => false,
            (true, true) => self.violation < other.violation,
        }
    }
}

impl Sampler for Nsga2Sampler {
    fn name(&self) -> &str {
        "nsga2"
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
        let parents = self.parents(context.history);
        if parents.is_empty() || space.params.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let chosen: Vec<&Member> = if rng.random::<f64>() < self.crossover_prob && parents.len() > 1
        {
            // Two distinct parents, each the winner of a tournament among those left.
            let mut left: Vec<&Member> = parents.iter().collect();
            let first = self.tournament(&left, rng);
            left.retain(|m| !std::ptr::eq(*m, first));
            let second = self.tournament(&left, rng);
            vec![first, second]
        } else {
            vec![&parents[rng.random_range(0..parents.len())]]
        };
        let mutation = self
            .mutation_prob
            .unwrap_or(1.0 / space.params.len() as f64);
        let mut child = Vec::with_capacity(space.params.len());
        for param in &space.params {
            let from = match chosen.len() {
                1 => chosen[0],
                _ if rng.random::<f64>() >= self.swapping_prob => chosen[0],
                _ => chosen[1],
            };
            // A mutated parameter is left out, to be drawn afresh at random.
            if rng.random::<f64>() < mutation {
                continue;
            }
            if let Some(value) = lookup(from.assignment, &param.name) {
                child.push((param.name.clone(), value.clone()));
            }
        }
        Ok(Some(child))
    }

    /// A mutated parameter, or one no parent has: drawn at random.
    fn sample_independent(
        &self,
        context: &SampleContext,
        param: &Param,
        rng: &mut SeededRng,
    ) -> Result<Value> {
        super::RandomSampler.sample_independent(context, param, rng)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(x: f64, losses: &[f64], violation: f64) -> Observation {
        Observation {
            losses: losses.to_vec(),
            violation,
            ..Observation::complete(vec![("x".into(), Value::from(x))], losses[0])
        }
    }

    #[test]
    fn the_elite_keeps_whole_fronts_then_the_least_crowded_of_the_next() {
        let sampler = Nsga2Sampler {
            population: 4,
            ..Nsga2Sampler::default()
        };
        let history = [
            member(0.0, &[0.0, 4.0], 0.0),
            member(1.0, &[4.0, 0.0], 0.0),
            member(2.0, &[1.0, 5.0], 0.0),
            member(3.0, &[2.0, 4.5], 0.0),
            member(4.0, &[4.5, 2.0], 0.0),
            member(5.0, &[5.0, 1.0], 0.0),
            // Best of all on both objectives, but it misses a constraint.
            member(6.0, &[-1.0, -1.0], 3.0),
            member(7.0, &[9.0, 9.0], 0.0),
        ];
        let parents = sampler.parents(&history);
        let xs: Vec<f64> = parents
            .iter()
            .map(|m| lookup(m.assignment, "x").unwrap().as_f64().unwrap())
            .collect();
        // Front 0 is {0, 1}; front 1 is {2, 3, 4, 5}, thinned to its two ends (2 and 5).
        assert_eq!(xs.len(), 4);
        assert!(xs.contains(&0.0) && xs.contains(&1.0), "{xs:?}");
        assert!(xs.contains(&2.0) && xs.contains(&5.0), "{xs:?}");
        assert!(!xs.contains(&6.0), "the infeasible trial ranks last");
    }

    #[test]
    fn the_first_generation_is_random_and_children_come_from_parents() {
        let sampler = Nsga2Sampler {
            population: 2,
            mutation_prob: Some(0.0),
            ..Nsga2Sampler::default()
        };
        let space = SearchSpace {
            params: vec![Param {
                name: "x".into(),
                distribution: crate::Distribution::Float {
                    low: 0.0,
                    high: 10.0,
                    log: false,
                },
                when: Default::default(),
                per_layer: None,
            }],
        };
        let one = [member(1.0, &[1.0, 2.0], 0.0)];
        let memo = SampleMemo::default();
        let context = |history| SampleContext {
            history,
            number: 9,
            seed: 0,
            rungs: false,
            memo: &memo,
        };
        let mut rng = anneal_rng::derive_rng(0, "test", 0);
        let first = sampler
            .sample_relative(&context(&one), &space, &mut rng)
            .unwrap();
        assert_eq!(first, Some(Vec::new()), "no full generation yet");
        let two = [member(1.0, &[1.0, 2.0], 0.0), member(3.0, &[2.0, 1.0], 0.0)];
        for _ in 0..20 {
            let child = sampler
                .sample_relative(&context(&two), &space, &mut rng)
                .unwrap()
                .unwrap();
            let x = child[0].1.as_f64().unwrap();
            assert!(x == 1.0 || x == 3.0, "{x} is one of the parents' values");
        }
    }

    #[test]
    fn bad_settings_name_their_field() {
        let small = Nsga2Sampler {
            population: 1,
            ..Nsga2Sampler::default()
        };
        assert!(
            small
                .validate()
                .unwrap_err()
                .to_string()
                .contains("sampler.population")
        );
        let odd = Nsga2Sampler {
            swapping_prob: 1.5,
            ..Nsga2Sampler::default()
        };
        assert!(
            odd.validate()
                .unwrap_err()
                .to_string()
                .contains("sampler.swapping_prob")
        );
    }
}
