// an associated constant of an integer type (`i32::MAX`)
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64) -> f64 {
    let m = i32::MAX;
    x * m as f64
}

fn main() {}
