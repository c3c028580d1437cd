// a `&mut [f64]` parameter (an output buffer)
use grad::derive_gradient;

#[derive_gradient]
fn f(x: &mut [f64]) -> f64 {
    x[0] * x[0]
}

fn main() {}
