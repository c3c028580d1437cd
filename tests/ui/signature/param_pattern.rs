// a destructuring pattern as a parameter
use grad::derive_gradient;

#[derive_gradient]
fn f((x, y): (f64, f64)) -> f64 {
    x * y
}

fn main() {}
