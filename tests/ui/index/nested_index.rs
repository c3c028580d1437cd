// nested indexing `x[i][j]`
use grad::derive_gradient;

#[derive_gradient]
fn f(x: &[f64]) -> f64 {
    x[0][1]
}

fn main() {}
