//! Seeded random streams. Every consumer of randomness (splits, shuffling, augmentation) gets its
//! own stream derived from the run seed, a purpose and an index (e.g. the epoch), so that changing
//! one use never shifts another and epoch k is reproducible without replaying epochs 0..k.

#![warn(missing_docs)]

use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;

/// The random generator used throughout anneal: portable and identical on every platform.
pub type SeededRng = ChaCha8Rng;

/// A generator for `(seed, purpose, index)`.
pub fn derive_rng(seed: u64, purpose: &str, index: u64) -> SeededRng {
    let mut state = splitmix64(seed ^ 0x5eed_a11e_a1);
    for byte in purpose.bytes() {
        state = splitmix64(state ^ u64::from(byte));
    }
    state = splitmix64(state ^ index);
    SeededRng::seed_from_u64(state)
}

/// SplitMix64's finaliser: a cheap, well-mixed bijection on u64.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
