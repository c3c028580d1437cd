// calling a function that has no `#[derive_gradient]`
use grad::derive_gradient;

fn helper(x: f64) -> f64 {
    x * x
}

#[derive_gradient]
fn f(x: f64) -> f64 {
    helper(x) * 2.0
}

fn main() {}
