// an option the attribute does not know
use grad::derive_gradient;

#[derive_gradient(order = 2)]
fn f(x: f64) -> f64 {
    x * x
}

fn main() {}
