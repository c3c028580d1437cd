// a `Vec<f64>` parameter taken by value
use grad::derive_gradient;

#[derive_gradient]
fn f(x: Vec<f64>) -> f64 {
    x[0] * x[0]
}

fn main() {}
