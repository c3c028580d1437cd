// no float parameter to differentiate
use grad::derive_gradient;

#[derive_gradient]
fn f(n: usize) -> f64 {
    n as f64
}

fn main() {}
