// a parameter of an unsupported type
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64, _scale: Option<f64>) -> f64 {
    x * x
}

fn main() {}
