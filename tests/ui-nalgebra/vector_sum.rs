// the sum `x + y` of two nalgebra vectors
use grad::derive_gradient;
use nalgebra::DVector;

#[derive_gradient]
fn f(x: &DVector<f64>, y: &DVector<f64>) -> f64 {
    let z = x + y;
    z[0]
}

fn main() {}
