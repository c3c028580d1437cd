// an unsupported method in the `f64::name(x)` form
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64) -> f64 {
    f64::rem_euclid(x, 2.0)
}

fn main() {}
