// binding a call's result as a `Vec`
use grad::derive_gradient;

#[derive_gradient]
fn g(x: f64) -> Vec<f64> {
    vec![x; 2]
}

#[derive_gradient]
fn f(x: f64) -> f64 {
    let v: Vec<f64> = g(x);
    v[0]
}

fn main() {}
