// comparing an integer with a float
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64, n: usize) -> f64 {
    if x > n {
        x
    } else {
        0.0
    }
}

fn main() {}
