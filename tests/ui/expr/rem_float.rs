// `%` on floats
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64) -> f64 {
    x % 1.0
}

fn main() {}
