// a matrix-vector product `a * x` between nalgebra values
use grad::derive_gradient;
use nalgebra::{SMatrix, SVector};

#[derive_gradient]
fn f(a: SMatrix<f64, 2, 3>, x: SVector<f64, 3>) -> f64 {
    let y = a * x;
    y[0] + y[1]
}

fn main() {}
