// a tuple pattern with a type annotation
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64) -> f64 {
    let (a, b): (f64, f64) = (x, 2.0 * x);
    a * b
}

fn main() {}
