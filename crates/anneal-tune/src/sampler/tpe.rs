//! TPE, tree-structured Parzen estimators (Bergstra et al., 2011) with Optuna's defaults: the
//! best γ(n) trials form a "good" density l(x) and the rest a "bad" one g(x); each suggestion is
//! the candidate drawn from l with the highest l(x)/g(x).

use anneal_rng::SeededRng;

use super::parzen::{Parzen, age_weights, sample_index};
use super::{Observation, SampleContext, Sampler, random_value};
use crate::distribution::{Distribution, Value};
use crate::error::Result;
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
            multivariate: false,
        }
    }
}

impl TpeSampler {
    /// The history split into the best γ(n) observations and the rest, each in trial order
    /// (which the age weights rely on).
    fn split<'h>(
        &self,
        history: &'h [Observation],
    ) -> (Vec<&'h Observation>, Vec<&'h Observation>) {
        let mut ranked: Vec<usize> = (0..history.len()).collect();
        ranked.sort_by(|&a, &b| history[a].loss.total_cmp(&history[b].loss));
        let n_good = gamma(history.len()).max(1);
        let mut good_flags = vec![false; history.len()];
        for &i in &ranked[..n_good.min(history.len())] {
            good_flags[i] = true;
        }
        let group = |want: bool| -> Vec<&Observation> {
            history
                .iter()
                .zip(&good_flags)
                .filter(|(_, g)| **g == want)
                .map(|(o, _)| o)
                .collect()
        };
        (group(true), group(false))
    }

    fn warming_up(&self, context: &SampleContext) -> bool {
        context.finished() < self.startup_trials || context.history.is_empty()
    }
}

impl Sampler for TpeSampler {
    fn name(&self) -> &str {
        "tpe"
    }

    fn sample_relative(
        &self,
        context: &SampleContext,
        space: &SearchSpace,
        rng: &mut SeededRng,
    ) -> Result<Option<Assignment>> {
        if !self.multivariate || self.warming_up(context) {
            return Ok(Some(Vec::new()));
        }
        let (good, bad) = self.split(context.history);
        Ok(Some(super::multivariate::suggest_joint(
            space,
            &good,
            &bad,
            self.candidates.max(1),
            self.prior_weight,
            rng,
        )))
    }

    fn sample_independent(
        &self,
        context: &SampleContext,
        param: &Param,
        rng: &mut SeededRng,
    ) -> Result<Value> {
        if self.warming_up(context) {
            return Ok(random_value(&param.distribution, rng));
        }
        let (good, bad) = self.split(context.history);
        Ok(tpe_value(
            param,
            &param.distribution,
            &good,
            &bad,
            self.candidates.max(1),
            self.prior_weight,
            rng,
        ))
    }
}

/// γ(n) = min(⌈0.1·n⌉, 25): how many of the best trials form the "good" density.
pub fn gamma(n: usize) -> usize {
    n.div_ceil(10).min(25)
}

fn tpe_value(
    param: &Param,
    distribution: &Distribution,
    good: &[&Observation],
    bad: &[&Observation],
    candidates: usize,
    prior_weight: f64,
    rng: &mut SeededRng,
) -> Value {
    if let Distribution::Fixed(v) = distribution {
        return v.clone();
    }
    // Each group's values of this parameter, from the trials where it was active.
    let values = |group: &[&Observation]| -> Vec<Value> {
        group
            .iter()
            .filter_map(|o| lookup(&o.assignment, &param.name))
            .cloned()
            .collect()
    };
    let (good, bad) = (values(good), values(bad));
    match distribution {
        Distribution::Categorical(choices) => {
            let weights = |group: &[Value]| -> Vec<f64> {
                let ages = age_weights(group.len());
                let mut w = vec![prior_weight / choices.len() as f64; choices.len()];
                for (v, age) in group.iter().zip(ages) {
                    if let Some(i) = choices.iter().position(|c| c == v) {
                        w[i] += age;
                    }
                }
                let total: f64 = w.iter().sum();
                w.iter().map(|x| x / total).collect()
            };
            let (l, g) = (weights(&good), weights(&bad));
            let mut best = (f64::NEG_INFINITY, 0);
            for _ in 0..candidates {
                let i = sample_index(&l, rng);
                let score = l[i].ln() - g[i].ln();
                if score > best.0 {
                    best = (score, i);
                }
            }
            choices[best.1].clone()
        }
        d => {
            let unit = |group: &[Value]| -> Vec<f64> {
                group.iter().filter_map(|v| d.to_unit(v)).collect()
            };
            let l = Parzen::fit(&unit(&good), prior_weight);
            let g = Parzen::fit(&unit(&bad), prior_weight);
            let mut best = (f64::NEG_INFINITY, 0.5);
            for _ in 0..candidates {
                let x = l.sample(rng);
                let score = l.log_pdf(x) - g.log_pdf(x);
                if score > best.0 {
                    best = (score, x);
                }
            }
            d.from_unit(best.1)
        }
    }
}
