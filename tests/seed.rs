//! The seed document's scalar examples (MATH.md items 1, 2 and 6) through `#[derive_gradient]`:
//! f = 3x^2 y and g = 2x + y^8 with their gradients [6xy, 3x^2] and [2, 8y^7], their stacked
//! Jacobian in both layouts, and the chain-rule example y = [ln(x^2), sin(3x)] with
//! dy/dx = [2/x, 3 cos(3x)], each written directly and as a composition of annotated functions.
//! Every derivative is checked against its analytic formula (to 1e-12 relative) and against
//! central finite differences from `grad::runtime`.

use grad::derive_gradient;
use grad::runtime::{assert_gradient_close, assert_jacobian_close, Tolerance};

/// Relative agreement for derivatives computed by a different but equivalent formula.
const REL: f64 = 1e-12;

/// Points (x, y) covering signs, small and large magnitudes, and x = 0.
const POINTS: [(f64, f64); 7] = [
    (2.0, 3.0),
    (2.0, 5.0),
    (-0.7, 0.4),
    (0.05, -2.5),
    (4.0, 0.25),
    (-1.5, -1.1),
    (0.0, 1.0),
];

/// Points checked against the analytic gradient only: there central differences with the
/// checker's step (`6e-6 * max(1, |x|)`) are too inaccurate (g = 2x + y^8 at y = -5 loses
/// the 2x term to rounding next to y^8 = 390625).
const ANALYTIC_ONLY: [(f64, f64); 2] = [(1e-3, -5.0), (-3e-8, 1e3)];

/// Nonzero x for ln(x^2), where central differences are accurate (not |x| << 1: the step
/// is absolute there and ln(x^2) curves on the scale of x).
const XS: [f64; 7] = [0.3, -0.7, 1.0, 2.5, -4.0, 0.05, 17.0];

/// Nonzero x checked against the analytic derivative only.
const XS_ANALYTIC_ONLY: [f64; 3] = [1e-3, -1e-9, 1e12];

#[track_caller]
fn assert_close(got: f64, want: f64, what: &str) {
    let ok = got == want || (got - want).abs() <= REL * got.abs().max(want.abs());
    assert!(ok, "{what}: got {got}, want {want}");
}

// MATH.md 1: f(x, y) = 3x^2 y  ->  grad f = [6xy, 3x^2].
#[derive_gradient]
fn f(x: f64, y: f64) -> f64 {
    3.0 * x * x * y
}

// The same f with `powi`.
#[derive_gradient]
fn f_powi(x: f64, y: f64) -> f64 {
    3.0 * x.powi(2) * y
}

// MATH.md 1: g(x, y) = 2x + y^8  ->  grad g = [2, 8y^7].
#[derive_gradient]
fn g(x: f64, y: f64) -> f64 {
    2.0 * x + y.powi(8)
}

// The same g with `powf` (an integer exponent, so negative y is fine).
#[derive_gradient]
fn g_powf(x: f64, y: f64) -> f64 {
    2.0 * x + y.powf(8.0)
}

// A product of the two seed functions through calls: d(fg) = g df + f dg.
#[derive_gradient]
fn f_times_g(x: f64, y: f64) -> f64 {
    f(x, y) * g(x, y)
}

fn grad_f(x: f64, y: f64) -> [f64; 2] {
    [6.0 * x * y, 3.0 * x * x]
}

fn grad_g(_x: f64, y: f64) -> [f64; 2] {
    [2.0, 8.0 * y.powi(7)]
}

/// Checks `(value, (dx, dy))` of a two-argument function against its value, the analytic
/// gradient and finite differences.
#[track_caller]
fn check2(
    name: &str,
    func: fn(f64, f64) -> f64,
    grad: fn(f64, f64) -> (f64, (f64, f64)),
    analytic: fn(f64, f64) -> [f64; 2],
) {
    for (i, (x, y)) in POINTS.into_iter().chain(ANALYTIC_ONLY).enumerate() {
        let (v, (dx, dy)) = grad(x, y);
        assert_eq!(v, func(x, y), "{name} value at ({x}, {y})");
        let want = analytic(x, y);
        assert_close(dx, want[0], &format!("d{name}/dx at ({x}, {y})"));
        assert_close(dy, want[1], &format!("d{name}/dy at ({x}, {y})"));
        if i >= POINTS.len() {
            continue;
        }
        assert_gradient_close(
            |p: &[f64]| func(p[0], p[1]),
            &[x, y],
            &[dx, dy],
            Tolerance::default(),
        );
    }
}

#[test]
fn f_gradient_is_6xy_3x2() {
    check2("f", f, f_grad, grad_f);
    // The exact values of the crate-level example.
    assert_eq!(f_grad(2.0, 5.0), (60.0, (60.0, 12.0)));
}

#[test]
fn f_with_powi_gradient() {
    check2("f_powi", f_powi, f_powi_grad, grad_f);
}

#[test]
fn g_gradient_is_2_8y7() {
    check2("g", g, g_grad, grad_g);
    assert_eq!(g_grad(1.0, 2.0), (2.0 + 256.0, (2.0, 1024.0)));
}

#[test]
fn g_with_powf_gradient() {
    check2("g_powf", g_powf, g_powf_grad, grad_g);
}

#[test]
fn product_of_seed_functions_through_calls() {
    check2("f_times_g", f_times_g, f_times_g_grad, |x, y| {
        let (gf, gg) = (grad_f(x, y), grad_g(x, y));
        let (fv, gv) = (f(x, y), g(x, y));
        [gf[0] * gv + fv * gg[0], gf[1] * gv + fv * gg[1]]
    });
}

#[test]
fn grad_into_pullback_pushforward_agree_with_grad() {
    for (x, y) in POINTS {
        let (v, (dx, dy)) = f_grad(x, y);
        // grad_into overwrites its buffers.
        let (mut gx, mut gy) = (f64::NAN, 123.0);
        assert_eq!(f_grad_into(x, y, &mut gx, &mut gy), v);
        assert_eq!((gx, gy), (dx, dy));
        // pullback adds seed * gradient into the adjoints.
        let (mut ax, mut ay) = (1.0, -2.0);
        assert_eq!(f_pullback(x, y, 0.5, &mut ax, &mut ay), v);
        assert_close(ax, 1.0 + 0.5 * dx, "pullback x");
        assert_close(ay, -2.0 + 0.5 * dy, "pullback y");
        // pushforward along each axis gives one component (forward mode associates the
        // products differently, so equal up to rounding).
        let (vx, tx) = f_pushforward(x, y, 1.0, 0.0);
        let (vy, ty) = f_pushforward(x, y, 0.0, 1.0);
        assert_eq!((vx, vy), (v, v));
        assert_close(tx, dx, "pushforward x");
        assert_close(ty, dy, "pushforward y");
        let (_, d) = g_pushforward(x, y, 2.0, -1.0);
        let [gx, gy] = grad_g(x, y);
        assert_close(d, 2.0 * gx - gy, "g pushforward");
    }
}

// MATH.md 6: the two components of y = [ln(x^2), sin(3x)] as scalar functions.
#[derive_gradient]
fn ln_sq(x: f64) -> f64 {
    (x * x).ln()
}

#[derive_gradient]
fn ln_powi(x: f64) -> f64 {
    x.powi(2).ln()
}

#[derive_gradient]
fn sin3(x: f64) -> f64 {
    (3.0 * x).sin()
}

// The same, with the inner function an annotated function of its own: the chain rule across
// calls, d ln(u)/dx = (1/u) du/dx with u = x^2, du/dx = 2x.
#[derive_gradient]
fn sq(x: f64) -> f64 {
    x * x
}

#[derive_gradient]
fn ln_of_sq(x: f64) -> f64 {
    sq(x).ln()
}

#[derive_gradient]
fn triple(x: f64) -> f64 {
    3.0 * x
}

#[derive_gradient]
fn sin_of_triple(x: f64) -> f64 {
    let u = triple(x);
    u.sin()
}

/// Checks a one-argument function against its analytic derivative and finite differences.
#[track_caller]
fn check1(name: &str, func: fn(f64) -> f64, grad: fn(f64) -> (f64, f64), analytic: fn(f64) -> f64) {
    for (i, x) in XS.into_iter().chain(XS_ANALYTIC_ONLY).enumerate() {
        let (v, d) = grad(x);
        assert_eq!(v, func(x), "{name} value at {x}");
        assert_close(d, analytic(x), &format!("d{name}/dx at {x}"));
        if i >= XS.len() {
            continue;
        }
        assert_gradient_close(|p: &[f64]| func(p[0]), &[x], &[d], Tolerance::default());
    }
}

#[test]
fn ln_x2_derivative_is_2_over_x() {
    check1("ln_sq", ln_sq, ln_sq_grad, |x| 2.0 / x);
    check1("ln_powi", ln_powi, ln_powi_grad, |x| 2.0 / x);
    check1("ln_of_sq", ln_of_sq, ln_of_sq_grad, |x| 2.0 / x);
}

#[test]
fn sin_3x_derivative_is_3cos_3x() {
    check1("sin3", sin3, sin3_grad, |x| 3.0 * (3.0 * x).cos());
    check1("sin_of_triple", sin_of_triple, sin_of_triple_grad, |x| {
        3.0 * (3.0 * x).cos()
    });
}

// MATH.md 6 as a vector function: dy/dx is the column [2/x, 3 cos(3x)].
#[derive_gradient]
fn chain(x: f64) -> [f64; 2] {
    [(x * x).ln(), (3.0 * x).sin()]
}

#[test]
fn chain_rule_jacobian() {
    for x in XS {
        let (v, j) = chain_jacobian(x);
        assert_eq!(v, chain(x));
        assert_eq!((j.rows(), j.cols()), (2, 1));
        assert_close(j[(0, 0)], 2.0 / x, "d ln(x^2)/dx");
        assert_close(j[(1, 0)], 3.0 * (3.0 * x).cos(), "d sin(3x)/dx");
        assert_jacobian_close(|p| chain(p[0]).to_vec(), &[x], &j, Tolerance::default());
    }
}

// MATH.md 2: stacking the gradients of f and g gives J = [[6xy, 3x^2], [2, 8y^7]].
#[derive_gradient]
fn fg(x: f64, y: f64) -> [f64; 2] {
    [3.0 * x * x * y, 2.0 * x + y.powi(8)]
}

#[derive_gradient(layout = "denominator")]
fn fg_denominator(x: f64, y: f64) -> [f64; 2] {
    [3.0 * x * x * y, 2.0 * x + y.powi(8)]
}

#[test]
fn jacobian_rows_are_the_gradients() {
    for (x, y) in POINTS {
        let (v, j) = fg_jacobian(x, y);
        assert_eq!(v, [f(x, y), g(x, y)]);
        assert_eq!((j.rows(), j.cols()), (2, 2));
        // Row i of the numerator layout is the gradient of output i, as `*_grad` gives it.
        let (_, (fx, fy)) = f_grad(x, y);
        let (_, (gx, gy)) = g_grad(x, y);
        assert_eq!(j.row(0), &[fx, fy]);
        assert_eq!(j.row(1), &[gx, gy]);
        assert_jacobian_close(
            |p| fg(p[0], p[1]).to_vec(),
            &[x, y],
            &j,
            Tolerance::default(),
        );

        let (vd, jd) = fg_denominator_jacobian(x, y);
        assert_eq!(vd, v);
        assert_eq!(jd, j.transpose());
    }
}
