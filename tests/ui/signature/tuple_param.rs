// a tuple parameter
use grad::derive_gradient;

#[derive_gradient]
fn f(p: (f64, f64)) -> f64 {
    p.0 * p.1
}

fn main() {}
