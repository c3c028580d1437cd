// `powi` with a float exponent
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64) -> f64 {
    x.powi(2.0)
}

fn main() {}
