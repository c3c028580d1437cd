// nalgebra's `norm`, on a vector passed by reference
use grad::derive_gradient;
use nalgebra::DVector;

#[derive_gradient]
fn f(x: &DVector<f64>) -> f64 {
    x.norm() * 2.0
}

fn main() {}
