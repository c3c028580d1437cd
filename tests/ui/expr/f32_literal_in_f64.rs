// an `f32`-suffixed literal in an `f64` function
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64) -> f64 {
    let k = 2.0f32;
    x * k as f64
}

fn main() {}
