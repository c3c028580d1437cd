//! Regression tests for issue 8: a user's identifier that happens to equal a name the
//! generated code binds (`scale`, `seed`, `out`, ...) must not change any derivative.

use grad::derive_gradient;

#[derive_gradient]
fn div_by_scale(x: f64, scale: f64) -> f64 {
    x / scale
}

#[derive_gradient]
fn mul_by_scale(x: f64, scale: f64) -> f64 {
    x * scale
}

#[test]
fn a_parameter_named_scale_keeps_the_quotient_rule() {
    let (value, (dx, dscale)) = div_by_scale_grad(3.0, 2.0);
    assert_eq!(value, 1.5);
    assert_eq!(dx, 0.5);
    assert_eq!(dscale, -0.75);
}

#[test]
fn a_parameter_named_scale_keeps_the_product_tangent() {
    let (value, tangent) = mul_by_scale_pushforward(3.0, 2.0, 1.0, 0.0);
    assert_eq!(value, 6.0);
    assert_eq!(tangent, 2.0);
}
