// `wrt` names something that is not a parameter
use grad::derive_gradient;

#[derive_gradient(wrt(z))]
fn f(x: f64, y: f64) -> f64 {
    x * y
}

fn main() {}
