//! Deterministic test signals for sheen's tests (a dev-dependency only).
//!
//! Two seeded generators, each the same sequence on every platform and run:
//! [`XorShift`] (xorshift64*, Vigna 2016) and
//! [`Lcg`] (the 64-bit linear congruential generator with Knuth's MMIX
//! constants). Tests pin their signals by seed, so a test that compares two
//! code paths bit for bit sees the same input every time.

use std::f64::consts::PI;

/// 2^53: the `f64` mantissa range used to map 53 random bits to `[0, 1)`.
const UNIT: f64 = (1u64 << 53) as f64;

/// xorshift64* (state must be non-zero).
#[derive(Clone, Debug)]
pub struct XorShift(pub u64);

impl XorShift {
    /// The generator of [`noise`] for `seed` (any seed, 0 included).
    pub fn seeded(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 output bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `[0, 1)` (the top 53 bits).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / UNIT
    }

    /// Standard normal (Box–Muller, one value per two uniforms).
    pub fn gauss(&mut self) -> f64 {
        let u1 = self.uniform().max(1e-300);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * PI * u2).cos()
    }
}

/// `n` samples of uniform noise in `[-1, 1)` from [`XorShift::seeded`].
pub fn noise(n: usize, seed: u64) -> Vec<f64> {
    let mut g = XorShift::seeded(seed);
    (0..n).map(|_| 2.0 * g.uniform() - 1.0).collect()
}

/// The 64-bit LCG `z ← 6364136223846793005 z + 1442695040888963407`.
#[derive(Clone, Debug)]
pub struct Lcg(pub u64);

impl Lcg {
    /// Steps the state and returns its top 53 bits as a uniform value in
    /// `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / UNIT
    }

    /// Uniform in `[-0.5, 0.5)`: [`Lcg::unit`] − 0.5.
    pub fn centred(&mut self) -> f64 {
        self.unit() - 0.5
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The generators give the sequences the tests were written with: the
    /// first values of each, computed by hand from the recurrences above.
    #[test]
    fn sequences_are_the_documented_recurrences() {
        let mut g = XorShift(1);
        // x = 1: 1 ^ (1 >> 12) = 1; ^= 1 << 25; ^= x >> 27 (0): 0x2000001
        assert_eq!(
            g.next_u64(),
            0x2000001u64.wrapping_mul(0x2545_F491_4F6C_DD1D)
        );
        let mut l = Lcg(0);
        assert_eq!(l.unit(), (1_442_695_040_888_963_407u64 >> 11) as f64 / UNIT);
        let v = noise(10_000, 3);
        assert!(v.iter().all(|x| (-1.0..1.0).contains(x)));
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        assert!(mean.abs() < 0.03, "mean {mean}");
        assert_eq!(noise(5, 9), noise(5, 9));
    }
}
