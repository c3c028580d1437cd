// casting an `f32` value to `f64` in an `f32` function
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f32) -> f32 {
    let _y = x as f64;
    x * 2.0
}

fn main() {}
