//! The [`Float`] trait: what the runtime needs from `f32` and `f64`.

use std::fmt::{Debug, Display, LowerExp};
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use crate::check::Tolerance;
use crate::kernels;

/// A floating-point scalar: implemented for `f32` and `f64`.
///
/// Generated code and the runtime are generic over this trait. Besides the
/// arithmetic operators it gives the few constants and functions the runtime
/// uses, the per-type [`Tolerance`] of the gradient checker, and the `dot` /
/// `axpy` kernels, which `f32` and `f64` override with versions that pick an
/// AVX2 + FMA build at run time on x86_64 (see [`crate::kernels`]).
///
/// The methods named like inherent float methods (`abs`, `sqrt`, `max`,
/// `is_finite`) behave exactly like them; on a concrete `f64` the inherent
/// method is the one called, on a generic `T: Float` this one.
pub trait Float:
    Copy
    + PartialOrd
    + Debug
    + Display
    + LowerExp
    + Default
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
{
    /// The additive identity, `0.0`.
    fn zero() -> Self;
    /// The multiplicative identity, `1.0`.
    fn one() -> Self;
    /// Converts from `f64`, rounding to nearest for `f32`.
    fn from_f64(v: f64) -> Self;
    /// Converts to `f64` (exact for both `f32` and `f64`).
    fn to_f64(self) -> f64;
    /// Absolute value.
    fn abs(self) -> Self;
    /// Square root (NaN for negative inputs).
    fn sqrt(self) -> Self;
    /// The larger of two values; if one is NaN the other is returned.
    fn max(self, other: Self) -> Self;
    /// Machine epsilon: the gap between `1.0` and the next larger value.
    fn epsilon() -> Self;
    /// `true` unless the value is infinite or NaN.
    fn is_finite(self) -> bool;
    /// The default tolerance of the gradient checker for this type
    /// (`f64`: rel `1e-6`, abs `1e-8`; `f32`: rel `2e-2`, abs `1e-3`).
    fn default_tolerance() -> Tolerance<Self>;

    /// Dot product; see [`kernels::dot`], which calls this.
    #[inline]
    fn dot(a: &[Self], b: &[Self]) -> Self {
        kernels::dot_portable(a, b)
    }

    /// `y += alpha * x`; see [`kernels::axpy`], which calls this.
    #[inline]
    fn axpy(alpha: Self, x: &[Self], y: &mut [Self]) {
        kernels::axpy_portable(alpha, x, y)
    }
}

/// Implements [`Float`] for a primitive float type by forwarding to its
/// inherent methods (inherent methods win over trait methods in path calls).
macro_rules! impl_float {
    ($t:ident, rel = $rel:expr, abs = $abs:expr) => {
        impl Float for $t {
            #[inline]
            fn zero() -> Self {
                0.0
            }
            #[inline]
            fn one() -> Self {
                1.0
            }
            #[inline]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            #[inline]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline]
            fn abs(self) -> Self {
                $t::abs(self)
            }
            #[inline]
            fn sqrt(self) -> Self {
                $t::sqrt(self)
            }
            #[inline]
            fn max(self, other: Self) -> Self {
                $t::max(self, other)
            }
            #[inline]
            fn epsilon() -> Self {
                $t::EPSILON
            }
            #[inline]
            fn is_finite(self) -> bool {
                $t::is_finite(self)
            }
            #[inline]
            fn default_tolerance() -> Tolerance<Self> {
                Tolerance {
                    rel: $rel,
                    abs: $abs,
                }
            }
            #[inline]
            fn dot(a: &[Self], b: &[Self]) -> Self {
                kernels::dispatch::dot(a, b)
            }
            #[inline]
            fn axpy(alpha: Self, x: &[Self], y: &mut [Self]) {
                kernels::dispatch::axpy(alpha, x, y)
            }
        }
    };
}

impl_float!(f64, rel = 1e-6, abs = 1e-8);
impl_float!(f32, rel = 2e-2, abs = 1e-3);

#[cfg(test)]
mod tests {
    use super::*;

    fn generic_roundtrip<T: Float>() {
        assert_eq!(T::zero().to_f64(), 0.0);
        assert_eq!(T::one().to_f64(), 1.0);
        assert_eq!(T::from_f64(-2.5).to_f64(), -2.5);
        assert_eq!(Float::abs(T::from_f64(-3.0)).to_f64(), 3.0);
        assert_eq!(Float::sqrt(T::from_f64(16.0)).to_f64(), 4.0);
        assert_eq!(Float::max(T::from_f64(1.0), T::from_f64(2.0)).to_f64(), 2.0);
        assert!(Float::is_finite(T::one()));
        assert!(!Float::is_finite(T::from_f64(f64::INFINITY)));
        assert!(!Float::is_finite(T::from_f64(f64::NAN)));
        let eps = T::epsilon();
        assert!(T::one() + eps > T::one());
        let mut v = T::one();
        v += T::one();
        v *= T::from_f64(3.0);
        v -= T::one();
        v /= T::from_f64(5.0);
        assert_eq!(v.to_f64(), 1.0);
        assert_eq!((-v).to_f64(), -1.0);
    }

    #[test]
    fn f64_basics() {
        generic_roundtrip::<f64>();
        assert_eq!(<f64 as Float>::epsilon(), f64::EPSILON);
    }

    #[test]
    fn f32_basics() {
        generic_roundtrip::<f32>();
        assert_eq!(<f32 as Float>::epsilon(), f32::EPSILON);
        assert_eq!(<f32 as Float>::from_f64(0.1), 0.1f32);
    }

    #[test]
    fn max_ignores_nan_like_std() {
        assert_eq!(Float::max(f64::NAN, 1.0), 1.0);
        assert_eq!(Float::max(1.0f32, f32::NAN), 1.0);
    }

    #[test]
    fn default_tolerances() {
        let t64 = f64::default_tolerance();
        assert_eq!((t64.rel, t64.abs), (1e-6, 1e-8));
        let t32 = f32::default_tolerance();
        assert_eq!((t32.rel, t32.abs), (2e-2, 1e-3));
    }

    #[test]
    fn trait_kernels_match_portable() {
        let a: Vec<f64> = (0..13).map(|i| i as f64 * 0.5).collect();
        assert_eq!(f64::dot(&a, &a), kernels::dot_portable(&a, &a));
        let mut y = vec![1.0f32; 13];
        let x: Vec<f32> = (0..13).map(|i| i as f32).collect();
        f32::axpy(2.0, &x, &mut y);
        assert_eq!(y[12], 25.0);
    }
}
