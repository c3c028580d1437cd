// a name that is not defined anywhere
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64) -> f64 {
    x * z
}

fn main() {}
