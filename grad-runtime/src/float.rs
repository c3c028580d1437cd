//! The [`Float`] trait: what the runtime needs from `f32` and `f64`.

use std::fmt::{Debug, Display, LowerExp};
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

#[cfg(feature = "testing")]
use crate::check::Tolerance;
use crate::kernels;

/// A floating-point scalar: implemented for `f32` and `f64`.
///
/// Generated code and the runtime are generic over this trait. Besides the
/// arithmetic operators it gives the few constants and functions the runtime
/// uses, the per-type tolerance of the gradient checker (with the `testing`
/// feature), and the `dot` / `axpy` kernels, which `f32` and `f64` override
/// with versions that pick an AVX2 + FMA build at run time on x86_64 (see
/// [`crate::kernels`]).
///
/// It also carries the whole std float API (`sin`, `powi`, `atan2`, `mul_add`,
/// `clamp`, ...) under the same names and signatures as the inherent `f32` /
/// `f64` methods, so that code written once as `fn f<T: Float>(x: T) -> T`
/// can call them. Each behaves exactly like the inherent method (it forwards
/// to it); on a concrete `f64` the inherent method is the one called, on a
/// generic `T: Float` this one.
///
/// ```
/// use grad_runtime::Float;
/// fn softplus<T: Float>(x: T) -> T {
///     x.max(T::zero()) + (-x.abs()).exp().ln_1p()
/// }
/// assert_eq!(softplus(0.0f64), 2f64.ln());
/// assert_eq!(softplus(0.0f32), 2f32.ln());
/// ```
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
    + crate::Placeholder
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + crate::Differentiable<Scalar = Self, Owned = Self>
    + crate::AsSeed
{
    /// The additive identity, `0.0`.
    fn zero() -> Self;
    /// The multiplicative identity, `1.0`.
    fn one() -> Self;
    /// Converts from `f64`, rounding to nearest for `f32`.
    fn from_f64(v: f64) -> Self;
    /// Converts to `f64` (exact for both `f32` and `f64`).
    fn to_f64(self) -> f64;
    /// Converts from `usize`, rounding to nearest (`n as f64` / `n as f32`).
    fn from_usize(n: usize) -> Self;
    /// Machine epsilon: the gap between `1.0` and the next larger value.
    fn epsilon() -> Self;
    /// Archimedes' constant, `π`.
    fn pi() -> Self;
    /// Positive infinity.
    fn infinity() -> Self;
    /// Negative infinity.
    fn neg_infinity() -> Self;
    /// Not a number.
    fn nan() -> Self;
    /// The default tolerance of the gradient checker for this type
    /// (`f64`: rel `1e-6`, abs `1e-8`; `f32`: rel `2e-2`, abs `1e-3`).
    ///
    /// Only with the `testing` feature, like the checker itself. The provided body (the
    /// `f64` values) keeps the feature additive for a type implemented outside this crate.
    #[cfg(feature = "testing")]
    #[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
    fn default_tolerance() -> Tolerance<Self> {
        Tolerance::new(Self::from_f64(1e-6), Self::from_f64(1e-8))
    }

    /// `true` unless the value is infinite or NaN.
    fn is_finite(self) -> bool;
    /// `true` if the value is NaN.
    fn is_nan(self) -> bool;
    /// `true` if the value is positive or negative infinity.
    fn is_infinite(self) -> bool;

    /// Absolute value.
    fn abs(self) -> Self;
    /// `1.0` if the sign bit is clear, `-1.0` if it is set, NaN for NaN.
    fn signum(self) -> Self;
    /// A value with the magnitude of `self` and the sign of `sign`.
    fn copysign(self, sign: Self) -> Self;
    /// The larger of two values; if one is NaN the other is returned.
    fn max(self, other: Self) -> Self;
    /// The smaller of two values; if one is NaN the other is returned.
    fn min(self, other: Self) -> Self;
    /// Restricts the value to `[min, max]`; NaN stays NaN. Panics if
    /// `min > max` or either bound is NaN.
    fn clamp(self, min: Self, max: Self) -> Self;
    /// `1 / self`.
    fn recip(self) -> Self;
    /// `self * a + b` with a single rounding (fused multiply-add).
    fn mul_add(self, a: Self, b: Self) -> Self;

    /// Largest integer less than or equal to the value.
    fn floor(self) -> Self;
    /// Smallest integer greater than or equal to the value.
    fn ceil(self) -> Self;
    /// Nearest integer, halfway cases away from zero.
    fn round(self) -> Self;
    /// Integer part (rounds toward zero).
    fn trunc(self) -> Self;
    /// Fractional part, `self - self.trunc()`.
    fn fract(self) -> Self;

    /// `self` raised to an integer power.
    fn powi(self, n: i32) -> Self;
    /// `self` raised to a float power.
    fn powf(self, n: Self) -> Self;
    /// Square root (NaN for negative inputs).
    fn sqrt(self) -> Self;
    /// Cube root.
    fn cbrt(self) -> Self;
    /// `sqrt(self^2 + other^2)` without undue overflow.
    fn hypot(self, other: Self) -> Self;
    /// `e^self`.
    fn exp(self) -> Self;
    /// `2^self`.
    fn exp2(self) -> Self;
    /// `e^self - 1`, accurate near zero.
    fn exp_m1(self) -> Self;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// Logarithm to the given base.
    fn log(self, base: Self) -> Self;
    /// Base-2 logarithm.
    fn log2(self) -> Self;
    /// Base-10 logarithm.
    fn log10(self) -> Self;
    /// `ln(1 + self)`, accurate near zero.
    fn ln_1p(self) -> Self;

    /// Sine (radians).
    fn sin(self) -> Self;
    /// Cosine (radians).
    fn cos(self) -> Self;
    /// Tangent (radians).
    fn tan(self) -> Self;
    /// `(sin(self), cos(self))`.
    fn sin_cos(self) -> (Self, Self);
    /// Arcsine, in `[-π/2, π/2]`.
    fn asin(self) -> Self;
    /// Arccosine, in `[0, π]`.
    fn acos(self) -> Self;
    /// Arctangent, in `[-π/2, π/2]`.
    fn atan(self) -> Self;
    /// Four-quadrant arctangent of `self / other` (`self` is `y`), in `[-π, π]`.
    fn atan2(self, other: Self) -> Self;
    /// Hyperbolic sine.
    fn sinh(self) -> Self;
    /// Hyperbolic cosine.
    fn cosh(self) -> Self;
    /// Hyperbolic tangent.
    fn tanh(self) -> Self;
    /// Inverse hyperbolic sine.
    fn asinh(self) -> Self;
    /// Inverse hyperbolic cosine.
    fn acosh(self) -> Self;
    /// Inverse hyperbolic tangent.
    fn atanh(self) -> Self;
    /// Radians to degrees.
    fn to_degrees(self) -> Self;
    /// Degrees to radians.
    fn to_radians(self) -> Self;

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

/// Forwards trait methods to the inherent methods of `$t` with the same name
/// (inherent methods win over trait methods in path calls, so this does not recurse).
macro_rules! forward {
    ($t:ident; $($m:ident($($a:ident: $at:ty),*) -> $r:ty;)*) => {
        $(
            #[inline]
            fn $m(self, $($a: $at),*) -> $r {
                $t::$m(self, $($a),*)
            }
        )*
    };
}

/// Implements [`Float`] for a primitive float type by forwarding to its
/// inherent methods and constants.
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
            fn from_usize(n: usize) -> Self {
                n as $t
            }
            #[inline]
            fn epsilon() -> Self {
                $t::EPSILON
            }
            #[inline]
            fn pi() -> Self {
                std::$t::consts::PI
            }
            #[inline]
            fn infinity() -> Self {
                $t::INFINITY
            }
            #[inline]
            fn neg_infinity() -> Self {
                $t::NEG_INFINITY
            }
            #[inline]
            fn nan() -> Self {
                $t::NAN
            }
            #[cfg(feature = "testing")]
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

            forward! { $t;
                is_finite() -> bool;
                is_nan() -> bool;
                is_infinite() -> bool;
                abs() -> Self;
                signum() -> Self;
                copysign(sign: Self) -> Self;
                max(other: Self) -> Self;
                min(other: Self) -> Self;
                clamp(min: Self, max: Self) -> Self;
                recip() -> Self;
                mul_add(a: Self, b: Self) -> Self;
                floor() -> Self;
                ceil() -> Self;
                round() -> Self;
                trunc() -> Self;
                fract() -> Self;
                powi(n: i32) -> Self;
                powf(n: Self) -> Self;
                sqrt() -> Self;
                cbrt() -> Self;
                hypot(other: Self) -> Self;
                exp() -> Self;
                exp2() -> Self;
                exp_m1() -> Self;
                ln() -> Self;
                log(base: Self) -> Self;
                log2() -> Self;
                log10() -> Self;
                ln_1p() -> Self;
                sin() -> Self;
                cos() -> Self;
                tan() -> Self;
                sin_cos() -> (Self, Self);
                asin() -> Self;
                acos() -> Self;
                atan() -> Self;
                atan2(other: Self) -> Self;
                sinh() -> Self;
                cosh() -> Self;
                tanh() -> Self;
                asinh() -> Self;
                acosh() -> Self;
                atanh() -> Self;
                to_degrees() -> Self;
                to_radians() -> Self;
            }
        }
    };
}

impl_float!(f64, rel = 1e-6, abs = 1e-8);
impl_float!(f32, rel = 2e-2, abs = 1e-3);

/// `d * partial`, and exactly 0 where `d` is 0 even if `partial` is infinite
/// or NaN (a zero adjoint or tangent never turns into NaN).
///
/// Branch-free: computes the product and selects. A NaN `d` stays NaN, and a
/// nonzero `d` times an infinite or NaN `partial` is the plain product.
///
/// ```
/// use grad_runtime::scaled;
/// assert_eq!(scaled(0.0, f64::INFINITY), 0.0);
/// assert_eq!(scaled(2.0, 3.0), 6.0);
/// ```
#[inline(always)]
pub fn scaled<T: Float>(d: T, partial: T) -> T {
    let product = d * partial;
    if d == T::zero() {
        T::zero()
    } else {
        product
    }
}

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

    /// Bit-for-bit equality, with any two NaNs equal.
    fn same<T: Float>(a: T, b: T) -> bool {
        (a.is_nan() && b.is_nan()) || a.to_f64().to_bits() == b.to_f64().to_bits()
    }

    const VALUES: [f64; 14] = [
        -2.5,
        -1.0,
        -0.5,
        -0.0,
        0.0,
        0.3,
        0.5,
        0.75,
        1.0,
        2.0,
        3.7,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
    ];

    /// For each method, a generic caller (so the trait method runs) compared
    /// with the inherent `f64` and `f32` methods (method syntax on a concrete
    /// type picks the inherent one) on every pair of `VALUES`.
    macro_rules! check_methods {
        (|$x:ident, $y:ident| $args:tt; $($m:ident),*) => {$({
            #[allow(unused_variables)]
            fn generic<T: Float>($x: T, $y: T) -> T {
                // Nothing but the `Float` bound is in scope: this is the trait method.
                $x.$m $args
            }
            #[allow(unused_variables)]
            fn check($x: f64, $y: f64) {
                assert!(
                    same(generic($x, $y), $x.$m $args),
                    "f64::{}({}, {})", stringify!($m), $x, $y
                );
                let ($x, $y) = ($x as f32, $y as f32);
                assert!(
                    same(generic($x, $y), $x.$m $args),
                    "f32::{}({}, {})", stringify!($m), $x, $y
                );
            }
            for &x in &VALUES {
                for &y in &VALUES {
                    check(x, y);
                }
            }
        })*};
    }

    #[test]
    fn std_methods_match_inherent() {
        check_methods!(|x, y| ();
            abs, signum, recip, floor, ceil, round, trunc, fract,
            sqrt, cbrt, exp, exp2, exp_m1, ln, log2, log10, ln_1p,
            sin, cos, tan, asin, acos, atan, sinh, cosh, tanh, asinh, acosh, atanh,
            to_degrees, to_radians);
        check_methods!(|x, y| (y); copysign, max, min, powf, hypot, log, atan2);
        check_methods!(|x, y| (y, x); mul_add);
    }

    #[test]
    fn clamp_powi_sin_cos_predicates_match_inherent() {
        fn clamp<T: Float>(x: T, lo: T, hi: T) -> T {
            x.clamp(lo, hi)
        }
        fn powi<T: Float>(x: T, n: i32) -> T {
            x.powi(n)
        }
        fn sin_cos<T: Float>(x: T) -> (T, T) {
            x.sin_cos()
        }
        fn preds<T: Float>(x: T) -> [bool; 3] {
            [x.is_nan(), x.is_finite(), x.is_infinite()]
        }
        for &x in &VALUES {
            let x32 = x as f32;
            assert!(same(clamp(x, -1.0, 2.0), x.clamp(-1.0, 2.0)));
            assert!(same(clamp(x32, -1.0, 2.0), x32.clamp(-1.0, 2.0)));
            for n in [-3, -1, 0, 1, 2, 5] {
                assert!(same(powi(x, n), x.powi(n)), "{x}^{n}");
                assert!(same(powi(x32, n), x32.powi(n)), "{x32}^{n}");
            }
            let (s, c) = sin_cos(x);
            let (s0, c0) = x.sin_cos();
            assert!(same(s, s0) && same(c, c0));
            let (s, c) = sin_cos(x32);
            let (s0, c0) = x32.sin_cos();
            assert!(same(s, s0) && same(c, c0));
            assert_eq!(preds(x), [x.is_nan(), x.is_finite(), x.is_infinite()]);
            assert_eq!(
                preds(x32),
                [x32.is_nan(), x32.is_finite(), x32.is_infinite()]
            );
        }
    }

    #[test]
    #[should_panic]
    fn clamp_panics_like_std_on_inverted_bounds() {
        fn clamp<T: Float>(x: T, lo: T, hi: T) -> T {
            x.clamp(lo, hi)
        }
        clamp(1.0f64, 2.0, 1.0);
    }

    #[test]
    fn constants() {
        fn consts<T: Float>() -> [T; 5] {
            [
                T::pi(),
                T::infinity(),
                T::neg_infinity(),
                T::from_usize(7),
                T::from_usize(1 << 40),
            ]
        }
        assert_eq!(
            consts::<f64>(),
            [
                std::f64::consts::PI,
                f64::INFINITY,
                f64::NEG_INFINITY,
                7.0,
                (1u64 << 40) as f64
            ]
        );
        assert_eq!(
            consts::<f32>(),
            [
                std::f32::consts::PI,
                f32::INFINITY,
                f32::NEG_INFINITY,
                7.0,
                (1u64 << 40) as f32
            ]
        );
        assert!(f64::nan().is_nan() && <f32 as Float>::nan().is_nan());
    }

    #[test]
    fn scaled_zero_wins() {
        assert_eq!(scaled(0.0, f64::INFINITY), 0.0);
        assert_eq!(scaled(0.0, f64::NEG_INFINITY), 0.0);
        assert_eq!(scaled(0.0, f64::NAN), 0.0);
        assert_eq!(scaled(-0.0, f64::NAN), 0.0);
        assert_eq!(scaled(0.0f32, f32::NAN), 0.0);
        assert_eq!(scaled(2.0, 3.0), 6.0);
        assert_eq!(scaled(2.0f32, -3.0), -6.0);
        assert_eq!(scaled(1.0, f64::INFINITY), f64::INFINITY);
        assert!(scaled(1.0, f64::NAN).is_nan());
        assert!(scaled(f64::NAN, 0.0).is_nan());
        assert!(scaled(f64::NAN, 2.0).is_nan());
        assert!(scaled(f32::NAN, 0.0).is_nan());
    }
}
