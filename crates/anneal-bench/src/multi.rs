//! Multi-objective sampler quality: the hypervolume a sampler's trials reach on standard test
//! problems (ZDT1 and ZDT2 of Zitzler, Deb & Thiele 2000; DTLZ2 of Deb, Thiele, Laumanns &
//! Zitzler 2002; the constrained C2-DTLZ2 of Jain & Deb 2014), all minimised on [0, 1]^n, and
//! the time one suggestion takes.

use std::f64::consts::FRAC_PI_2;

use anneal_tune::{
    Direction, MemoryStorage, RandomSampler, SamplerConfig, SearchSpace, Study, Trial, TrialRecord,
    TrialState, hypervolume,
};
use serde::Serialize;

use crate::{BenchError, Result};

/// A test problem with several objectives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// ZDT1: two objectives, 30 variables, a convex front.
    Zdt1,
    /// ZDT2: two objectives, 30 variables, a concave front.
    Zdt2,
    /// DTLZ2: three objectives, 12 variables, the front a sphere's octant.
    Dtlz2,
    /// C2-DTLZ2: DTLZ2 where only points near the front's corners or centre are feasible
    /// (radius 0.4).
    C2Dtlz2,
}

/// Every problem, in the order the bench reports them.
pub const PROBLEMS: [Problem; 4] = [
    Problem::Zdt1,
    Problem::Zdt2,
    Problem::Dtlz2,
    Problem::C2Dtlz2,
];

impl Problem {
    /// The problem's name, as the command line takes it.
    pub fn name(self) -> &'static str {
        match self {
            Problem::Zdt1 => "zdt1",
            Problem::Zdt2 => "zdt2",
            Problem::Dtlz2 => "dtlz2",
            Problem::C2Dtlz2 => "c2dtlz2",
        }
    }

    /// The problem named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        PROBLEMS.into_iter().find(|p| p.name() == name)
    }

    /// Variables, each in [0, 1].
    pub fn variables(self) -> usize {
        match self {
            Problem::Zdt1 | Problem::Zdt2 => 30,
            Problem::Dtlz2 | Problem::C2Dtlz2 => 12,
        }
    }

    /// Objectives, all minimised.
    pub fn objectives(self) -> usize {
        match self {
            Problem::Zdt1 | Problem::Zdt2 => 2,
            Problem::Dtlz2 | Problem::C2Dtlz2 => 3,
        }
    }

    /// The hypervolume's reference point: (1.1, 11) for ZDT, (1.1, 1.1, 1.1) for DTLZ2.
    pub fn reference(self) -> Vec<f64> {
        match self {
            Problem::Zdt1 | Problem::Zdt2 => vec![1.1, 11.0],
            Problem::Dtlz2 | Problem::C2Dtlz2 => vec![1.1; 3],
        }
    }

    /// The objective values at `x` and the constraint values (each met at or below 0).
    pub fn evaluate(self, x: &[f64]) -> (Vec<f64>, Vec<f64>) {
        match self {
            Problem::Zdt1 | Problem::Zdt2 => {
                let f1 = x[0];
                let g = 1.0 + 9.0 * x[1..].iter().sum::<f64>() / (x.len() - 1) as f64;
                let ratio = f1 / g;
                let h = match self {
                    Problem::Zdt1 => 1.0 - ratio.sqrt(),
                    _ => 1.0 - ratio * ratio,
                };
                (vec![f1, g * h], Vec::new())
            }
            Problem::Dtlz2 | Problem::C2Dtlz2 => {
                let m = self.objectives();
                let g: f64 = x[m - 1..].iter().map(|v| (v - 0.5).powi(2)).sum();
                let f: Vec<f64> = (0..m)
                    .map(|i| {
                        let cosines: f64 = x[..m - 1 - i]
                            .iter()
                            .map(|v| (v * FRAC_PI_2).cos())
                            .product();
                        let sine = if i == 0 {
                            1.0
                        } else {
                            (x[m - 1 - i] * FRAC_PI_2).sin()
                        };
                        (1.0 + g) * cosines * sine
                    })
                    .collect();
                let constraints = match self {
                    Problem::C2Dtlz2 => vec![c2_constraint(&f, 0.4)],
                    _ => Vec::new(),
                };
                (f, constraints)
            }
        }
    }
}

/// C2-DTLZ2's constraint (Jain & Deb 2014), met at or below 0: the point lies within `r` of
/// one of the unit corners, or of the front's centre 1/√M on every axis.
fn c2_constraint(f: &[f64], r: f64) -> f64 {
    let m = f.len();
    let total: f64 = f.iter().map(|v| v * v).sum();
    let corner = (0..m)
        .map(|i| total - f[i] * f[i] + (f[i] - 1.0).powi(2) - r * r)
        .fold(f64::INFINITY, f64::min);
    let centre_axis = 1.0 / (m as f64).sqrt();
    let centre: f64 = f.iter().map(|v| (v - centre_axis).powi(2)).sum::<f64>() - r * r;
    corner.min(centre)
}

/// What one study of the benchmark gave.
#[derive(Debug, Clone, Serialize)]
pub struct MultiRun {
    /// The hypervolume of the feasible complete trials among the first k, for each k asked.
    pub hypervolume: Vec<(usize, f64)>,
}

/// The variables' search space: x0 … x(n−1), each in [0, 1].
fn space(problem: Problem) -> Result<SearchSpace> {
    let specs: Vec<anneal_tune::ParamSpec> = (0..problem.variables())
        .map(|i| {
            toml::from_str(&format!("name = \"x{i}\"\nfloat = [0.0, 1.0]"))
                .map_err(|e| BenchError::Setting(e.to_string()))
        })
        .collect::<Result<_>>()?;
    Ok(SearchSpace::from_specs(&specs)?)
}

/// Suggests a point and evaluates it, recording its constraints.
fn evaluate(
    problem: Problem,
    space: &SearchSpace,
    trial: &mut Trial,
) -> anneal_tune::Result<Vec<f64>> {
    let point = trial.suggest_space(space)?;
    let x: Vec<f64> = point
        .iter()
        .map(|(_, v)| v.as_f64().unwrap_or(f64::NAN))
        .collect();
    let (values, constraints) = problem.evaluate(&x);
    if !constraints.is_empty() {
        trial.set_constraints(&constraints)?;
    }
    Ok(values)
}

/// A study of `problem` with `sampler` and study seed `seed`, in memory.
fn study(
    problem: Problem,
    sampler: &SamplerConfig,
    seed: u64,
    space: &SearchSpace,
) -> Result<Study> {
    Ok(Study::builder()
        .name(format!("{}-{seed}", problem.name()))
        .storage(MemoryStorage::new())
        .directions(&vec![Direction::Minimize; problem.objectives()])
        .sampler(sampler.init(Some(space))?)
        .search_space(space.clone())
        .seed(seed)
        .build()?)
}

/// Runs one study of the largest of `at` trials, and measures the hypervolume after each.
pub fn run_multi(
    problem: Problem,
    sampler: &SamplerConfig,
    seed: u64,
    at: &[usize],
) -> Result<MultiRun> {
    let space = space(problem)?;
    let study = study(problem, sampler, seed, &space)?;
    let evaluations = at.iter().copied().max().unwrap_or(0);
    let outcome = study.optimize(evaluations, |trial| Ok(evaluate(problem, &space, trial)?))?;
    let reference = problem.reference();
    Ok(MultiRun {
        hypervolume: at
            .iter()
            .map(|&k| {
                (
                    k,
                    front_volume(&outcome.trials[..k.min(outcome.trials.len())], &reference),
                )
            })
            .collect(),
    })
}

/// The hypervolume of the feasible complete trials of `trials`.
pub fn front_volume(trials: &[TrialRecord], reference: &[f64]) -> f64 {
    let points: Vec<Vec<f64>> = trials
        .iter()
        .filter(|t| t.state == TrialState::Complete && t.is_feasible())
        .map(|t| t.values.clone())
        .collect();
    hypervolume(&points, reference)
}

/// Milliseconds one more trial of `problem` takes to get its point from `sampler` with
/// `history` random complete trials in the study (mean of `rounds`).
pub fn suggestion_ms(
    problem: Problem,
    sampler: &SamplerConfig,
    history: usize,
    rounds: usize,
) -> Result<f64> {
    let space = space(problem)?;
    let storage = std::sync::Arc::new(MemoryStorage::new());
    let directions = vec![Direction::Minimize; problem.objectives()];
    let filled = Study::builder()
        .name("overhead")
        .storage(storage.clone())
        .directions(&directions)
        .sampler(RandomSampler)
        .build()?;
    filled.optimize(history, |trial| Ok(evaluate(problem, &space, trial)?))?;
    let timed = Study::builder()
        .name("overhead")
        .storage(storage)
        .directions(&directions)
        .sampler(sampler.init(Some(&space))?)
        .build()?;
    crate::sampler::time_suggestions(&timed, &space, rounds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_problems_fronts_are_where_the_literature_puts_them() {
        // ZDT1 on its front (g = 1): f2 = 1 − √f1.
        let mut x = vec![0.0; 30];
        x[0] = 0.25;
        assert_eq!(Problem::Zdt1.evaluate(&x).0, vec![0.25, 0.5]);
        assert_eq!(Problem::Zdt2.evaluate(&x).0, vec![0.25, 1.0 - 0.0625]);
        // DTLZ2 on its front (the distance variables at 0.5) lies on the unit sphere.
        let mut y = vec![0.5; 12];
        y[0] = 0.3;
        y[1] = 0.8;
        let f = Problem::Dtlz2.evaluate(&y).0;
        let radius: f64 = f.iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!((radius - 1.0).abs() < 1e-12, "{f:?}");
        // C2-DTLZ2: the front's centre (0.5, 0.5, 0.71) is feasible; (0.27, 0.85, 0.45) lies
        // between the centre and every corner, and is not.
        let centre = Problem::C2Dtlz2.evaluate(&vec![0.5; 12]);
        assert!(centre.1[0] <= 0.0, "{centre:?}");
        let between = Problem::C2Dtlz2.evaluate(&y);
        assert!(between.1[0] > 0.0, "{between:?}");
        // A point at the origin covers the whole box up to the reference (1.1, 11).
        assert!((hypervolume(&[vec![0.0, 0.0]], &Problem::Zdt1.reference()) - 12.1).abs() < 1e-12);
    }

    #[test]
    fn nsga2_covers_more_of_zdt1_than_its_first_random_generation() {
        let nsga2: SamplerConfig = toml::from_str("kind = \"nsga2\"").unwrap();
        let run = run_multi(Problem::Zdt1, &nsga2, 0, &[50, 300]).unwrap();
        let (early, late) = (run.hypervolume[0].1, run.hypervolume[1].1);
        assert!(
            late > early,
            "hypervolume {early} after 50 trials, {late} after 300"
        );
    }
}
