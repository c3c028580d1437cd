// an array literal mixing floats and integers
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64) -> f64 {
    let a = [x, 1];
    x
}

fn main() {}
