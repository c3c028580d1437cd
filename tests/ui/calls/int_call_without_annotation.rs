// an integer-returning helper called without annotating the `let`
use grad::derive_gradient;

fn count(n: usize) -> usize {
    2 * n
}

#[derive_gradient]
fn f(x: f64, n: usize) -> f64 {
    let k = count(n);
    x * k as f64
}

fn main() {}
