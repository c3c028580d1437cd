// dereferencing `*x`
use grad::derive_gradient;

#[derive_gradient]
fn f(x: &[f64]) -> f64 {
    let n = (*x).len();
    x[0] * n as f64
}

fn main() {}
