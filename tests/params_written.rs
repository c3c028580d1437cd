//! Parameters the body writes (`mut x: [f64; 2]`, `mut x: f64`): the gradient is with respect
//! to the value passed in, and a pullback adds to what its buffers already hold.

use grad::derive_gradient;
use grad::runtime::{assert_gradient_close, Tolerance};

#[derive_gradient]
fn swap_then_product(mut x: [f64; 2]) -> f64 {
    x = [x[1] * 3.0, x[0]];
    x[0] * x[1] + x[0]
}

#[derive_gradient]
fn overwrite_element(mut x: [f64; 3], y: f64) -> f64 {
    x[0] = y * x[1];
    x[0] * x[2] + x[1]
}

#[derive_gradient]
fn scalar_param_updated(mut x: f64, n: usize) -> f64 {
    for _ in 0..n {
        x = x * x + 0.5;
    }
    x
}

#[test]
fn whole_array_parameter_reassigned() {
    let (v, g) = swap_then_product_grad([2.0, 5.0]);
    // f = 3 x1 x0 + 3 x1: df/dx0 = 3 x1, df/dx1 = 3 x0 + 3.
    assert_eq!(v, 3.0 * 5.0 * 2.0 + 15.0);
    assert_eq!(g, [15.0, 9.0]);
    let f = |p: &[f64]| swap_then_product([p[0], p[1]]);
    assert_gradient_close(f, &[2.0, 5.0], &g, Tolerance::default());
}

#[test]
fn pullback_adds_to_its_buffers_for_a_written_parameter() {
    let mut adj = [1.0, -1.0];
    swap_then_product_pullback([2.0, 5.0], 2.0, &mut adj);
    assert_eq!(adj, [1.0 + 30.0, -1.0 + 18.0]);
}

#[test]
fn element_of_a_parameter_overwritten() {
    let (x, y) = ([1.5, -2.0, 4.0], 0.5);
    let (v, (gx, gy)) = overwrite_element_grad(x, y);
    // f = y x1 x2 + x1.
    assert_eq!(v, y * x[1] * x[2] + x[1]);
    assert_eq!(gx, [0.0, y * x[2] + 1.0, y * x[1]]);
    assert_eq!(gy, x[1] * x[2]);
    let mut adj_x = [10.0, 10.0, 10.0];
    let mut adj_y = 1.0;
    overwrite_element_pullback(x, y, 1.0, &mut adj_x, &mut adj_y);
    assert_eq!(adj_x, [10.0, 10.0 + gx[1], 10.0 + gx[2]]);
    assert_eq!(adj_y, 1.0 + gy);
}

#[test]
fn scalar_parameter_updated_in_a_loop() {
    for x in [0.3, -0.7, 1.1] {
        let (v, g) = scalar_param_updated_grad(x, 3);
        assert_eq!(v, scalar_param_updated(x, 3));
        let f = |p: &[f64]| scalar_param_updated(p[0], 3);
        assert_gradient_close(f, &[x], &[g], Tolerance::default());
        let (_, t) = scalar_param_updated_pushforward(x, 3, 1.0);
        assert!((t - g).abs() <= 1e-12 * g.abs().max(1.0));
    }
}
