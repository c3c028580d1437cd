// `f64::from(n)` to convert an integer
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64, n: u32) -> f64 {
    x * f64::from(n)
}

fn main() {}
