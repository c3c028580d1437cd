//! Custom rules: `#[grad::custom_gradient(..)]` gives the derivative of a function the macro
//! does not read (here `libm::erf`, and a numerically stable softplus), `grad::check_rule!`
//! checks it in one line, annotated functions call it (also inside loops), and
//! `grad::no_grad` stops a gradient.

use grad::{check_rule, custom_gradient, derive_gradient, no_grad};

/// The error function, from libm; d/dx erf(x) = 2/sqrt(pi) exp(-x^2).
#[custom_gradient(x = std::f64::consts::FRAC_2_SQRT_PI * (-x * x).exp())]
fn erf(x: f64) -> f64 {
    libm::erf(x)
}

/// log(1 + e^x) without overflow; its derivative is the logistic function, written with
/// `value` (the result): 1 - e^-value.
#[custom_gradient(x = 1.0 - (-value).exp())]
fn softplus(x: f64) -> f64 {
    if x > 30.0 {
        x + (-x).exp()
    } else {
        x.exp().ln_1p()
    }
}

/// A rule of two variables.
#[custom_gradient(a = b * a.cos(), b = a.sin())]
fn scaled_sin(a: f64, b: f64) -> f64 {
    b * a.sin()
}

#[derive_gradient]
fn gaussian_cdf_loss(x: &[f64], mu: f64) -> f64 {
    let mut s = 0.0;
    for &v in x.iter() {
        let c = 0.5 * (1.0 + erf((v - mu) * std::f64::consts::FRAC_1_SQRT_2));
        s += softplus(c * 3.0) + scaled_sin(v, mu);
    }
    s
}

#[test]
fn rules_agree_with_finite_differences() {
    for x in [-1.5, -0.2, 0.0, 0.7, 2.5] {
        check_rule!(erf, x);
        check_rule!(softplus, x);
        check_rule!(scaled_sin, x, 0.5 * x + 1.0);
    }
}

#[test]
fn softplus_is_stable_where_the_naive_form_overflows() {
    let (v, d) = softplus_grad(800.0);
    assert_eq!(v, 800.0);
    assert_eq!(d, 1.0);
    let (v, d) = softplus_grad(-800.0);
    assert_eq!((v, d), (0.0, 0.0));
}

#[test]
fn annotated_functions_call_rules_inside_loops() {
    let x = [0.3, -1.2, 0.8, 2.0];
    let mu = 0.4;
    let (v, (gx, gmu)) = gaussian_cdf_loss_grad(&x, mu);
    assert_eq!(v, gaussian_cdf_loss(&x, mu));
    let mut p = x.to_vec();
    p.push(mu);
    let mut g = gx.clone();
    g.push(gmu);
    grad::runtime::assert_gradient_close(
        |q: &[f64]| gaussian_cdf_loss(&q[..4], q[4]),
        &p,
        &g,
        grad::runtime::Tolerance::default(),
    );
    let (_, t) = gaussian_cdf_loss_pushforward(&x, mu, &[0.0; 4], 1.0);
    assert!((t - gmu).abs() < 1e-12 * gmu.abs().max(1.0));
}

#[derive_gradient]
fn stopped(x: f64, y: f64) -> f64 {
    let s = no_grad(x * y);
    s * x + grad::no_grad(y).sin()
}

#[test]
fn no_grad_treats_a_value_as_a_constant() {
    let (v, (dx, dy)) = stopped_grad(2.0, 3.0);
    assert_eq!(v, 12.0 + 3f64.sin());
    assert_eq!((dx, dy), (6.0, 0.0));
    let (_, t) = stopped_pushforward(2.0, 3.0, 1.0, 1.0);
    assert_eq!(t, 6.0);
}
