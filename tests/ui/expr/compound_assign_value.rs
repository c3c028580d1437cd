// a compound assignment used as a value
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64) -> f64 {
    let mut y = x;
    let _z = y += 1.0;
    y
}

fn main() {}
