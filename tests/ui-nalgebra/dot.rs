// nalgebra's `dot`
use grad::derive_gradient;
use nalgebra::SVector;

#[derive_gradient]
fn f(x: SVector<f64, 3>, y: SVector<f64, 3>) -> f64 {
    x.dot(&y)
}

fn main() {}
