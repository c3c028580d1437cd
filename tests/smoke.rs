//! Quick end-to-end checks across the features: seed gradients, the ReLU loss, loops, calls
//! through annotated functions, f32, vector and tuple results, `&Vec` parameters, constants.
#![allow(clippy::assign_op_pattern, clippy::ptr_arg)]

use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64, y: f64) -> f64 {
    3.0 * x * x * y
}

#[derive_gradient(wrt(w, b))]
fn relu_loss(w: &[f64], b: f64, x: &[f64], y: &[f64], n: usize, d: usize) -> f64 {
    let mut total = 0.0;
    for i in 0..n {
        let mut z = b;
        for j in 0..d {
            z += w[j] * x[i * d + j];
        }
        let r = y[i] - z.max(0.0);
        total += r * r;
    }
    total / n as f64
}

#[derive_gradient]
fn power(x: f64, n: usize) -> f64 {
    let mut p = 1.0;
    for _ in 0..n {
        p = p * x;
    }
    p
}

#[derive_gradient]
fn newton_sqrt(a: f64) -> f64 {
    let mut x = a;
    while (x * x - a).abs() > 1e-12 * a {
        x = 0.5 * (x + a / x);
    }
    x
}

#[derive_gradient]
fn early(x: f64) -> f64 {
    if x > 1.0 {
        return x * x;
    }
    let y = x.sin();
    y * 2.0
}

#[derive_gradient]
fn g(x: f64, y: f64) -> [f64; 2] {
    [3.0 * x * x * y, 2.0 * x + y.powi(8)]
}

#[test]
fn smoke() {
    let (v, (dx, dy)) = f_grad(2.0, 5.0);
    assert_eq!(v, 60.0);
    assert_eq!((dx, dy), (60.0, 12.0));
    let (v, d) = power_grad(1.5, 3);
    assert!((v - 3.375).abs() < 1e-12);
    assert!((d - 3.0 * 2.25).abs() < 1e-12, "{d}");
    let (v, d) = newton_sqrt_grad(2.0);
    assert!((v - 2f64.sqrt()).abs() < 1e-10);
    assert!((d - 0.5 / 2f64.sqrt()).abs() < 1e-8, "{d}");
    assert_eq!(early_grad(2.0).1, 4.0);
    assert!((early_grad(0.5).1 - 2.0 * 0.5f64.cos()).abs() < 1e-12);
    let w = [0.5, -0.25];
    let x = [1.0, 2.0, 3.0, -1.0, -4.0, 0.5];
    let y = [1.0, 0.0, 2.0];
    let (loss, (gw, gb)) = relu_loss_grad(&w, 0.1, &x, &y, 3, 2);
    let loss2 = relu_loss(&w, 0.1, &x, &y, 3, 2);
    assert!((loss - loss2).abs() <= 1e-12 * loss2.abs());
    let fd = grad::runtime::finite_diff_gradient(
        |p: &[f64]| relu_loss(&p[..2], p[2], &x, &y, 3, 2),
        &[0.5, -0.25, 0.1],
    );
    let mut all = gw.clone();
    all.push(gb);
    for (a, b) in all.iter().zip(&fd) {
        assert!((a - b).abs() < 1e-6, "{all:?} vs {fd:?}");
    }
    let (val, jac) = g_jacobian(2.0, 1.5);
    assert_eq!(val, g(2.0, 1.5));
    assert_eq!(jac[(0, 0)], 6.0 * 2.0 * 1.5);
    assert_eq!(jac[(1, 1)], 8.0 * 1.5f64.powi(7));
}

#[derive_gradient]
fn sq(x: f64) -> f64 {
    x * x
}

#[derive_gradient]
fn uses_sq(x: f64, y: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..3 {
        s += sq(x * i as f64) + y;
    }
    s
}

#[derive_gradient]
fn f32fn(x: f32, a: [f32; 3]) -> f32 {
    x * a[0] + a[1].sin() * a[2]
}

#[derive_gradient]
fn vecout(x: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; x.len()];
    for i in 0..x.len() {
        out[i] = x[i].ln() * 2.0;
    }
    out
}

#[derive_gradient(layout = "denominator")]
fn tup(x: f64, y: f64) -> (f64, f64, f64) {
    (x * y, x + y, x / y)
}

#[derive_gradient]
fn dot3(a: [f64; 3], b: &Vec<f64>) -> f64 {
    let mut s = 0.0;
    for i in 0..3 {
        s += a[i] * b[i];
    }
    s
}

#[test]
fn smoke2() {
    let (v, (dx, dy)) = uses_sq_grad(2.0, 1.0);
    assert_eq!(v, uses_sq(2.0, 1.0));
    assert_eq!(dx, 2.0 * 2.0 * (0.0 + 1.0 + 4.0));
    assert_eq!(dy, 3.0);
    let (_, (dx, da)) = f32fn_grad(2.0, [1.0, 0.5, 3.0]);
    assert_eq!(dx, 1.0);
    assert_eq!(da, [2.0, 0.5f32.cos() * 3.0, 0.5f32.sin()]);
    let (v, j) = vecout_jacobian(&[1.0, 2.0, 4.0]);
    assert_eq!(v.len(), 3);
    assert_eq!(j[(1, 1)], 1.0);
    assert_eq!(j[(1, 0)], 0.0);
    assert_eq!(j[(2, 2)], 0.5);
    let (v, j) = tup_jacobian(2.0, 4.0);
    assert_eq!(v, (8.0, 6.0, 0.5));
    assert_eq!((j.rows(), j.cols()), (2, 3));
    assert_eq!(j[(0, 0)], 4.0);
    assert_eq!(j[(1, 2)], -2.0 / 16.0);
    let (_, (ga, gb)) = dot3_grad([1.0, 2.0, 3.0], &vec![4.0, 5.0, 6.0]);
    assert_eq!(ga, [4.0, 5.0, 6.0]);
    assert_eq!(gb, vec![1.0, 2.0, 3.0]);
}

const SCALE: f64 = 2.0;

/// A named constant enters through a typed `let`, as the unknown-name error suggests.
#[derive_gradient]
fn scaled(x: f64) -> f64 {
    let c: f64 = SCALE;
    x * x * c
}

#[test]
fn constants_through_typed_let() {
    assert_eq!(scaled_grad(3.0), (18.0, 12.0));
}

#[derive_gradient]
fn product(x: f64, y: f64) -> f64 {
    x * y
}

/// The same variable passed twice to an annotated function: both positions' derivatives
/// land in its gradient.
#[derive_gradient]
fn square_by_call(x: f64) -> f64 {
    product(x, x)
}

#[derive_gradient]
fn dot_slices(a: &[f64], b: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..a.len() {
        s += a[i] * b[i];
    }
    s
}

#[derive_gradient]
fn norm_by_call(w: &[f64]) -> f64 {
    dot_slices(w, w)
}

/// A trailing comma after the last parameter, as rustfmt writes long signatures.
#[derive_gradient]
fn trailing_comma(
    first_factor_of_the_product: f64,
    second_factor_of_the_product: f64,
    _an_unused_count_of_things: usize,
) -> f64 {
    first_factor_of_the_product * second_factor_of_the_product
}

#[test]
fn same_argument_twice_and_trailing_comma() {
    assert_eq!(square_by_call_grad(3.0), (9.0, 6.0));
    let (v, g) = norm_by_call_grad(&[1.0, 2.0, 3.0]);
    assert_eq!(v, 14.0);
    assert_eq!(g, vec![2.0, 4.0, 6.0]);
    assert_eq!(trailing_comma_grad(3.0, 2.0, 7), (6.0, (2.0, 3.0)));
}

/// `crate = ".."` names the path the generated code uses to reach `grad` (for re-exports).
mod reexport {
    pub use grad as my_grad;
}

#[derive_gradient(crate = "reexport::my_grad")]
fn through_reexport(x: [f64; 2]) -> [f64; 2] {
    [x[0] * x[1], x[0] + x[1]]
}

#[test]
fn crate_option_reaches_the_runtime_through_a_reexport() {
    let (v, j) = through_reexport_jacobian([2.0, 3.0]);
    assert_eq!(v, [6.0, 5.0]);
    assert_eq!(j.as_slice(), &[3.0, 2.0, 1.0, 1.0]);
}
