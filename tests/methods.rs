//! Every float method and operator `#[derive_gradient]` supports, one annotated function each:
//! `powi powf sqrt cbrt exp exp2 ln log2 log10 ln_1p exp_m1 sin cos tan asin acos atan atan2
//! sinh cosh tanh abs signum max min recip mul_add hypot asinh acosh atanh log to_degrees
//! to_radians clamp copysign floor ceil round trunc fract sin_cos`, unary minus,
//! `+ - * / %`, the `f64::sin(x)` path form, and f32 versions of a handful.

//!
//! Each function is checked at several points inside its domain (away from kinks) against the
//! analytic derivative (1e-12 relative for f64, 1e-5 for f32), against central finite
//! differences, and for consistency of `_grad`, `_grad_into`, `_pushforward` (unit tangents)
//! and `_pullback` (a seed of 2 added into a nonzero adjoint). Binary and ternary functions
//! differentiate every argument. The functions are declared by `macro_rules!` with the float
//! type as a `$t:ty` fragment (which reaches the attribute as an invisible group). Kinks and
//! special values live in `tests/special_values.rs`.

use grad::derive_gradient;
use grad::runtime::{assert_gradient_close, Float, Tolerance};

/// Relative agreement with the analytic derivative: a few ulps of formula-to-formula rounding.
fn rel<T: Float>() -> f64 {
    if T::epsilon().to_f64() < 1e-10 {
        1e-12
    } else {
        1e-5
    }
}

#[track_caller]
fn assert_close<T: Float>(got: T, want: f64, what: &str) {
    let g = got.to_f64();
    let ok = g == want || (g - want).abs() <= rel::<T>() * g.abs().max(want.abs());
    assert!(ok, "{what}: got {g}, want {want}");
}

#[track_caller]
fn assert_same<T: Float>(got: T, want: T, what: &str) {
    assert_close(got, want.to_f64(), what);
}

/// Checks a function of one float against the analytic derivative `d` (evaluated in f64 at
/// the exactly converted point), finite differences, and the other companions.
#[track_caller]
fn check_unary<T: Float>(
    f: fn(T) -> T,
    grad: fn(T) -> (T, T),
    grad_into: fn(T, &mut T) -> T,
    push: fn(T, T) -> (T, T),
    pull: fn(T, T, &mut T) -> T,
    d: impl Fn(f64) -> f64,
    points: &[f64],
) {
    for &p in points {
        let x = T::from_f64(p);
        let (v, g) = grad(x);
        assert_eq!(v.to_f64(), f(x).to_f64(), "value at {x}");
        assert_close(g, d(x.to_f64()), &format!("derivative at {x}"));
        assert_gradient_close(|v: &[T]| f(v[0]), &[x], &[g], Tolerance::default());

        let mut gi = T::from_f64(f64::NAN);
        assert_eq!(grad_into(x, &mut gi).to_f64(), v.to_f64());
        assert_eq!(gi.to_f64(), g.to_f64(), "grad_into at {x}");
        let (pv, t) = push(x, T::one());
        assert_eq!(pv.to_f64(), v.to_f64());
        assert_same(t, g, &format!("pushforward at {x}"));
        let mut adj = T::from_f64(0.5);
        assert_eq!(pull(x, T::from_f64(2.0), &mut adj).to_f64(), v.to_f64());
        assert_same(adj, T::from_f64(0.5) + T::from_f64(2.0) * g, "pullback");
    }
}

/// As [`check_unary`] for a function of two floats, both differentiated.
#[track_caller]
#[allow(clippy::type_complexity)]
fn check_binary<T: Float>(
    f: fn(T, T) -> T,
    grad: fn(T, T) -> (T, (T, T)),
    grad_into: fn(T, T, &mut T, &mut T) -> T,
    push: fn(T, T, T, T) -> (T, T),
    pull: fn(T, T, T, &mut T, &mut T) -> T,
    d: impl Fn(f64, f64) -> (f64, f64),
    points: &[(f64, f64)],
) {
    for &(px, py) in points {
        let (x, y) = (T::from_f64(px), T::from_f64(py));
        let (v, (gx, gy)) = grad(x, y);
        assert_eq!(v.to_f64(), f(x, y).to_f64(), "value at ({x}, {y})");
        let (dx, dy) = d(x.to_f64(), y.to_f64());
        assert_close(gx, dx, &format!("d/dx at ({x}, {y})"));
        assert_close(gy, dy, &format!("d/dy at ({x}, {y})"));
        assert_gradient_close(
            |v: &[T]| f(v[0], v[1]),
            &[x, y],
            &[gx, gy],
            Tolerance::default(),
        );

        let (mut ix, mut iy) = (T::from_f64(f64::NAN), T::from_f64(7.0));
        assert_eq!(grad_into(x, y, &mut ix, &mut iy).to_f64(), v.to_f64());
        assert_eq!((ix.to_f64(), iy.to_f64()), (gx.to_f64(), gy.to_f64()));
        let (_, tx) = push(x, y, T::one(), T::zero());
        let (pv, ty) = push(x, y, T::zero(), T::one());
        assert_eq!(pv.to_f64(), v.to_f64());
        assert_same(tx, gx, &format!("pushforward x at ({x}, {y})"));
        assert_same(ty, gy, &format!("pushforward y at ({x}, {y})"));
        let (mut ax, mut ay) = (T::from_f64(0.5), T::from_f64(-1.0));
        assert_eq!(
            pull(x, y, T::from_f64(2.0), &mut ax, &mut ay).to_f64(),
            v.to_f64()
        );
        assert_same(ax, T::from_f64(0.5) + T::from_f64(2.0) * gx, "pullback x");
        assert_same(ay, T::from_f64(-1.0) + T::from_f64(2.0) * gy, "pullback y");
    }
}

/// `unary!(module, f64: |x| { body }, d = |x| derivative, at [points])` declares
/// `#[derive_gradient] fn f(x: f64) -> f64 { body }` in `mod module` and a test checking it.
macro_rules! unary {
    ($m:ident, $t:ty: |$x:ident| { $($body:tt)* }, d = |$dx:ident| $d:expr,
     at [$($p:expr),+ $(,)?]) => {
        mod $m {
            use super::*;

            #[derive_gradient]
            fn f($x: $t) -> $t {
                $($body)*
            }

            #[test]
            fn derivative() {
                check_unary::<$t>(
                    f, f_grad, f_grad_into, f_pushforward, f_pullback,
                    |$dx: f64| -> f64 { $d },
                    &[$($p),+],
                );
            }
        }
    };
}

/// `binary!(module, f64: |x, y| { body }, d = |x, y| (d/dx, d/dy), at [(x, y), ..])`.
macro_rules! binary {
    ($m:ident, $t:ty: |$x:ident, $y:ident| { $($body:tt)* },
     d = |$dx:ident, $dy:ident| $d:expr, at [$(($px:expr, $py:expr)),+ $(,)?]) => {
        mod $m {
            use super::*;

            #[derive_gradient]
            fn f($x: $t, $y: $t) -> $t {
                $($body)*
            }

            #[test]
            fn derivative() {
                check_binary::<$t>(
                    f, f_grad, f_grad_into, f_pushforward, f_pullback,
                    |$dx: f64, $dy: f64| -> (f64, f64) { $d },
                    &[$(($px, $py)),+],
                );
            }
        }
    };
}

use std::f64::consts::{LN_10, LN_2};

// Operators.
unary!(neg, f64: |x| { -x }, d = |_x| -1.0, at [-2.0, 0.0, 0.5, 3.0]);
unary!(neg_of_product, f64: |x| { -(x * x) + -3.0 * x }, d = |x| -2.0 * x - 3.0,
    at [-2.0, 0.0, 0.5, 3.0]);
binary!(add, f64: |x, y| { x + y }, d = |_x, _y| (1.0, 1.0),
    at [(1.0, 2.0), (-0.5, 3.0), (0.0, 0.0)]);
binary!(sub, f64: |x, y| { x - y }, d = |_x, _y| (1.0, -1.0),
    at [(1.0, 2.0), (-0.5, 3.0), (0.0, 0.0)]);
binary!(mul, f64: |x, y| { x * y }, d = |x, y| (y, x),
    at [(1.0, 2.0), (-0.5, 3.0), (0.0, 4.0), (1.5, -2.5)]);
binary!(div, f64: |x, y| { x / y }, d = |x, y| (1.0 / y, -x / (y * y)),
    at [(1.0, 2.0), (-0.5, 3.0), (0.0, 4.0), (1.5, -2.5), (7.0, 0.3)]);
binary!(mixed_arithmetic, f64: |x, y| { (x - 2.0 * y) * (x + y) / (1.0 + x * x) - y },
    d = |x, y| {
        // u = (x - 2y)(x + y) = x^2 - x y - 2 y^2, w = 1 + x^2
        let (u, w) = ((x - 2.0 * y) * (x + y), 1.0 + x * x);
        ((2.0 * x - y) / w - u * 2.0 * x / (w * w), (-x - 4.0 * y) / w - 1.0)
    },
    at [(1.0, 2.0), (-0.5, 3.0), (0.0, 4.0), (1.5, -2.5)]);

// Powers and roots.
unary!(powi_3, f64: |x| { x.powi(3) }, d = |x| 3.0 * x * x, at [-1.7, -0.3, 0.5, 2.0, 3.1]);
unary!(powi_neg2, f64: |x| { x.powi(-2) }, d = |x| -2.0 / (x * x * x),
    at [-1.7, -0.3, 0.5, 2.0, 3.1]);
unary!(powi_1, f64: |x| { x.powi(1) }, d = |_x| 1.0, at [-1.7, 0.5, 3.1]);
binary!(powf, f64: |x, y| { x.powf(y) },
    d = |x, y| (y * x.powf(y - 1.0), x.powf(y) * x.ln()),
    at [(0.5, 2.3), (1.7, -0.4), (3.0, 1.5), (2.0, 0.0), (1.0, 3.0), (0.8, 7.0)]);
unary!(powf_const_exponent, f64: |x| { x.powf(2.5) }, d = |x| 2.5 * x.powf(1.5),
    at [0.1, 0.5, 1.0, 2.0, 4.5]);
unary!(powf_const_base, f64: |x| { 2.0_f64.powf(x) }, d = |x| 2.0_f64.powf(x) * LN_2,
    at [-2.0, 0.0, 0.5, 3.0]);
unary!(sqrt, f64: |x| { x.sqrt() }, d = |x| 0.5 / x.sqrt(), at [0.09, 0.3, 1.0, 2.5, 100.0]);
unary!(cbrt, f64: |x| { x.cbrt() }, d = |x| 1.0 / (3.0 * x.cbrt() * x.cbrt()),
    at [-8.0, -0.4, 0.2, 1.0, 27.0]);
binary!(hypot, f64: |x, y| { x.hypot(y) },
    d = |x, y| (x / x.hypot(y), y / x.hypot(y)),
    at [(3.0, 4.0), (-1.0, 0.5), (0.0, 2.0), (-2.0, -7.0)]);
unary!(recip, f64: |x| { x.recip() }, d = |x| -1.0 / (x * x), at [-3.0, -0.5, 0.25, 2.0]);

// Exponentials and logarithms.
unary!(exp, f64: |x| { x.exp() }, d = |x| x.exp(), at [-3.0, -0.5, 0.0, 1.2, 5.0]);
unary!(exp2, f64: |x| { x.exp2() }, d = |x| x.exp2() * LN_2, at [-3.0, -0.5, 0.0, 1.2, 5.0]);
unary!(exp_m1, f64: |x| { x.exp_m1() }, d = |x| x.exp(), at [-3.0, -0.5, 0.0, 1e-3, 1.2]);
unary!(ln, f64: |x| { x.ln() }, d = |x| 1.0 / x, at [0.1, 0.5, 1.0, 3.0, 1e3]);
unary!(log2, f64: |x| { x.log2() }, d = |x| 1.0 / (x * LN_2), at [0.1, 0.5, 1.0, 3.0, 1e3]);
unary!(log10, f64: |x| { x.log10() }, d = |x| 1.0 / (x * LN_10),
    at [0.1, 0.5, 1.0, 3.0, 1e3]);
unary!(ln_1p, f64: |x| { x.ln_1p() }, d = |x| 1.0 / (1.0 + x), at [-0.5, -1e-3, 0.0, 0.7, 4.0]);

// Trigonometric.
unary!(sin, f64: |x| { x.sin() }, d = |x| x.cos(), at [-2.0, -0.3, 0.0, 0.7, 4.0]);
unary!(cos, f64: |x| { x.cos() }, d = |x| -x.sin(), at [-2.0, -0.3, 0.0, 0.7, 4.0]);
unary!(tan, f64: |x| { x.tan() }, d = |x| 1.0 / (x.cos() * x.cos()),
    at [-1.2, -0.3, 0.0, 0.7, 1.4]);
unary!(asin, f64: |x| { x.asin() }, d = |x| 1.0 / (1.0 - x * x).sqrt(),
    at [-0.9, -0.3, 0.0, 0.5, 0.8]);
unary!(acos, f64: |x| { x.acos() }, d = |x| -1.0 / (1.0 - x * x).sqrt(),
    at [-0.9, -0.3, 0.0, 0.5, 0.8]);
unary!(atan, f64: |x| { x.atan() }, d = |x| 1.0 / (1.0 + x * x), at [-5.0, -0.3, 0.0, 0.7, 20.0]);
// atan2(y, x) in every quadrant, away from the branch cut on the negative x axis.
binary!(atan2, f64: |y, x| { y.atan2(x) },
    d = |y, x| (x / (x * x + y * y), -y / (x * x + y * y)),
    at [(2.0, 1.0), (0.5, -1.0), (-2.0, 0.3), (-1.0, -1.5), (0.0, 2.0), (3.0, 0.0)]);

// Hyperbolic.
unary!(sinh, f64: |x| { x.sinh() }, d = |x| x.cosh(), at [-2.0, -0.3, 0.0, 0.7, 4.0]);
unary!(cosh, f64: |x| { x.cosh() }, d = |x| x.sinh(), at [-2.0, -0.3, 0.0, 0.7, 4.0]);
unary!(tanh, f64: |x| { x.tanh() }, d = |x| 1.0 / (x.cosh() * x.cosh()),
    at [-2.0, -0.3, 0.0, 0.7, 4.0]);

// Piecewise, away from the kinks.
unary!(abs, f64: |x| { x.abs() }, d = |x| x.signum(), at [-2.0, -0.3, 0.4, 3.0]);
unary!(abs_of_expression, f64: |x| { (x * x - 1.0).abs() }, d = |x| 2.0 * x * (x * x - 1.0).signum(),
    at [-2.0, -0.3, 0.4, 3.0]);
// A parameter reached only through `signum` (derivative 0 everywhere).
mod signum_only {
    use super::*;
    unary!(signum, f64: |x| { x.signum() }, d = |_x| 0.0, at [-2.0, -0.3, 0.4, 3.0]);
    binary!(signum_times_y, f64: |x, y| { x.signum() * y }, d = |x, _y| (0.0, x.signum()),
        at [(-2.0, 1.5), (0.4, -3.0)]);
}
unary!(signum_times, f64: |x| { x.signum() * x * x }, d = |x| 2.0 * x.abs(),
    at [-2.0, -0.3, 0.4, 3.0]);
binary!(max, f64: |x, y| { x.max(y) },
    d = |x, y| if x > y { (1.0, 0.0) } else { (0.0, 1.0) },
    at [(1.0, 2.0), (3.0, -1.0), (-0.5, -0.25), (0.0, -1.0)]);
binary!(min, f64: |x, y| { x.min(y) },
    d = |x, y| if x < y { (1.0, 0.0) } else { (0.0, 1.0) },
    at [(1.0, 2.0), (3.0, -1.0), (-0.5, -0.25), (0.0, -1.0)]);
unary!(relu, f64: |x| { x.max(0.0) }, d = |x| if x > 0.0 { 1.0 } else { 0.0 },
    at [-2.0, -0.3, 0.4, 3.0]);
unary!(relu_const_first, f64: |x| { 0.0_f64.max(x) }, d = |x| if x > 0.0 { 1.0 } else { 0.0 },
    at [-2.0, -0.3, 0.4, 3.0]);

// mul_add: three arguments, each differentiated.
mod mul_add {
    use super::*;

    type F3 = fn(f64, f64, f64) -> f64;
    type G3 = fn(f64, f64, f64) -> (f64, (f64, f64, f64));

    #[derive_gradient]
    fn f(x: f64, y: f64, z: f64) -> f64 {
        x.mul_add(y, z)
    }

    #[derive_gradient]
    fn path_form(x: f64, y: f64, z: f64) -> f64 {
        f64::mul_add(x, y, z)
    }

    #[test]
    fn derivative() {
        for (x, y, z) in [(1.0, 2.0, 3.0), (-0.5, 4.0, 0.0), (2.5, -1.5, -7.0)] {
            for (func, grad) in [(f as F3, f_grad as G3), (path_form, path_form_grad)] {
                let (v, (dx, dy, dz)) = grad(x, y, z);
                assert_eq!(v, x.mul_add(y, z));
                assert_eq!((dx, dy, dz), (y, x, 1.0));
                assert_gradient_close(
                    |p: &[f64]| func(p[0], p[1], p[2]),
                    &[x, y, z],
                    &[dx, dy, dz],
                    Tolerance::default(),
                );
            }
            let (_, t) = f_pushforward(x, y, z, 0.5, -1.0, 2.0);
            assert_close(t, 0.5 * y - x + 2.0, "pushforward");
            let (mut a, mut b, mut c) = (0.0, 1.0, 2.0);
            f_pullback(x, y, z, 3.0, &mut a, &mut b, &mut c);
            assert_eq!((a, b, c), (3.0 * y, 1.0 + 3.0 * x, 5.0));
        }
    }
}

// powi with an integer parameter: the exponent passes through, not differentiated.
mod powi_param {
    use super::*;

    #[derive_gradient]
    fn f(x: f64, n: i32) -> f64 {
        x.powi(n)
    }

    #[test]
    fn derivative() {
        for n in [-3, -1, 1, 2, 5] {
            for x in [-1.3, 0.4, 2.0] {
                let (v, d) = f_grad(x, n);
                assert_eq!(v, x.powi(n));
                assert_close(d, n as f64 * x.powi(n - 1), &format!("d x^{n}/dx at {x}"));
                assert_gradient_close(|p: &[f64]| f(p[0], n), &[x], &[d], Tolerance::default());
                let (_, t) = f_pushforward(x, n, 1.0);
                assert_close(t, d, "pushforward");
            }
        }
    }
}

// The associated-function call form `f64::method(x, ..)`.
unary!(path_sin, f64: |x| { f64::sin(x) }, d = |x| x.cos(), at [-2.0, 0.0, 0.7]);
unary!(path_exp_ln, f64: |x| { f64::exp(x) + f64::ln(x) }, d = |x| x.exp() + 1.0 / x,
    at [0.3, 1.0, 2.5]);
unary!(path_powi, f64: |x| { f64::powi(x, 3) }, d = |x| 3.0 * x * x, at [-2.0, 0.5, 1.5]);
binary!(path_powf, f64: |x, y| { f64::powf(x, y) },
    d = |x, y| (y * x.powf(y - 1.0), x.powf(y) * x.ln()),
    at [(0.5, 2.3), (3.0, 1.5)]);
binary!(path_atan2, f64: |y, x| { f64::atan2(y, x) },
    d = |y, x| (x / (x * x + y * y), -y / (x * x + y * y)),
    at [(2.0, 1.0), (-1.0, -1.5)]);
binary!(path_hypot_max, f64: |x, y| { f64::hypot(x, y) + f64::max(x, y) },
    d = |x, y| {
        let h = x.hypot(y);
        if x > y { (x / h + 1.0, y / h) } else { (x / h, y / h + 1.0) }
    },
    at [(3.0, 4.0), (-1.0, -2.0)]);

// Methods on compound receivers and nested calls: the chain rule through the table.
unary!(nested, f64: |x| { (x.sin() * x.exp()).tanh().sqrt() + (1.0 + x * x).ln().cbrt() },
    d = |x| {
        let u = x.sin() * x.exp();
        let du = (x.cos() + x.sin()) * x.exp();
        let t = u.tanh();
        let w = (1.0 + x * x).ln();
        (1.0 - t * t) * du / (2.0 * t.sqrt()) + 2.0 * x / (1.0 + x * x) / (3.0 * w.cbrt() * w.cbrt())
    },
    at [0.3, 0.9, 2.0]);

// f32 versions (f32 rounding, f32 finite-difference tolerance).
unary!(f32_sin, f32: |x| { x.sin() }, d = |x| x.cos(), at [-2.0, 0.0, 0.7, 3.0]);
unary!(f32_path_cos, f32: |x| { f32::cos(x) }, d = |x| -x.sin(), at [-2.0, 0.0, 0.7, 3.0]);
unary!(f32_exp, f32: |x| { x.exp() }, d = |x| x.exp(), at [-2.0, 0.0, 0.7, 3.0]);
unary!(f32_sqrt, f32: |x| { x.sqrt() }, d = |x| 0.5 / x.sqrt(), at [0.25, 1.0, 7.0]);
unary!(f32_ln, f32: |x| { x.ln() }, d = |x| 1.0 / x, at [0.25, 1.0, 7.0]);
unary!(f32_tanh, f32: |x| { x.tanh() }, d = |x| 1.0 / (x.cosh() * x.cosh()),
    at [-2.0, 0.0, 0.7]);
unary!(f32_powi, f32: |x| { x.powi(4) }, d = |x| 4.0 * x * x * x, at [-1.5, 0.5, 2.0]);
binary!(f32_powf, f32: |x, y| { x.powf(y) },
    d = |x, y| (y * x.powf(y - 1.0), x.powf(y) * x.ln()),
    at [(0.5, 2.25), (1.75, -0.5), (3.0, 1.5)]);
binary!(f32_atan2, f32: |y, x| { y.atan2(x) },
    d = |y, x| (x / (x * x + y * y), -y / (x * x + y * y)),
    at [(2.0, 1.0), (0.5, -1.0), (-1.0, -1.5)]);
binary!(f32_hypot, f32: |x, y| { x.hypot(y) },
    d = |x, y| (x / x.hypot(y), y / x.hypot(y)),
    at [(3.0, 4.0), (-1.0, 0.5)]);
binary!(f32_max, f32: |x, y| { x.max(y) },
    d = |x, y| if x > y { (1.0, 0.0) } else { (0.0, 1.0) },
    at [(1.0, 2.0), (3.0, -1.0)]);
binary!(f32_div, f32: |x, y| { x / y - x * y }, d = |x, y| (1.0 / y - y, -x / (y * y) - x),
    at [(1.0, 2.0), (-0.5, 3.0), (1.5, -2.5)]);

// The methods added to the rule table later: inverse hyperbolic, `log(base)`, angle
// conversions, `clamp`, `copysign`, rounding (derivative 0 between integers), `fract`,
// `%` on floats, and `sin_cos` (a tuple of two primitives).
unary!(asinh, f64: |x| { x.asinh() }, d = |x| 1.0 / (x * x + 1.0).sqrt(),
    at [-2.0, 0.0, 0.7, 3.0]);
unary!(acosh, f64: |x| { x.acosh() }, d = |x| 1.0 / (x * x - 1.0).sqrt(), at [1.2, 2.0, 5.0]);
unary!(atanh, f64: |x| { x.atanh() }, d = |x| 1.0 / (1.0 - x * x), at [-0.8, 0.0, 0.3, 0.9]);
binary!(log_base, f64: |x, b| { x.log(b) },
    d = |x, b| (1.0 / (x * b.ln()), -x.ln() / (b * b.ln() * b.ln())),
    at [(0.5, 2.0), (3.0, 10.0), (7.0, 1.5)]);
unary!(to_degrees, f64: |x| { x.to_degrees() + x.to_radians() },
    d = |_x| 180.0 / std::f64::consts::PI + std::f64::consts::PI / 180.0, at [-1.0, 0.5]);
unary!(clamp_x, f64: |x| { x.clamp(-1.0, 2.0) * x },
    d = |x| if (-1.0..=2.0).contains(&x) { 2.0 * x } else { x.clamp(-1.0, 2.0) },
    at [-3.0, -0.5, 1.5, 4.0]);
binary!(clamp_bounds, f64: |x, b| { (0.5 * x).clamp(b, b + 1.0) },
    d = |x, b| if 0.5 * x < b || 0.5 * x > b + 1.0 { (0.0, 1.0) } else { (0.5, 0.0) },
    at [(0.0, 1.0), (3.0, 1.0), (6.0, 1.0)]);
binary!(copysign, f64: |x, s| { x.copysign(s) * x },
    d = |x, s| (2.0 * x * s.signum() * x.signum(), 0.0),
    at [(1.5, 2.0), (-0.5, 3.0), (1.5, -2.0), (-2.0, -1.0)]);
unary!(rounding, f64: |x| { x.floor() + x.ceil() * x + x.round() + x.trunc() },
    d = |x| x.ceil(), at [-2.3, -0.4, 0.3, 1.7]);
unary!(fract, f64: |x| { x.fract() * x }, d = |x| x.fract() + x, at [-2.3, 0.3, 1.7]);
binary!(rem, f64: |x, y| { x % y },
    d = |x, y| (1.0, -(x / y).trunc()),
    at [(5.5, 2.0), (-5.5, 2.0), (7.25, -3.0), (0.3, 1.0)]);
unary!(sin_cos, f64: |x| { let (s, c) = x.sin_cos(); s * c + s },
    d = |x| x.cos() * x.cos() - x.sin() * x.sin() + x.cos(), at [-2.0, 0.0, 0.7]);
