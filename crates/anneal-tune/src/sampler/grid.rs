//! Grid search over a declared space.

use std::collections::HashSet;

use anneal_rng::SeededRng;

use super::{Observation, SampleContext, Sampler, Seen, layer_count};
use crate::distribution::{Distribution, Value};
use crate::error::{Result, TuneError};
use crate::space::{Assignment, Param, SearchSpace, nest_layers};

/// Tries every point of a declared space, in order. Each trial takes the first point no
/// trial holds (finished, running or failed), so parallel workers take different points; once
/// none is left, a point whose trials all failed is retried (the one that failed least often
/// first) while it has failed at most `failed_point_retries` times. The study ends when
/// nothing is left.
#[derive(Debug, Clone)]
pub struct GridSampler {
    points: Vec<Assignment>,
    failed_point_retries: usize,
}

impl GridSampler {
    /// The grid of `space`, with `points` values per float range (and at most that many per int
    /// range); a failed point is retried once.
    pub fn new(space: &SearchSpace, points: usize) -> Result<Self> {
        if points == 0 {
            return Err(TuneError::config(
                "sampler.points",
                "0 values per range gives no grid; give at least 1",
            ));
        }
        Ok(Self {
            points: grid(space, points),
            failed_point_retries: 1,
        })
    }

    /// Retry a failed point up to `retries` times, after every untried point (0: never).
    pub fn failed_point_retries(mut self, retries: usize) -> Self {
        self.failed_point_retries = retries;
        self
    }

    /// The grid's points, in the order trials take them.
    pub fn points(&self) -> &[Assignment] {
        &self.points
    }
}

impl Sampler for GridSampler {
    fn name(&self) -> &str {
        "grid"
    }

    fn serves_several_objectives(&self) -> bool {
        true
    }

    fn sample_relative(
        &self,
        context: &SampleContext,
        _space: &SearchSpace,
        _rng: &mut SeededRng,
    ) -> Result<Option<Assignment>> {
        // Finished and running trials hold their points for good; failed ones only count.
        let (failed, held): (Vec<&Observation>, Vec<&Observation>) = context
            .history
            .iter()
            .partition(|o| matches!(o.seen, Seen::Failed | Seen::Died));
        let held: Vec<Assignment> = held.iter().map(|o| canonical(&o.assignment)).collect();
        let failed: Vec<Assignment> = failed.iter().map(|o| canonical(&o.assignment)).collect();
        let mut retry: Option<(usize, &Assignment)> = None;
        for point in self.points.iter().filter(|p| !held.contains(&canonical(p))) {
            let failures = failed.iter().filter(|a| **a == canonical(point)).count();
            if failures == 0 {
                return Ok(Some(point.clone()));
            }
            if failures <= self.failed_point_retries && retry.is_none_or(|(n, _)| failures < n) {
                retry = Some((failures, point));
            }
        }
        Ok(retry.map(|(_, point)| point.clone()))
    }

    fn sample_independent(
        &self,
        _context: &SampleContext,
        param: &Param,
        _rng: &mut SeededRng,
    ) -> Result<Value> {
        match &param.distribution {
            Distribution::Fixed(v) => Ok(v.clone()),
            _ => Err(TuneError::config(
                &param.name,
                "is not a parameter of the grid's search space (a grid samples only the space it was built from)",
            )),
        }
    }
}

/// A point as the grid compares it: per-layer values nested into their lists, and the
/// parameters in name order, since a trial records them in the order they were set (a joint
/// draw at claim, then what the objective asked for).
fn canonical(assignment: &Assignment) -> Assignment {
    let mut nested = nest_layers(assignment);
    nested.sort_by(|a, b| a.0.cmp(&b.0));
    nested
}

/// The grid's points in order; conditional parameters appear only where active, and
/// combinations that differ only in inactive parameters appear once. No values per range
/// (`points` 0) gives no points.
pub fn grid(space: &SearchSpace, points: usize) -> Vec<Assignment> {
    if points == 0 {
        return Vec::new();
    }
    let axes: Vec<Vec<Value>> = space
        .params
        .iter()
        .map(|p| match &p.distribution {
            Distribution::Fixed(v) => vec![v.clone()],
            Distribution::Categorical(choices) => choices.clone(),
            Distribution::Int {
                low, high, step, ..
            } if ((high - low) / step + 1) as usize <= points => (0..=(high - low) / step)
                .map(|k| Value::from(low + k * step))
                .collect(),
            d => {
                let mut values: Vec<Value> = (0..points)
                    .map(|k| {
                        d.from_unit(if points == 1 {
                            0.5
                        } else {
                            k as f64 / (points - 1) as f64
                        })
                    })
                    .collect();
                values.dedup();
                values
            }
        })
        .collect();
    let mut out: Vec<Assignment> = Vec::new();
    let mut seen = HashSet::new();
    let mut index = vec![0usize; axes.len()];
    loop {
        let mut chosen: Assignment = Vec::new();
        for (k, param) in space.params.iter().enumerate() {
            if SearchSpace::is_active(param, &chosen) {
                let value = axes[k][index[k]].clone();
                // A per-layer list on a grid: one value for every layer.
                let value = match &param.per_layer {
                    Some(size) => Value::Array(vec![value; layer_count(&chosen, size)]),
                    None => value,
                };
                chosen.push((param.name.clone(), value));
            }
        }
        if seen.insert(format!("{chosen:?}")) {
            out.push(chosen);
        }
        // Odometer increment, last parameter fastest.
        let mut k = axes.len();
        loop {
            if k == 0 {
                return out;
            }
            k -= 1;
            index[k] += 1;
            if index[k] < axes[k].len() {
                break;
            }
            index[k] = 0;
        }
    }
}
