// a local vector passed by value
use grad::derive_gradient;

#[derive_gradient]
fn g(x: &[f64]) -> f64 {
    x[0]
}

#[derive_gradient]
fn f(x: f64) -> f64 {
    let v = vec![x; 3];
    g(v)
}

fn main() {}
