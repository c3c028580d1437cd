//! Kinks, singular points and special values (API.md "Non-differentiable points"):
//! the documented conventions at kinks (`abs'(0) = +1`, `max`/`min` ties go to the second
//! argument), derivatives at singular points that follow the analytic formula (`sqrt'(0) =
//! +inf`, `ln'(0) = +inf`, division by zero, `powf` at base 0 and at a negative base), NaN and
//! infinite inputs that never panic, and zero adjoints (and tangents) that never turn into NaN
//! although a local partial is infinite (0 * inf is 0 there).
//!
//! Finite differences mean nothing at a kink or a singularity, so these tests compare with the
//! exact expected values; each says which convention or formula gives them.

// Several originals are only exercised through their companions.
#![allow(dead_code)]

use grad::derive_gradient;

/// Equal, or both NaN (the sign of a zero is not compared).
fn same(got: f64, want: f64) -> bool {
    got == want || (got.is_nan() && want.is_nan())
}

#[track_caller]
fn assert_same(got: f64, want: f64, what: &str) {
    assert!(same(got, want), "{what}: got {got}, want {want}");
}

#[derive_gradient]
fn abs(x: f64) -> f64 {
    x.abs()
}

#[derive_gradient]
fn abs_shifted(x: f64) -> f64 {
    (x - 1.0).abs() + (1.0 - x).abs()
}

#[test]
fn abs_at_zero_has_derivative_plus_one() {
    // Convention: abs'(0) = +1 (also at -0.0, which compares >= 0), as Clad, Enzyme and JAX.
    assert_eq!(abs_grad(0.0), (0.0, 1.0));
    assert_eq!(abs_grad(-0.0), (0.0, 1.0));
    assert_eq!(abs_pushforward(0.0, 1.0), (0.0, 1.0));
    let mut a = 0.5;
    abs_pullback(0.0, 2.0, &mut a);
    assert_eq!(a, 2.5);
    // Away from 0 it is the sign.
    assert_eq!(abs_grad(-3.0).1, -1.0);
    // At x = 1 both inner values are 0: d|x - 1|/dx = +1 * 1, d|1 - x|/dx = +1 * (-1).
    assert_eq!(abs_shifted_grad(1.0), (0.0, 0.0));
    assert_eq!(abs_shifted_grad(2.0), (2.0, 2.0));
}

#[derive_gradient]
fn relu(x: f64) -> f64 {
    x.max(0.0)
}

#[derive_gradient]
fn relu_flipped(x: f64) -> f64 {
    0.0_f64.max(x)
}

#[derive_gradient]
fn min_zero(x: f64) -> f64 {
    x.min(0.0)
}

#[derive_gradient]
fn max2(x: f64, y: f64) -> f64 {
    x.max(y)
}

#[derive_gradient]
fn min2(x: f64, y: f64) -> f64 {
    x.min(y)
}

#[derive_gradient]
fn max2_swapped(x: f64, y: f64) -> f64 {
    y.max(x)
}

#[test]
fn relu_at_zero_has_derivative_zero() {
    // Convention: at a tie `a.max(b)` passes the derivative to `b`, so `x.max(0.0)` has
    // derivative 0 at 0 (as PyTorch's relu and jax.nn.relu)...
    assert_eq!(relu_grad(0.0), (0.0, 0.0));
    assert_eq!(relu_pushforward(0.0, 1.0), (0.0, 0.0));
    assert_eq!(min_zero_grad(0.0), (0.0, 0.0));
    // ...and the same tie written `0.0.max(x)` has derivative 1: x is the second argument.
    assert_eq!(relu_flipped_grad(0.0), (0.0, 1.0));
    // Off the tie, the usual values.
    assert_eq!(relu_grad(1e-300).1, 1.0);
    assert_eq!(relu_grad(-1e-300).1, 0.0);
}

#[test]
fn max_and_min_ties_go_to_the_second_argument() {
    // Convention: at a tie the whole derivative goes to the second argument.
    assert_eq!(max2_grad(1.5, 1.5), (1.5, (0.0, 1.0)));
    assert_eq!(min2_grad(1.5, 1.5), (1.5, (0.0, 1.0)));
    assert_eq!(max2_grad(-0.0, 0.0).1, (0.0, 1.0));
    // `y.max(x)`: the second argument is x.
    assert_eq!(max2_swapped_grad(1.5, 1.5), (1.5, (1.0, 0.0)));
    // Forward mode follows the same convention.
    assert_eq!(max2_pushforward(1.5, 1.5, 1.0, 0.0).1, 0.0);
    assert_eq!(max2_pushforward(1.5, 1.5, 0.0, 1.0).1, 1.0);
    assert_eq!(min2_pushforward(1.5, 1.5, 0.0, 1.0).1, 1.0);
}

#[test]
fn max_and_min_with_nan_follow_the_value() {
    // `max`/`min` ignore a NaN argument; the derivative goes to the argument returned.
    assert_eq!(max2_grad(2.0, f64::NAN), (2.0, (1.0, 0.0)));
    assert_eq!(max2_grad(f64::NAN, 2.0), (2.0, (0.0, 1.0)));
    assert_eq!(min2_grad(2.0, f64::NAN), (2.0, (1.0, 0.0)));
    assert_eq!(min2_grad(f64::NAN, 2.0), (2.0, (0.0, 1.0)));
}

#[derive_gradient]
fn sqrt(x: f64) -> f64 {
    x.sqrt()
}

#[derive_gradient]
fn cbrt(x: f64) -> f64 {
    x.cbrt()
}

#[derive_gradient]
fn ln(x: f64) -> f64 {
    x.ln()
}

#[derive_gradient]
fn logs(x: f64) -> f64 {
    x.log2() + x.log10()
}

#[derive_gradient]
fn ln_1p(x: f64) -> f64 {
    x.ln_1p()
}

#[derive_gradient]
fn asin(x: f64) -> f64 {
    x.asin()
}

#[derive_gradient]
fn acos(x: f64) -> f64 {
    x.acos()
}

#[test]
fn sqrt_and_cbrt_at_zero_are_plus_infinity() {
    // Formula: sqrt'(x) = 0.5 / sqrt(x) = +inf at 0; cbrt'(x) = 1 / (3 cbrt(x)^2) = +inf.
    assert_eq!(sqrt_grad(0.0), (0.0, f64::INFINITY));
    assert_eq!(sqrt_pushforward(0.0, 1.0), (0.0, f64::INFINITY));
    let mut a = 0.0;
    sqrt_pullback(0.0, 1.0, &mut a);
    assert_eq!(a, f64::INFINITY);
    assert_eq!(cbrt_grad(0.0), (0.0, f64::INFINITY));
    // Negative input: sqrt is NaN and so is its derivative.
    let (v, d) = sqrt_grad(-1.0);
    assert!(v.is_nan() && d.is_nan());
}

#[test]
fn logarithms_at_zero_have_derivative_plus_infinity() {
    // Formula: ln'(x) = 1/x = +inf at +0 (the value is -inf); log2, log10 likewise; and
    // ln_1p'(x) = 1/(1 + x) = +inf at -1.
    assert_eq!(ln_grad(0.0), (f64::NEG_INFINITY, f64::INFINITY));
    assert_eq!(logs_grad(0.0), (f64::NEG_INFINITY, f64::INFINITY));
    assert_eq!(ln_1p_grad(-1.0), (f64::NEG_INFINITY, f64::INFINITY));
    // Negative input: the value is NaN, the derivative is what the formula 1/x gives.
    let (v, d) = ln_grad(-1.0);
    assert!(v.is_nan());
    assert_eq!(d, -1.0);
}

#[test]
fn asin_acos_at_the_domain_edge_are_infinite() {
    // Formula: asin'(x) = 1 / sqrt(1 - x^2) = +inf at +-1; acos' = -asin'.
    assert_eq!(asin_grad(1.0).1, f64::INFINITY);
    assert_eq!(asin_grad(-1.0).1, f64::INFINITY);
    assert_eq!(acos_grad(1.0).1, f64::NEG_INFINITY);
    // Outside the domain: NaN.
    assert!(asin_grad(1.5).1.is_nan());
}

#[derive_gradient]
fn powf(x: f64, y: f64) -> f64 {
    x.powf(y)
}

#[derive_gradient]
fn powi0(x: f64) -> f64 {
    x.powi(0)
}

#[derive_gradient]
fn powi_m1(x: f64) -> f64 {
    x.powi(-1)
}

#[derive_gradient]
fn powi2(x: f64) -> f64 {
    x.powi(2)
}

#[test]
fn powf_at_base_zero() {
    // Convention: the exponent derivative x^y ln(x) is taken as 0 where the base is 0 (JAX's
    // convention; the formula would give 0 * -inf = NaN). The base derivative follows the
    // formula y x^(y-1): 0 for y > 1, +inf for 0 < y < 1, and 0 for y = 0 (x^0 = 1 is
    // constant, also a convention at 0^0).
    assert_eq!(powf_grad(0.0, 2.0), (0.0, (0.0, 0.0)));
    assert_eq!(powf_grad(0.0, 1.0), (0.0, (1.0, 0.0)));
    assert_eq!(powf_grad(0.0, 0.5), (0.0, (f64::INFINITY, 0.0)));
    assert_eq!(powf_grad(0.0, 0.0), (1.0, (0.0, 0.0)));
    // Forward mode agrees.
    assert_eq!(powf_pushforward(0.0, 2.0, 0.0, 1.0), (0.0, 0.0));
    assert_eq!(powf_pushforward(0.0, 0.0, 1.0, 0.0), (1.0, 0.0));
    // x^0 for any x: base derivative 0.
    assert_eq!(powf_grad(3.0, 0.0), (1.0, (0.0, 3f64.ln())));
}

#[test]
fn powf_at_a_negative_base() {
    // Formula: with an integer exponent the value and the base derivative are finite, but the
    // exponent derivative x^y ln(x) has ln of a negative number: NaN.
    let (v, (dx, dy)) = powf_grad(-2.0, 3.0);
    assert_eq!(v, -8.0);
    assert_eq!(dx, 12.0);
    assert!(dy.is_nan(), "{dy}");
    // With a fractional exponent everything is NaN.
    let (v, (dx, dy)) = powf_grad(-2.0, 0.5);
    assert!(v.is_nan() && dx.is_nan() && dy.is_nan(), "{v} {dx} {dy}");
}

#[test]
fn powi_at_zero() {
    // Formula: n x^(n-1): 2 * 0 = 0 for n = 2; -1 * 0^-2 = -inf for n = -1.
    assert_eq!(powi2_grad(0.0), (0.0, 0.0));
    assert_eq!(powi_m1_grad(0.0), (f64::INFINITY, f64::NEG_INFINITY));
}

#[test]
fn powi_zero_exponent_at_zero() {
    // x^0 = 1 is constant, so its derivative is 0 everywhere, as `powf` gives for y = 0
    // (see `powf_at_base_zero`); the formula n x^(n-1) would give 0 * inf = NaN at x = 0.
    assert_eq!(powi0_grad(2.0), (1.0, 0.0));
    assert_eq!(powi0_grad(0.0), (1.0, 0.0));
}

#[derive_gradient]
fn div(x: f64, y: f64) -> f64 {
    x / y
}

#[derive_gradient]
fn one_over(x: f64) -> f64 {
    1.0 / x
}

#[derive_gradient]
fn recip(x: f64) -> f64 {
    x.recip()
}

#[test]
fn division_by_zero_follows_the_formula() {
    // Formula: d(x/y)/dx = 1/y, d(x/y)/dy = -x/y^2 (computed as -(x/y)/y).
    assert_eq!(
        div_grad(1.0, 0.0),
        (f64::INFINITY, (f64::INFINITY, f64::NEG_INFINITY))
    );
    assert_eq!(
        div_grad(-1.0, 0.0),
        (f64::NEG_INFINITY, (f64::INFINITY, f64::INFINITY))
    );
    // 0/0: the value is NaN, 1/y is +inf, -x/y^2 is NaN.
    let (v, (dx, dy)) = div_grad(0.0, 0.0);
    assert!(v.is_nan() && dy.is_nan());
    assert_eq!(dx, f64::INFINITY);
    // d(1/x)/dx = -1/x^2 = -inf at 0, for `1.0 / x` and `x.recip()`.
    assert_eq!(one_over_grad(0.0), (f64::INFINITY, f64::NEG_INFINITY));
    assert_eq!(recip_grad(0.0), (f64::INFINITY, f64::NEG_INFINITY));
}

#[derive_gradient]
fn hypot(x: f64, y: f64) -> f64 {
    x.hypot(y)
}

#[derive_gradient]
fn atan2(y: f64, x: f64) -> f64 {
    y.atan2(x)
}

#[test]
fn hypot_and_atan2_at_the_origin_are_nan() {
    // Formula: d hypot/dx = x / hypot = 0/0 and d atan2(y, x)/dy = x / (x^2 + y^2) = 0/0:
    // NaN, as the formula gives (the functions are not differentiable there).
    let (v, (dx, dy)) = hypot_grad(0.0, 0.0);
    assert_eq!(v, 0.0);
    assert!(dx.is_nan() && dy.is_nan());
    let (v, (dy, dx)) = atan2_grad(0.0, 0.0);
    assert_eq!(v, 0.0);
    assert!(dx.is_nan() && dy.is_nan());
}

// A battery of functions for non-finite inputs.
#[derive_gradient]
fn exp(x: f64) -> f64 {
    x.exp()
}

#[derive_gradient]
fn tanh(x: f64) -> f64 {
    x.tanh()
}

#[derive_gradient]
fn atan(x: f64) -> f64 {
    x.atan()
}

#[derive_gradient]
fn sin(x: f64) -> f64 {
    x.sin()
}

#[derive_gradient]
fn mixed(x: f64, y: f64) -> f64 {
    let r = (x * x + y * y).sqrt();
    let t = y.atan2(x) * x.exp_m1() - (x / y).powi(3);
    r.max(t).min(x.powf(y)) + x.hypot(y).ln() * x.cosh() / y.sinh().abs()
}

#[derive_gradient]
fn branchy(x: f64, y: f64) -> f64 {
    if x > y {
        x * y
    } else if x.abs() < 1.0 && y >= 0.0 {
        x + y
    } else {
        y
    }
}

#[test]
fn nan_and_infinite_inputs_never_panic() {
    let specials = [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        0.0,
        -0.0,
        1.0,
        -1.0,
    ];
    type Unary = (
        fn(f64) -> f64,
        fn(f64) -> (f64, f64),
        fn(f64, f64) -> (f64, f64),
    );
    let unary: [Unary; 12] = [
        (abs, abs_grad, abs_pushforward),
        (relu, relu_grad, relu_pushforward),
        (sqrt, sqrt_grad, sqrt_pushforward),
        (cbrt, cbrt_grad, cbrt_pushforward),
        (ln, ln_grad, ln_pushforward),
        (logs, logs_grad, logs_pushforward),
        (asin, asin_grad, asin_pushforward),
        (recip, recip_grad, recip_pushforward),
        (exp, exp_grad, exp_pushforward),
        (tanh, tanh_grad, tanh_pushforward),
        (atan, atan_grad, atan_pushforward),
        (sin, sin_grad, sin_pushforward),
    ];
    for (f, grad, push) in unary {
        for x in specials {
            let (v, _) = grad(x);
            assert_same(v, f(x), &format!("value at {x}"));
            let (v, _) = push(x, 1.0);
            assert_same(v, f(x), &format!("pushforward value at {x}"));
        }
    }
    type Binary = (fn(f64, f64) -> f64, fn(f64, f64) -> (f64, (f64, f64)));
    let binary: [Binary; 8] = [
        (max2, max2_grad),
        (min2, min2_grad),
        (powf, powf_grad),
        (div, div_grad),
        (hypot, hypot_grad),
        (atan2, atan2_grad),
        (mixed, mixed_grad),
        (branchy, branchy_grad),
    ];
    for (f, grad) in binary {
        for x in specials {
            for y in specials {
                let (v, _) = grad(x, y);
                assert_same(v, f(x, y), &format!("value at ({x}, {y})"));
            }
        }
    }
    // A NaN input gives a NaN derivative for the smooth functions.
    for grad in [exp_grad, tanh_grad, atan_grad, sin_grad, sqrt_grad, ln_grad] {
        assert!(grad(f64::NAN).1.is_nan());
    }
}

#[test]
fn derivatives_at_infinity_follow_the_formula() {
    // exp' = exp: inf at +inf, 0 at -inf. tanh' = 1 - tanh^2 = 0 and atan' = 1/(1 + x^2) = 0
    // at +-inf. sqrt' = 0.5/sqrt = 0 and ln' = 1/x = 0 at +inf. sin' = cos(inf) = NaN.
    assert_eq!(exp_grad(f64::INFINITY).1, f64::INFINITY);
    assert_eq!(exp_grad(f64::NEG_INFINITY).1, 0.0);
    assert_eq!(tanh_grad(f64::INFINITY).1, 0.0);
    assert_eq!(tanh_grad(f64::NEG_INFINITY).1, 0.0);
    assert_eq!(atan_grad(f64::INFINITY).1, 0.0);
    assert_eq!(sqrt_grad(f64::INFINITY).1, 0.0);
    assert_eq!(ln_grad(f64::INFINITY).1, 0.0);
    assert!(sin_grad(f64::INFINITY).1.is_nan());
}

#[derive_gradient]
fn zero_times_sqrt(x: f64) -> f64 {
    0.0 * x.sqrt()
}

#[derive_gradient]
fn y_times_sqrt(x: f64, y: f64) -> f64 {
    y * x.sqrt()
}

#[derive_gradient]
fn dead_sqrt(x: f64) -> f64 {
    let s = x.sqrt();
    let _unused = s * 2.0;
    x
}

#[derive_gradient]
fn ln_in_untaken_branch(x: f64) -> f64 {
    let l = x.ln();
    if x > 0.0 {
        l
    } else {
        0.0
    }
}

#[derive_gradient]
fn sqrt_capped(x: f64) -> f64 {
    x.sqrt().max(1.0)
}

#[derive_gradient]
fn zero_over_x(x: f64) -> f64 {
    0.0 * (1.0 / x) + 0.0 * x.powi(-2) + 0.0 * x.ln() + 0.0 * x.cbrt()
}

#[derive_gradient]
fn inner_sqrt(x: f64) -> f64 {
    x.sqrt()
}

#[derive_gradient]
fn zero_times_call(x: f64) -> f64 {
    0.0 * inner_sqrt(x) + x
}

#[test]
fn zero_adjoint_never_becomes_nan() {
    // Contract: where a local partial is infinite (sqrt'(0), ln'(0), 1/x at 0, ...) but the
    // adjoint reaching it is exactly 0, the contribution is 0, not 0 * inf = NaN.
    // 0 * sqrt(x) is identically 0: derivative 0 at 0.
    assert_eq!(zero_times_sqrt_grad(0.0), (0.0, 0.0));
    // y sqrt(x) at (0, 0): the adjoint of sqrt(x) is y = 0.
    assert_eq!(y_times_sqrt_grad(0.0, 0.0), (0.0, (0.0, 0.0)));
    assert_eq!(y_times_sqrt_grad(0.0, 1.0).1 .0, f64::INFINITY);
    // A dead value with an infinite partial does not poison the live path.
    assert_eq!(dead_sqrt_grad(0.0), (0.0, 1.0));
    // ln(0) = -inf is computed but the branch taken does not use it.
    assert_eq!(ln_in_untaken_branch_grad(0.0), (0.0, 0.0));
    // max(sqrt(0), 1) = 1 takes the constant: the sqrt's adjoint is 0.
    assert_eq!(sqrt_capped_grad(0.0), (1.0, 0.0));
    let (v, d) = zero_over_x_grad(0.0);
    assert!(v.is_nan(), "0 * inf is NaN in the value: {v}");
    assert_eq!(d, 0.0);
    // Through a call: the callee's pullback receives a zero seed.
    assert_eq!(zero_times_call_grad(0.0), (0.0, 1.0));
    // A zero seed to a pullback leaves the adjoint untouched at a singular point.
    for f in [
        sqrt_pullback,
        ln_pullback,
        cbrt_pullback,
        recip_pullback,
        asin_pullback,
    ] {
        let mut a = 0.25;
        f(0.0, 0.0, &mut a);
        assert_eq!(a, 0.25);
    }
    let mut a = 0.25;
    asin_pullback(1.0, 0.0, &mut a);
    assert_eq!(a, 0.25);
    let (mut ax, mut ay) = (0.0, 0.0);
    div_pullback(1.0, 0.0, 0.0, &mut ax, &mut ay);
    assert_eq!((ax, ay), (0.0, 0.0));
}

#[test]
fn zero_tangent_never_becomes_nan() {
    // Forward mode: a zero tangent through an infinite partial stays 0.
    assert_eq!(sqrt_pushforward(0.0, 0.0), (0.0, 0.0));
    assert_eq!(ln_pushforward(0.0, 0.0).1, 0.0);
    assert_eq!(recip_pushforward(0.0, 0.0).1, 0.0);
    // y sqrt(x) at (0, 0) along y only: the tangent of sqrt(x) is 0 * inf -> 0.
    assert_eq!(y_times_sqrt_pushforward(0.0, 0.0, 0.0, 1.0), (0.0, 0.0));
    assert_eq!(powf_pushforward(0.0, 0.5, 0.0, 1.0), (0.0, 0.0));
}

#[test]
fn forward_mode_matches_reverse_at_zero_adjoint_points() {
    // pushforward with a unit tangent must equal the gradient component, also where reverse
    // mode relies on the zero-adjoint rule: d(0 * sqrt(x))/dx at 0 is 0 (reverse gives 0).
    assert_eq!(zero_times_sqrt_pushforward(0.0, 1.0), (0.0, 0.0));
    assert_eq!(y_times_sqrt_pushforward(0.0, 0.0, 1.0, 0.0), (0.0, 0.0));
    assert_eq!(sqrt_capped_pushforward(0.0, 1.0), (1.0, 0.0));
    assert_eq!(zero_times_call_pushforward(0.0, 1.0), (0.0, 1.0));
    // The same output inside a Jacobian built column-wise (more outputs than inputs).
    let (_, j) = capped_pair_jacobian(0.0);
    assert_eq!(j.col(0), vec![0.0, 1.0]);
}

#[derive_gradient]
fn capped_pair(x: f64) -> [f64; 2] {
    [x.sqrt().max(1.0), x]
}

// `f_grad_into` starts a buffer the pullback adds into on every call at `-0.0` (so that the
// first addition is exact and free); every other buffer starts at `+0.0`, so a derivative
// nothing contributes to reads `+0.0`, never `-0.0`.

#[derive_gradient]
#[allow(unused_variables)]
fn ignores_y(x: f64, y: f64) -> f64 {
    2.0 * x
}

#[derive_gradient]
fn uses_y_in_one_branch(x: f64, y: f64) -> f64 {
    if x > 0.0 {
        x * y
    } else {
        x
    }
}

#[derive_gradient]
fn uses_one_element(q: [f64; 3], k: f64) -> f64 {
    k * q[0]
}

#[derive_gradient]
fn product(x: f64, y: f64) -> f64 {
    x * y
}

#[track_caller]
fn assert_plus_zero(got: f64, what: &str) {
    assert!(
        got == 0.0 && got.is_sign_positive(),
        "{what}: got {got:?}, want +0.0"
    );
}

#[test]
fn derivatives_nothing_contributes_to_are_plus_zero() {
    let (_, (gx, gy)) = ignores_y_grad(1.5, -2.0);
    assert_eq!(gx, 2.0);
    assert_plus_zero(gy, "d/dy of 2x");
    let (_, (gx, gy)) = uses_y_in_one_branch_grad(-1.0, 3.0);
    assert_eq!(gx, 1.0);
    assert_plus_zero(gy, "d/dy on the branch without y");
    let (_, (gq, gk)) = uses_one_element_grad([2.0, 5.0, -1.0], 3.0);
    assert_eq!((gq[0], gk), (3.0, 2.0));
    assert_plus_zero(gq[1], "d/dq[1]");
    assert_plus_zero(gq[2], "d/dq[2]");
    // Into buffers holding anything: overwritten all the same.
    let (mut gx, mut gy) = (f64::NAN, -7.0);
    ignores_y_grad_into(1.0, 1.0, &mut gx, &mut gy);
    assert_eq!(gx, 2.0);
    assert_plus_zero(gy, "d/dy of 2x into a used buffer");
}

#[test]
fn a_computed_derivative_is_exact_whatever_its_sign() {
    // d/dx (x y) = y: whatever y is, the gradient is y itself.
    for y in [3.25, -3.25, 0.0, -0.0, 1e-310, -1e-310, f64::INFINITY] {
        let (_, (gx, gy)) = product_grad(0.5, y);
        assert_eq!(gx.to_bits(), y.to_bits(), "d/dx at y = {y:?}");
        assert_eq!(gy, 0.5);
    }
}

#[derive_gradient]
fn sqrt_of_product(x: f64, y: f64) -> f64 {
    (x * y).sqrt()
}

#[derive_gradient(forward)]
fn sqrt_of_product_forward(x: f64, y: f64) -> f64 {
    (x * y).sqrt()
}

#[derive_gradient]
fn sqrt_of_product_and_inputs(x: f64, y: f64) -> [f64; 3] {
    [(x * y).sqrt(), x, y]
}

#[test]
fn pushforward_of_a_float_result_is_the_gradient_along_the_tangent() {
    // `f_pushforward` of a float result is `f_grad`'s gradient dotted with the tangent, the
    // entries with a zero tangent skipped, at singular points too. sqrt(x y) at (0, 1):
    // reverse mode gives d/dx = +inf and d/dy = inf * x = NaN.
    let (_, (gx, gy)) = sqrt_of_product_grad(0.0, 1.0);
    assert_same(gx, f64::INFINITY, "d/dx");
    assert!(gy.is_nan(), "d/dy: got {gy}");
    assert_eq!(
        sqrt_of_product_pushforward(0.0, 1.0, 1.0, 0.0),
        (0.0, f64::INFINITY)
    );
    let (v, along_y) = sqrt_of_product_pushforward(0.0, 1.0, 0.0, 1.0);
    assert_eq!(v, 0.0);
    assert!(along_y.is_nan(), "along y: got {along_y}");
    // A zero tangent skips the infinite and the NaN entry alike.
    assert_eq!(sqrt_of_product_pushforward(0.0, 1.0, 0.0, 0.0), (0.0, 0.0));
    // Forward mode (the columns of a Jacobian with more outputs than inputs) follows the
    // tangent through each operation instead: along y, x y stays 0 and so does its root.
    // So does `f_pushforward` with `#[derive_gradient(forward)]`.
    assert_eq!(
        sqrt_of_product_forward_pushforward(0.0, 1.0, 0.0, 1.0),
        (0.0, 0.0)
    );
    assert_eq!(
        sqrt_of_product_forward_pushforward(0.0, 1.0, 1.0, 0.0),
        (0.0, f64::INFINITY)
    );
    let (_, j) = sqrt_of_product_and_inputs_jacobian(0.0, 1.0);
    assert_eq!(j.col(1), vec![0.0, 0.0, 1.0]);
    assert_eq!(j[(0, 0)], f64::INFINITY);
}
