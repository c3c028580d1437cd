// `wrt()` with no names
use grad::derive_gradient;

#[derive_gradient(wrt())]
fn f(x: f64) -> f64 {
    x * x
}

fn main() {}
