// adding an integer to a float without a cast
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64, n: usize) -> f64 {
    x + n
}

fn main() {}
