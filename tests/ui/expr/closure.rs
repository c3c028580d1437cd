// a closure in the body
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64) -> f64 {
    let sq = |v: f64| v * v;
    sq(x)
}

fn main() {}
