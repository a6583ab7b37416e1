//! Output warping: the GP models the losses after a Yeo–Johnson power transform whose λ is
//! fitted by maximum likelihood (as HEBO does, and BoTorch's power transforms), so a few huge
//! losses (a diverged run, a steep valley wall) do not flatten the model everywhere else. The
//! transform is monotone, so the best trial stays the best.

/// The losses standardised, warped with the maximum-likelihood λ, and standardised again.
pub(crate) fn warp(losses: &[f64]) -> Vec<f64> {
    let z = standardise(losses);
    let lambda = fit_lambda(&z);
    standardise(
        &z.iter()
            .map(|&v| yeo_johnson(v, lambda))
            .collect::<Vec<_>>(),
    )
}

fn standardise(values: &[f64]) -> Vec<f64> {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n)
        .sqrt()
        .max(1e-12);
    values.iter().map(|v| (v - mean) / sd).collect()
}

/// The Yeo–Johnson transform of `y` with power `lambda`.
pub(crate) fn yeo_johnson(y: f64, lambda: f64) -> f64 {
    if y >= 0.0 {
        if lambda.abs() < 1e-9 {
            y.ln_1p()
        } else {
            ((y + 1.0).powf(lambda) - 1.0) / lambda
        }
    } else if (lambda - 2.0).abs() < 1e-9 {
        -(-y).ln_1p()
    } else {
        -((1.0 - y).powf(2.0 - lambda) - 1.0) / (2.0 - lambda)
    }
}

/// The profile log-likelihood of λ under a normal model of the transformed values.
fn log_likelihood(values: &[f64], lambda: f64) -> f64 {
    let n = values.len() as f64;
    let t: Vec<f64> = values.iter().map(|&v| yeo_johnson(v, lambda)).collect();
    let mean = t.iter().sum::<f64>() / n;
    let var = (t.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).max(1e-300);
    let jacobian: f64 = values.iter().map(|&v| v.signum() * v.abs().ln_1p()).sum();
    -0.5 * n * var.ln() + (lambda - 1.0) * jacobian
}

/// The maximum-likelihood λ in [−2, 4], by golden-section search (the profile likelihood is
/// unimodal in practice; one dimension needs no more machinery).
fn fit_lambda(values: &[f64]) -> f64 {
    let (mut a, mut b) = (-2.0f64, 4.0f64);
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    let mut c = b - ratio * (b - a);
    let mut d = a + ratio * (b - a);
    let (mut fc, mut fd) = (log_likelihood(values, c), log_likelihood(values, d));
    for _ in 0..60 {
        if fc > fd {
            b = d;
            d = c;
            fd = fc;
            c = b - ratio * (b - a);
            fc = log_likelihood(values, c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + ratio * (b - a);
            fd = log_likelihood(values, d);
        }
    }
    0.5 * (a + b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warping_keeps_the_order_and_tames_a_heavy_tail() {
        // Log-normal losses: a long upper tail.
        let losses: Vec<f64> = (0..60).map(|i| ((i as f64 - 30.0) / 8.0).exp()).collect();
        let warped = warp(&losses);
        assert!(warped.windows(2).all(|w| w[1] > w[0]), "monotone");
        let skew = |v: &[f64]| {
            let z = standardise(v);
            z.iter().map(|x| x.powi(3)).sum::<f64>() / z.len() as f64
        };
        let (before, after) = (skew(&losses), skew(&warped));
        assert!(before > 2.0);
        assert!(
            after.abs() < before / 2.5,
            "skew {before} before, {after} after"
        );
        // Already-normal-looking values are left nearly linear (λ ≈ 1).
        let even: Vec<f64> = (0..41).map(|i| i as f64 / 10.0 - 2.0).collect();
        assert!((fit_lambda(&even) - 1.0).abs() < 0.3);
    }
}
