// a `&mut` argument
use grad::derive_gradient;

#[derive_gradient]
fn g(x: &[f64]) -> f64 {
    x[0]
}

#[derive_gradient]
fn f(x: f64) -> f64 {
    let mut a = [x, x];
    g(&mut a)
}

fn main() {}
