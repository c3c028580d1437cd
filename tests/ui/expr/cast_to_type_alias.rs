// a cast to a type alias of `f64`
use grad::derive_gradient;

type Real = f64;

#[derive_gradient]
fn f(x: f64, n: usize) -> f64 {
    x * n as Real
}

fn main() {}
