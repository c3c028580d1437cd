// calling something that is not a named function
use grad::derive_gradient;

#[derive_gradient]
fn g(x: f64) -> f64 {
    x * x
}

#[derive_gradient]
fn f(x: f64) -> f64 {
    (g)(x)
}

fn main() {}
