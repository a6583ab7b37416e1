//! Uniformly random search.

use anneal_rng::SeededRng;

use super::{SampleContext, Sampler, random_value};
use crate::distribution::Value;
use crate::error::Result;
use crate::space::Param;

/// Draws every parameter uniformly (on the log scale for log ranges).
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomSampler;

impl Sampler for RandomSampler {
    fn name(&self) -> &str {
        "random"
    }

    fn serves_several_objectives(&self) -> bool {
        true
    }

    fn sample_independent(
        &self,
        _context: &SampleContext,
        param: &Param,
        rng: &mut SeededRng,
    ) -> Result<Value> {
        Ok(random_value(&param.distribution, rng))
    }
}
