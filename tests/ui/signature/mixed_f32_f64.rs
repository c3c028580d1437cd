// an `f32` parameter in an `f64` function
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64, y: f32) -> f64 {
    x * x + y as f64
}

fn main() {}
