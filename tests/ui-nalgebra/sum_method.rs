// nalgebra's `sum` method on a vector (the iterator's `sum` is differentiated)
use grad::derive_gradient;
use nalgebra::SVector;

#[derive_gradient]
fn f(x: SVector<f64, 3>) -> f64 {
    x.sum()
}

fn main() {}
