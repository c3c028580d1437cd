// a nalgebra vector times a scalar, `x * 2.0`
use grad::derive_gradient;
use nalgebra::SVector;

#[derive_gradient]
fn f(x: SVector<f64, 3>) -> f64 {
    let y = x * 2.0;
    y[0]
}

fn main() {}
