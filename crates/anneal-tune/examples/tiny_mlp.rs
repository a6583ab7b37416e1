//! Tune a small neural network written in plain Rust (no framework): a one-hidden-layer MLP
//! learning two interleaved spirals. The objective suggests the learning rate, the hidden
//! width, the activation and (only for momentum SGD) the momentum, reports validation accuracy
//! after every epoch, and lets the median pruner stop hopeless trials.
//!
//! `cargo run -p anneal-tune --example tiny_mlp`

use anneal_tune::{BoxError, Direction, MedianPruner, Study, TpeSampler, Trial};
use rand::{RngExt, SeedableRng};

/// Two spirals, `n` points each, with labels 0 and 1.
fn spirals(n: usize, seed: u64) -> Vec<([f64; 2], usize)> {
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed);
    let mut points = Vec::with_capacity(2 * n);
    for i in 0..n {
        let t = 0.5 + 3.0 * i as f64 / n as f64;
        for label in 0..2 {
            let angle = t * 2.0 + label as f64 * std::f64::consts::PI;
            let mut noise = || 0.08 * (rng.random::<f64>() - 0.5);
            let (x, y) = (t * angle.cos() / 3.5, t * angle.sin() / 3.5);
            points.push(([x + noise(), y + noise()], label));
        }
    }
    points
}

struct Mlp {
    w1: Vec<[f64; 2]>,
    b1: Vec<f64>,
    w2: Vec<f64>,
    b2: f64,
    tanh: bool,
}

impl Mlp {
    fn new(hidden: usize, tanh: bool, seed: u64) -> Self {
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed);
        let mut init = |scale: f64| scale * (2.0 * rng.random::<f64>() - 1.0);
        Self {
            w1: (0..hidden).map(|_| [init(2.0), init(2.0)]).collect(),
            b1: (0..hidden).map(|_| init(1.0)).collect(),
            w2: (0..hidden)
                .map(|_| init(1.0 / (hidden as f64).sqrt()))
                .collect(),
            b2: 0.0,
            tanh,
        }
    }

    fn activate(&self, z: f64) -> (f64, f64) {
        if self.tanh {
            let a = z.tanh();
            (a, 1.0 - a * a)
        } else if z > 0.0 {
            (z, 1.0)
        } else {
            (0.0, 0.0)
        }
    }

    /// Hidden activations, their derivatives and the output probability.
    fn forward(&self, x: &[f64; 2]) -> (Vec<f64>, Vec<f64>, f64) {
        let (mut hidden, mut slopes) = (Vec::new(), Vec::new());
        let mut logit = self.b2;
        for ((w, b), v) in self.w1.iter().zip(&self.b1).zip(&self.w2) {
            let (a, da) = self.activate(w[0] * x[0] + w[1] * x[1] + b);
            logit += v * a;
            hidden.push(a);
            slopes.push(da);
        }
        (hidden, slopes, 1.0 / (1.0 + (-logit).exp()))
    }

    fn accuracy(&self, data: &[([f64; 2], usize)]) -> f64 {
        let right = data
            .iter()
            .filter(|(x, y)| usize::from(self.forward(x).2 > 0.5) == *y)
            .count();
        right as f64 / data.len() as f64
    }
}

/// One epoch of per-sample SGD with (optional) momentum on the cross-entropy loss.
fn train_epoch(
    model: &mut Mlp,
    velocity: &mut [f64],
    data: &[([f64; 2], usize)],
    lr: f64,
    momentum: f64,
) {
    let h = model.w1.len();
    for (x, y) in data {
        let (hidden, slopes, p) = model.forward(x);
        let d_logit = p - *y as f64;
        // Gradient layout: w1 (2h), b1 (h), w2 (h), b2 (1).
        let mut grad = vec![0.0; 4 * h + 1];
        for j in 0..h {
            let d_hidden = d_logit * model.w2[j] * slopes[j];
            grad[2 * j] = d_hidden * x[0];
            grad[2 * j + 1] = d_hidden * x[1];
            grad[2 * h + j] = d_hidden;
            grad[3 * h + j] = d_logit * hidden[j];
        }
        grad[4 * h] = d_logit;
        for (v, g) in velocity.iter_mut().zip(&grad) {
            *v = momentum * *v - lr * g;
        }
        for j in 0..h {
            model.w1[j][0] += velocity[2 * j];
            model.w1[j][1] += velocity[2 * j + 1];
            model.b1[j] += velocity[2 * h + j];
            model.w2[j] += velocity[3 * h + j];
        }
        model.b2 += velocity[4 * h];
    }
}

fn objective(trial: &mut Trial) -> Result<f64, BoxError> {
    let lr = trial.suggest_float_log("lr", 1e-3, 1.0)?;
    let hidden = trial.suggest_int_log("hidden", 4, 64)? as usize;
    let activation = trial.suggest_categorical("activation", &["tanh", "relu"])?;
    let optimizer = trial.suggest_categorical("optimizer", &["sgd", "momentum"])?;
    let momentum = match optimizer {
        "momentum" => trial.suggest_float("momentum", 0.5, 0.99)?,
        _ => 0.0,
    };
    let train = spirals(150, 0);
    let valid = spirals(60, 1);
    let mut model = Mlp::new(hidden, activation == "tanh", trial.seed());
    let mut velocity = vec![0.0; 4 * hidden + 1];
    let mut accuracy = 0.0;
    for epoch in 1..=30 {
        train_epoch(&mut model, &mut velocity, &train, lr, momentum);
        accuracy = model.accuracy(&valid);
        trial.report(epoch, accuracy)?;
    }
    Ok(accuracy)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let study = Study::builder()
        .name("spirals")
        .direction(Direction::Maximize)
        .sampler(TpeSampler::default())
        .pruner(MedianPruner {
            warmup_steps: 5,
            min_trials: 4,
        })
        .seed(7)
        .build()?;
    let outcome = study.optimize(24, objective)?;
    let count = |state| outcome.trials.iter().filter(|t| t.state == state).count();
    let best = study.best_trial()?.ok_or("no trial completed")?;
    let accuracy = best.value.unwrap_or(0.0);
    println!(
        "{} trials ({} pruned): best validation accuracy {:.1}% with {:?}",
        outcome.trials.len(),
        count(anneal_tune::TrialState::Pruned),
        accuracy * 100.0,
        best.params
    );
    if accuracy < 0.8 {
        return Err(format!("the best network should learn the spirals, got {accuracy}").into());
    }
    Ok(())
}

#[cfg(test)]
mod run {
    #[test]
    fn the_example_runs() {
        super::main().unwrap();
    }
}
