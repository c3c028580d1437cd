// an unsupported float method with arguments: `clamp`
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64) -> f64 {
    x.clamp(0.0, 1.0)
}

fn main() {}
