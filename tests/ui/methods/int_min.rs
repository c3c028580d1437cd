// `min` on integers
use grad::derive_gradient;

#[derive_gradient]
fn f(x: f64, n: usize) -> f64 {
    let k = n.min(3);
    x * k as f64
}

fn main() {}
