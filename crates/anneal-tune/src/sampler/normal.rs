//! The normal distribution's maths the samplers share: density, distribution function (through
//! `pxfm`'s correctly rounded `erfc`, which stays accurate far into the tails) and truncated
//! draws on the unit interval.

use anneal_rng::SeededRng;
use rand::RngExt;
use rand_distr::StandardNormal;

/// ln √(2π).
pub(crate) const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;

/// The standard normal density φ(z).
pub(crate) fn pdf(z: f64) -> f64 {
    (-0.5 * z * z - LN_SQRT_2PI).exp()
}

/// The standard normal distribution function Φ(z).
pub(crate) fn cdf(z: f64) -> f64 {
    0.5 * pxfm::f_erfc(-z / std::f64::consts::SQRT_2)
}

/// A standard normal draw.
pub(crate) fn draw(rng: &mut SeededRng) -> f64 {
    rng.sample(StandardNormal)
}

/// A draw from N(mu, sigma²) truncated to [0, 1], by rejection; the kernels used here keep at
/// least a third of their mass inside, so a fallback to the nearest end is practically never
/// taken.
pub(crate) fn draw_unit(mu: f64, sigma: f64, rng: &mut SeededRng) -> f64 {
    for _ in 0..1000 {
        let x = mu + sigma * draw(rng);
        if (0.0..=1.0).contains(&x) {
            return x;
        }
    }
    mu.clamp(0.0, 1.0)
}

/// The probability mass N(mu, sigma²) puts on [a, b].
pub(crate) fn mass(mu: f64, sigma: f64, a: f64, b: f64) -> f64 {
    let (za, zb) = ((a - mu) / sigma, (b - mu) / sigma);
    // Subtract in the tail where the values are small, so no digits cancel.
    if za > 0.0 {
        cdf(-za) - cdf(-zb)
    } else {
        cdf(zb) - cdf(za)
    }
}
