// casting between `f64` and `f32`
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64) -> f64 {
    let _y = x as f32;
    x * 2.0
}

fn main() {}
