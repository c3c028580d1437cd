//! The seed article, rule by rule, computed by `#[derive_gradient]`:
//!
//! 1. the gradients of f(x, y) = 3x^2 y and g(x, y) = 2x + y^8;
//! 2. the Jacobian of the vector function [f, g], in numerator and denominator layout;
//! 3. the identity y = x, whose Jacobian is I;
//! 4. element-wise operators y = w * x and y = w / x, whose Jacobians are diagonal;
//! 5. reductions y = sum(x) and y = sum(x z);
//! 6. the chain rule for y = [ln(x^2), sin(3x)], dy/dx = [2/x, 3 cos(3x)];
//! 7. the ReLU neuron's loss and its gradient.
//!
//! Each result is printed beside its analytic formula and confirmed by central finite
//! differences from `grad::runtime`. Run with `cargo run --example seed`.

use grad::derive_gradient;
use grad::runtime::{check_gradient, check_jacobian, Tolerance};

#[derive_gradient]
fn f(x: f64, y: f64) -> f64 {
    3.0 * x * x * y
}

#[derive_gradient]
fn g(x: f64, y: f64) -> f64 {
    2.0 * x + y.powi(8)
}

/// The vector function [f, g]: its Jacobian stacks the two gradients as rows.
#[derive_gradient]
fn fg(x: f64, y: f64) -> [f64; 2] {
    [f(x, y), g(x, y)]
}

/// The same, with the Jacobian in denominator layout (the transpose).
#[derive_gradient(layout = "denominator")]
fn fg_denominator(x: f64, y: f64) -> [f64; 2] {
    [f(x, y), g(x, y)]
}

/// The chain-rule example: element-wise functions of x^2 and 3x.
#[derive_gradient]
fn chain(x: f64) -> [f64; 2] {
    [(x * x).ln(), (3.0 * x).sin()]
}

/// The identity: its Jacobian is I.
#[derive_gradient]
fn identity(x: [f64; 3]) -> [f64; 3] {
    x
}

/// Element-wise product: d/dw = diag(x), d/dx = diag(w).
#[derive_gradient]
fn times(w: [f64; 3], x: [f64; 3]) -> [f64; 3] {
    let mut y = [0.0; 3];
    for i in 0..3 {
        y[i] = w[i] * x[i];
    }
    y
}

/// Element-wise quotient: d/dw = diag(1/x), d/dx = diag(-w/x^2).
#[derive_gradient]
fn divide(w: [f64; 3], x: [f64; 3]) -> [f64; 3] {
    let mut y = [0.0; 3];
    for (yi, (wi, xi)) in y.iter_mut().zip(w.iter().zip(&x)) {
        *yi = wi / xi;
    }
    y
}

/// A sum: its gradient is a row of ones.
#[derive_gradient]
fn total(x: &[f64]) -> f64 {
    x.iter().sum()
}

/// sum(x z) for a scalar z: d/dx = z 1^T, d/dz = sum(x).
#[derive_gradient]
fn scaled_total(x: &[f64], z: f64) -> f64 {
    x.iter().map(|xi| xi * z).sum()
}

/// The seed's ReLU neuron: mean squared error of max(0, w . x_i + b) against y_i.
#[derive_gradient(wrt(w, b))]
fn loss(w: &[f64], b: f64, xs: &[[f64; 2]], ys: &[f64]) -> f64 {
    let mut total = 0.0;
    for (x, y) in xs.iter().zip(ys) {
        let z = w[0] * x[0] + w[1] * x[1] + b;
        let r = y - z.max(0.0);
        total += r * r;
    }
    total / xs.len() as f64
}

/// "agrees with finite differences" or the checker's report.
fn verdict<E: std::fmt::Display>(check: Result<(), E>) -> String {
    match check {
        Ok(()) => "agrees with central finite differences".to_string(),
        Err(e) => format!("DISAGREES with finite differences:\n{e}"),
    }
}

fn main() {
    let (x, y) = (2.0, 3.0);
    let tol = Tolerance::default();
    println!("1. Gradients at (x, y) = ({x}, {y}):");

    let (fv, (fx, fy)) = f_grad(x, y);
    println!("  f = 3x^2 y  = {fv}");
    println!(
        "    grad f = [{fx}, {fy}]   analytic [6xy, 3x^2] = [{}, {}]",
        6.0 * x * y,
        3.0 * x * x
    );
    let check = check_gradient(|p| f(p[0], p[1]), &[x, y], &[fx, fy], tol);
    println!("    {}", verdict(check));

    let (gv, (gx, gy)) = g_grad(x, y);
    println!("  g = 2x + y^8 = {gv}");
    println!(
        "    grad g = [{gx}, {gy}]   analytic [2, 8y^7] = [2, {}]",
        8.0 * y.powi(7)
    );
    let check = check_gradient(|p| g(p[0], p[1]), &[x, y], &[gx, gy], tol);
    println!("    {}", verdict(check));

    println!();
    println!("2. The Jacobian of [f, g] (rows = the gradients above):");
    let (_, j) = fg_jacobian(x, y);
    let (_, jd) = fg_denominator_jacobian(x, y);
    println!("  numerator layout   J   = {j}");
    println!("  denominator layout J^T = {jd}");
    let check = check_jacobian(|p| fg(p[0], p[1]).to_vec(), &[x, y], &j, tol);
    println!("  {}", verdict(check));

    println!();
    println!("3. The identity y = x:");
    let (_, j) = identity_jacobian([1.0, 2.0, 3.0]);
    println!("  J = {j}");

    println!();
    let (w, v) = ([1.0, 2.0, 3.0], [4.0, 5.0, 8.0]);
    println!("4. Element-wise operators at w = {w:?}, x = {v:?} (J = [dy/dw | dy/dx]):");
    let (_, j) = times_jacobian(w, v);
    println!("  y = w * x: J = {j}");
    let check = check_jacobian(|p| times3(p).to_vec(), &[w, v].concat(), &j, tol);
    println!("    {}", verdict(check));
    let (_, j) = divide_jacobian(w, v);
    println!("  y = w / x: J = {j:.4}");
    let check = check_jacobian(|p| divide3(p).to_vec(), &[w, v].concat(), &j, tol);
    println!("    {}", verdict(check));

    println!();
    let xs = [1.0, 2.0, 3.0, 4.0];
    println!("5. Reductions at x = {xs:?}, z = 0.5:");
    let (s, ds) = total_grad(&xs);
    println!("  sum(x) = {s}, d/dx = {ds:?}");
    println!("    {}", verdict(check_gradient(total, &xs, &ds, tol)));
    let (s, (dx, dz)) = scaled_total_grad(&xs, 0.5);
    println!("  sum(x z) = {s}, d/dx = {dx:?}, d/dz = {dz} (= sum(x))");
    let all = [&xs[..], &[0.5]].concat();
    let check = check_gradient(
        |p| scaled_total(&p[..4], p[4]),
        &all,
        &[dx, vec![dz]].concat(),
        tol,
    );
    println!("    {}", verdict(check));

    println!();
    let x = 0.5;
    println!("6. The chain rule: y = [ln(x^2), sin(3x)] at x = {x}:");
    let (_, j) = chain_jacobian(x);
    println!(
        "  dy/dx = [{:.6}, {:.6}]   analytic [2/x, 3 cos(3x)] = [{:.6}, {:.6}]",
        j[(0, 0)],
        j[(1, 0)],
        2.0 / x,
        3.0 * (3.0 * x).cos()
    );
    let check = check_jacobian(|p| chain(p[0]).to_vec(), &[x], &j, tol);
    println!("  {}", verdict(check));

    println!();
    let (w, b) = (vec![0.5, -0.25], 0.1);
    let xs = [[1.0, 2.0], [2.0, 0.5], [-1.0, 1.0], [3.0, 1.0]];
    let ys = [0.3, 1.2, 0.0, 1.5];
    println!(
        "7. The ReLU neuron's loss at w = {w:?}, b = {b}, over {} samples:",
        xs.len()
    );
    let (c, (dw, db)) = loss_grad(&w, b, &xs, &ys);
    println!(
        "  C = {c:.6}, dC/dw = [{:.6}, {:.6}], dC/db = {db:.6}",
        dw[0], dw[1]
    );
    let params = [w[0], w[1], b];
    let check = check_gradient(
        |p| loss(&p[..2], p[2], &xs, &ys),
        &params,
        &[dw[0], dw[1], db],
        tol,
    );
    println!("  {}", verdict(check));
}

/// `times` over one flat slice `[w, x]`, for the finite-difference checker.
fn times3(p: &[f64]) -> [f64; 3] {
    times([p[0], p[1], p[2]], [p[3], p[4], p[5]])
}

/// `divide` over one flat slice `[w, x]`, for the finite-difference checker.
fn divide3(p: &[f64]) -> [f64; 3] {
    divide([p[0], p[1], p[2]], [p[3], p[4], p[5]])
}
