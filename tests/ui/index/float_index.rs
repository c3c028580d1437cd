// indexing with a float
use grad::derive_gradient;

#[derive_gradient]
fn f(x: &[f64], t: f64) -> f64 {
    x[t]
}

fn main() {}
