// nalgebra's `transpose`
use grad::derive_gradient;
use nalgebra::SMatrix;

#[derive_gradient]
fn f(m: SMatrix<f64, 2, 3>) -> f64 {
    let t = m.transpose();
    t[(2, 1)]
}

fn main() {}
