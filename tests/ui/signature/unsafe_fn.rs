// an `unsafe fn`
use grad::derive_gradient;

#[derive_gradient]
unsafe fn f(x: f64) -> f64 {
    x * x
}

fn main() {}
