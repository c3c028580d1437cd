//! Hygiene: no name in the user's code can change a derivative. For every name the code
//! generator binds (the list comes from `grad_compiler::names::Binder::ALL`, written out by
//! this package's build script), functions whose parameters, locals and called functions
//! carry that name are differentiated, and every companion is checked against central
//! finite differences. Plus the two cases of the original report.

use grad::derive_gradient;
use grad::runtime::{assert_gradient_close, Tolerance};

/// Checks `f(x, y)`'s gradient against finite differences and its pushforward along each
/// axis against the gradient.
#[track_caller]
pub fn check2(
    f: impl Fn(f64, f64) -> f64,
    grad: impl Fn(f64, f64) -> (f64, f64),
    push: impl Fn(f64, f64, f64, f64) -> f64,
    x: f64,
    y: f64,
) {
    let (gx, gy) = grad(x, y);
    assert_gradient_close(
        |p: &[f64]| f(p[0], p[1]),
        &[x, y],
        &[gx, gy],
        Tolerance::default(),
    );
    let (tx, ty) = (push(x, y, 1.0, 0.0), push(x, y, 0.0, 1.0));
    assert!(
        (tx - gx).abs() <= 1e-12 * gx.abs().max(1.0),
        "pushforward d/dx {tx} vs {gx}"
    );
    assert!(
        (ty - gy).abs() <= 1e-12 * gy.abs().max(1.0),
        "pushforward d/dy {ty} vs {gy}"
    );
}

include!(concat!(env!("OUT_DIR"), "/hygiene_cases.rs"));

#[derive_gradient]
fn div_by_scale(x: f64, scale: f64) -> f64 {
    x / scale
}

#[derive_gradient]
fn mul_by_scale(x: f64, scale: f64) -> f64 {
    x * scale
}

#[test]
fn the_reported_cases() {
    let (value, (dx, dscale)) = div_by_scale_grad(3.0, 2.0);
    assert_eq!((value, dx, dscale), (1.5, 0.5, -0.75));
    assert_eq!(mul_by_scale_pushforward(3.0, 2.0, 1.0, 0.0), (6.0, 2.0));
}
