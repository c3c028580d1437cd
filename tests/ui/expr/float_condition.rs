// a float used as an `if` condition
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64) -> f64 {
    if x {
        x
    } else {
        0.0
    }
}

fn main() {}
