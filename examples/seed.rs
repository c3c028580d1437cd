//! The seed article's examples (MATH.md items 1, 2 and 6), computed by `#[derive_gradient]`:
//!
//! - the gradients of f(x, y) = 3x^2 y and g(x, y) = 2x + y^8;
//! - the Jacobian of the vector function [f, g], in numerator and denominator layout;
//! - the chain rule for y = [ln(x^2), sin(3x)], dy/dx = [2/x, 3 cos(3x)].
//!
//! Each result is printed beside its analytic formula and confirmed by central finite
//! differences from `grad::runtime`. Run with `cargo run --example seed`.

use grad::derive_gradient;
use grad::runtime::{
    check_gradient, check_jacobian, finite_diff_gradient, finite_diff_jacobian, Tolerance,
};

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
    println!("At (x, y) = ({x}, {y}):");

    let (fv, (fx, fy)) = f_grad(x, y);
    println!("  f = 3x^2 y  = {fv}");
    println!(
        "    grad f = [{fx}, {fy}]   analytic [6xy, 3x^2] = [{}, {}]",
        6.0 * x * y,
        3.0 * x * x
    );
    let fd = finite_diff_gradient(|p| f(p[0], p[1]), &[x, y]);
    let check = check_gradient(|p| f(p[0], p[1]), &[x, y], &[fx, fy], tol);
    println!("    {} [{:.6}, {:.6}]", verdict(check), fd[0], fd[1]);

    let (gv, (gx, gy)) = g_grad(x, y);
    println!("  g = 2x + y^8 = {gv}");
    println!(
        "    grad g = [{gx}, {gy}]   analytic [2, 8y^7] = [2, {}]",
        8.0 * y.powi(7)
    );
    let fd = finite_diff_gradient(|p| g(p[0], p[1]), &[x, y]);
    let check = check_gradient(|p| g(p[0], p[1]), &[x, y], &[gx, gy], tol);
    println!("    {} [{:.6}, {:.6}]", verdict(check), fd[0], fd[1]);

    println!();
    println!("Jacobian of [f, g] (rows = the gradients above):");
    let (_, j) = fg_jacobian(x, y);
    let (_, jd) = fg_denominator_jacobian(x, y);
    println!("  numerator layout   J   = {j}");
    println!("  denominator layout J^T = {jd}");
    let fd = finite_diff_jacobian(|p| fg(p[0], p[1]).to_vec(), &[x, y]);
    let check = check_jacobian(|p| fg(p[0], p[1]).to_vec(), &[x, y], &j, tol);
    println!("  {} {fd:.6}", verdict(check));

    println!();
    let x = 0.5;
    println!("Chain rule: y = [ln(x^2), sin(3x)] at x = {x}:");
    let (_, j) = chain_jacobian(x);
    println!(
        "  dy/dx = [{:.6}, {:.6}]   analytic [2/x, 3 cos(3x)] = [{:.6}, {:.6}]",
        j[(0, 0)],
        j[(1, 0)],
        2.0 / x,
        3.0 * (3.0 * x).cos()
    );
    let fd = finite_diff_jacobian(|p| chain(p[0]).to_vec(), &[x]);
    let check = check_jacobian(|p| chain(p[0]).to_vec(), &[x], &j, tol);
    println!(
        "  {} [{:.6}, {:.6}]",
        verdict(check),
        fd[(0, 0)],
        fd[(1, 0)]
    );
}
