//! [`XorShift64`]: a tiny deterministic random number generator.

use crate::Float;

/// A xorshift64* pseudo-random generator (Vigna, 2016): fast, small,
/// reproducible from a seed, and good enough for synthetic data and random
/// test directions.
///
/// **Not cryptographic**: never use it for keys, tokens or anything an
/// attacker could benefit from predicting.
///
/// ```
/// use grad_runtime::XorShift64;
/// let mut rng = XorShift64::new(42);
/// let x: f64 = rng.uniform(-1.0, 1.0);
/// assert!((-1.0..=1.0).contains(&x));
/// assert_eq!(XorShift64::new(42).next_u64(), XorShift64::new(42).next_u64());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XorShift64 {
    state: u64,
}

impl XorShift64 {
    /// A generator for `seed`. Any seed works, including 0: the seed is mixed
    /// (splitmix64) so that nearby seeds give unrelated streams.
    pub fn new(seed: u64) -> Self {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // The all-zero state is a fixed point of xorshift; avoid it.
        let state = if z == 0 { 0x2545_F491_4F6C_DD1D } else { z };
        XorShift64 { state }
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let mut s = self.state;
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        self.state = s;
        s.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A uniform `f64` in `[0, 1)`, with 53 random bits.
    #[inline]
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform value in `[lo, hi)`, for `f32` or `f64`.
    ///
    /// Computed as `lo + (hi - lo) * u` in `f64`, then converted; rounding
    /// (especially to `f32`) can rarely give exactly `hi`.
    #[inline]
    pub fn uniform<T: Float>(&mut self, lo: T, hi: T) -> T {
        let (lo, hi) = (lo.to_f64(), hi.to_f64());
        T::from_f64(lo + (hi - lo) * self.next_f64())
    }

    /// A standard normal sample (mean 0, variance 1), by Box-Muller.
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.next_f64(); // in (0, 1], so ln is finite
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_per_seed() {
        let a: Vec<u64> = {
            let mut r = XorShift64::new(7);
            (0..5).map(|_| r.next_u64()).collect()
        };
        let mut r = XorShift64::new(7);
        let b: Vec<u64> = (0..5).map(|_| r.next_u64()).collect();
        assert_eq!(a, b);
        assert_ne!(XorShift64::new(7).next_u64(), XorShift64::new(8).next_u64());
    }

    #[test]
    fn zero_seed_is_usable() {
        let mut r = XorShift64::new(0);
        let v: Vec<u64> = (0..4).map(|_| r.next_u64()).collect();
        assert!(v.iter().all(|&x| x != 0));
        assert_ne!(v[0], v[1]);
    }

    #[test]
    fn next_f64_in_unit_interval_with_sane_mean() {
        let mut r = XorShift64::new(123);
        let n = 100_000;
        let mut sum = 0.0;
        for _ in 0..n {
            let u = r.next_f64();
            assert!((0.0..1.0).contains(&u));
            sum += u;
        }
        let mean = sum / n as f64;
        assert!((mean - 0.5).abs() < 0.01, "mean {mean}");
    }

    #[test]
    fn uniform_respects_bounds_and_infers_type() {
        let mut r = XorShift64::new(5);
        for _ in 0..10_000 {
            let x = r.uniform(-3.0, 2.0); // f64 by literal fallback
            assert!((-3.0..=2.0).contains(&x));
            let y: f32 = r.uniform(10.0, 11.0);
            assert!((10.0..=11.0).contains(&y));
        }
    }

    #[test]
    fn normal_has_unit_variance() {
        let mut r = XorShift64::new(99);
        let n = 100_000;
        let xs: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.02, "mean {mean}");
        assert!((var - 1.0).abs() < 0.03, "var {var}");
        assert!(xs.iter().all(|x| x.is_finite()));
    }
}
