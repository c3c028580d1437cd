// calling a function that does not exist
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64) -> f64 {
    nowhere(x) * 2.0
}

fn main() {}
