// using an array-returning call without annotating the `let`
use grad::derive_gradient;

#[derive_gradient]
fn g(x: f64) -> [f64; 2] {
    [x, x * x]
}

#[derive_gradient]
fn f(x: f64) -> f64 {
    let v = g(x);
    v[0] * v[1]
}

fn main() {}
