// slicing `&x[1..]`
use grad::derive_gradient;

#[derive_gradient]
fn f(x: &[f64]) -> f64 {
    let _tail = &x[1..];
    x[0]
}

fn main() {}
