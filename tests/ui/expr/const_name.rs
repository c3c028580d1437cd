// a named constant used directly
use grad::derive_gradient;

const SCALE: f64 = 2.0;

#[derive_gradient]
fn f(x: f64) -> f64 {
    x * SCALE
}

fn main() {}
