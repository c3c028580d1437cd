// a tuple pattern bound to a call result
use grad::derive_gradient;

#[derive_gradient]
fn pair(x: f64) -> (f64, f64) {
    (x, x * x)
}

#[derive_gradient]
fn f(x: f64) -> f64 {
    let (a, b) = pair(x);
    a * b
}

fn main() {}
