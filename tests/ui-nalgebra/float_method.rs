// a float method (`abs`) applied to a whole nalgebra vector
use grad::derive_gradient;
use nalgebra::SVector;

#[derive_gradient]
fn f(x: SVector<f64, 2>) -> f64 {
    let a = x.abs();
    a[0] + a[1]
}

fn main() {}
