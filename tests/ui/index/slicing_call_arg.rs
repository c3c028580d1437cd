// slicing `&x[1..]` passed to another annotated function
use grad::derive_gradient;

#[derive_gradient]
fn head(x: &[f64]) -> f64 {
    x[0]
}

#[derive_gradient]
fn f(x: &[f64]) -> f64 {
    head(&x[1..])
}

fn main() {}
