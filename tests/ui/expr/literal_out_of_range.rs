// a float literal beyond the float type's range
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f32) -> f32 {
    x * 1e39
}

fn main() {}
